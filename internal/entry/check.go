package entry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Check checks a whole entry stored under the name key without knowing its
// call, as a load would: its format, lengths and checksums (payCRC, when
// not nil, is the payload's checksum already computed), its MAC when
// signKey is not nil, that the params it holds hash to the key in its
// header, and that the key is key.
func Check(key string, data []byte, payCRC *uint32, signKey []byte) error {
	h, mb, _, err := Parse(data, payCRC)
	if err != nil {
		return err
	}
	if signKey != nil {
		if err := CheckMAC(signKey, h.Sum, h, data); err != nil {
			return err
		}
	}
	m, err := DecodeMeta(mb)
	if err != nil {
		return err
	}
	if sha256.Sum256(m.Params) != h.Sum {
		return fmt.Errorf("%w: params do not hash to the key in the header", ErrCorrupt)
	}
	if hex.EncodeToString(h.Sum[:8]) != key {
		return fmt.Errorf("%w: entry of key %x stored under the name %s", ErrCorrupt, h.Sum[:8], key)
	}
	return nil
}

// CodeText spells a stored fingerprint: "" when none was recorded.
func CodeText(code [8]byte) string {
	if code == [8]byte{} {
		return ""
	}
	return hex.EncodeToString(code[:])
}

// ErrReadOnly is returned by what would change a cache or store opened
// read-only.
var ErrReadOnly = errors.New("cache is read-only")
