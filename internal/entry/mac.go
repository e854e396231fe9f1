package entry

import (
	"crypto/hmac"
	"crypto/sha256"
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
