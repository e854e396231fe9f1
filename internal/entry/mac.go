package entry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Signed entries. With a signing key, every entry a Cache writes ends with
// an HMAC-SHA256 of the call's full key (the SHA-256 of its canonical
// params) and of every byte of the entry before the MAC, and every entry it
// loads must carry a valid one. Whoever can write to a shared cache but
// does not hold the key can then neither plant a result nor move a valid
// entry to another call: either is rejected as a miss and counted in
// Stats.BadSignatures.

// ErrBadSignature is wrapped by every reason a signed load rejects an entry.
var ErrBadSignature = errors.New("entry signature")

// macDomain separates entry MACs from any other use of the same key.
const macDomain = "cachegen entry v1\x00"

// entryMAC returns the MAC of the entry of the call whose full key is sum,
// made of parts.
func entryMAC(key []byte, sum [32]byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macDomain))
	m.Write(sum[:])
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// CheckMAC checks that data, an entry whose Header h has been parsed,
// carries a valid MAC for the call whose full key is sum.
func CheckMAC(key []byte, sum [32]byte, h Header, data []byte) error {
	if !h.Signed {
		return fmt.Errorf("%w: missing (the entry was written without a signing key)", ErrBadSignature)
	}
	body := len(data) - MACSize
	if !hmac.Equal(entryMAC(key, sum, data[:body]), data[body:]) {
		return fmt.Errorf("%w: wrong (the entry was changed, moved, or signed with another key)", ErrBadSignature)
	}
	return nil
}

// BigSigned is the size from which a signed cache checks an entry's MAC
// before it reads the entry into memory: an entry that someone without
// the key planted, however large it claims to be, then costs a pass over
// it, never its size in memory.
const BigSigned = 64 << 20

// CheckMACReading checks the MAC of an entry of size bytes, whose Header h
// has been parsed, by reading it in chunks through read, which fills p
// from offset off, without holding the entry in memory.
func CheckMACReading(key []byte, h Header, size int64, read func(p []byte, off int64) error) error {
	if !h.Signed {
		return fmt.Errorf("%w: missing (the entry was written without a signing key)", ErrBadSignature)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macDomain))
	m.Write(h.Sum[:])
	body := size - MACSize
	buf := make([]byte, min(4<<20, body))
	for off := int64(0); off < body; off += int64(len(buf)) {
		p := buf[:min(int64(len(buf)), body-off)]
		if err := read(p, off); err != nil {
			return err
		}
		m.Write(p)
	}
	mac := make([]byte, MACSize)
	if err := read(mac, body); err != nil {
		return err
	}
	if !hmac.Equal(m.Sum(nil), mac) {
		return fmt.Errorf("%w: wrong (the entry was changed, moved, or signed with another key)", ErrBadSignature)
	}
	return nil
}

// keyIDDomain separates key IDs from any other use of the same key.
const keyIDDomain = "cachegen signing key id v1\x00"

// KeyID names a signing key without revealing it: 16 hex digits of an
// HMAC under the key, the same on every machine that holds it. "" for no
// key.
func KeyID(key []byte) string {
	if key == nil {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(keyIDDomain))
	return hex.EncodeToString(m.Sum(nil)[:8])
}
