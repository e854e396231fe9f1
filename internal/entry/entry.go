// Package entry is the format of a cache entry: the bytes a cache writes
// for one result and checks before it serves them. A change of layout
// must bump Format: the golden entry in the runtime's tests pins it.
package entry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/fxamacker/cbor/v2"
)

// An entry file is, in order:
//
//	Header   88 bytes: magic "cachegen", format (uint16), flags (uint16),
//	         metadata length (uint32), payload length (uint64), computed-at Unix nanoseconds
//	         (int64), compute duration nanoseconds (int64), result type
//	         digest (8 bytes), SHA-256 of the canonical params (32 bytes),
//	         fingerprint of the code that computed it (8 bytes, zero if
//	         unknown); integers little-endian
//	metadata CBOR: function name, version, canonical params, TTL; zero
//	         padding to a multiple of 8 bytes
//	payload  the result: CBOR, with its numeric slices as raw blocks (payload.go)
//	trailer  CRC-32 of Header and metadata, CRC-32 of payload (uint32 each)
//	mac      only when flags has flagSigned: HMAC-SHA256 (32 bytes) of the
//	         full key and everything before it (mac.go)
//
// Parse checks the magic, format, lengths against the size and both
// checksums; the cache then checks the full SHA-256 against the call's
// own, the result type, the code's fingerprint and, with a signing key,
// the MAC.
const (
	entryMagic = "cachegen"
	// Format 6: the layout of 5, with CRC-32 (IEEE) checksums, which the
	// processors at hand compute several times faster than CRC-32C: a hit
	// on a large result checks its payload in a fraction of its read.
	// Format 5 stored the times a result holds exactly after its CBOR
	// (times.go), which an entry of 4 lacks.
	Format       = 6
	HeaderSize   = 88
	TrailerSize  = 8
	MACSize      = 32
	MaxMeta      = 16 << 20 // the most metadata an entry holds: readers never allocate more
	maxEntrySize = 1 << 50  // far beyond any entry: keeps Header arithmetic from overflowing
	flagSigned   = 1        // the entry ends with a MAC
)

var crcTable = crc32.IEEETable

// ErrCorrupt is wrapped by every reason an entry file is rejected.
var ErrCorrupt = errors.New("corrupt cache entry")

// ErrOtherFormat rejects an entry written by a cachegen whose entry format
// differs: a miss, but not a sign of damage.
var ErrOtherFormat = fmt.Errorf("%w: written by another version of cachegen", ErrCorrupt)

// A Header is an entry's fixed header.
type Header struct {
	Signed     bool     // a MAC ends the entry
	MetaLen    uint32   // bytes of metadata, padding included
	PayloadLen uint64   // bytes of payload
	ComputedAt int64    // when the result was computed, Unix nanoseconds
	Duration   int64    // how long computing it took, nanoseconds
	TypeSum    [8]byte  // digest of the result type (TypeSum)
	Sum        [32]byte // SHA-256 of the call's canonical params
	Code       [8]byte  // fingerprint of the code that computed the result; zero if unknown
}

// Meta is the metadata section of an entry.
type Meta struct {
	Func    string `cbor:"1,keyasint"`
	Version int    `cbor:"2,keyasint"`
	Params  []byte `cbor:"3,keyasint"`
	TTL     int64  `cbor:"4,keyasint,omitempty"` // nanoseconds; 0 means never stale
	// Inputs are the files and directories the params key by content,
	// as the computing call named them: for people, never for checks.
	Inputs []Input `cbor:"5,keyasint,omitempty"`
	// Blocks describes the result's numeric blocks (BlocksOf), so that
	// Describe can show them: for people, never for checks.
	Blocks []Block `cbor:"6,keyasint,omitempty"`
	// Parts are the parts of the fingerprint of the code that computed
	// the entry ("name:digest"), so that an explanation can name what
	// changed: for people, never for checks.
	Parts []string `cbor:"7,keyasint,omitempty"`
	// Accepted are the fingerprints of earlier code whose entries the
	// computing code serves (cachegen -accept), so that a listing can tell
	// which entries that code may still be served: never for loads, which
	// go by the calling code's own list.
	Accepted []string `cbor:"8,keyasint,omitempty"`
}

// Input is a file or directory whose content a call was keyed by.
type Input struct {
	Path  string `cbor:"1,keyasint"`           // absolute, as the computing call named it
	Dir   bool   `cbor:"2,keyasint,omitempty"` // a directory or a glob's matches
	Count int    `cbor:"3,keyasint,omitempty"` // for Dir: the regular files under it
	Size  int64  `cbor:"4,keyasint"`           // bytes of content, in all
	Sum   []byte `cbor:"5,keyasint"`           // SHA-256 of the content, or of a Dir's listing
}

// Encode returns the parts of an entry file, to be written in order:
// Header and metadata, the payload's parts, trailer, and, when signKey is
// not nil, the MAC. The payload is not copied.
func Encode(h Header, m Meta, payload [][]byte, signKey []byte) ([][]byte, error) {
	buf, err := encodeHead(h, m, payload, signKey)
	if err != nil {
		return nil, err
	}
	var payCRC uint32
	for _, p := range payload {
		payCRC = crc32.Update(payCRC, crcTable, p)
	}
	parts := append(append([][]byte{buf}, payload...), trailer(buf, payCRC))
	if signKey != nil {
		parts = append(parts, entryMAC(signKey, h.Sum, parts...))
	}
	return parts, nil
}

// parallelCRC is the payload size from which EncodeTo checksums the
// payload on another goroutine while it writes it.
const parallelCRC = 4 << 20

// EncodeTo writes to w the unsigned entry that Encode returns, and the
// number of bytes written. A large payload is checksummed on another
// goroutine while it is written, so the checksum costs no time on a
// machine with a core to spare.
func EncodeTo(w io.Writer, h Header, m Meta, payload [][]byte) (int64, error) {
	buf, err := encodeHead(h, m, payload, nil)
	if err != nil {
		return 0, err
	}
	crc := make(chan uint32, 1)
	sum := func() {
		var c uint32
		for _, p := range payload {
			c = crc32.Update(c, crcTable, p)
		}
		crc <- c
	}
	if lenOf(payload) >= parallelCRC {
		go sum()
	} else {
		sum()
	}
	n, err := w.Write(buf)
	written := int64(n)
	for _, p := range payload {
		if err != nil {
			break
		}
		n, err = w.Write(p)
		written += int64(n)
	}
	payCRC := <-crc
	if err != nil {
		return written, err
	}
	n, err = w.Write(trailer(buf, payCRC))
	return written + int64(n), err
}

// lenOf returns the length of the payload's parts together.
func lenOf(payload [][]byte) int {
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	return n
}

// encodeHead returns the header and metadata of an entry.
func encodeHead(h Header, m Meta, payload [][]byte, signKey []byte) ([]byte, error) {
	mb, err := EncMode.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(mb) > MaxMeta-7 {
		return nil, fmt.Errorf("the canonical params are %d bytes, more than an entry holds (%d): key large arguments by a digest, such as a []byte or a numeric slice", len(m.Params), MaxMeta)
	}
	// Pad the metadata so that the payload starts 8-aligned.
	mb = append(mb, make([]byte, align8(HeaderSize+len(mb))-HeaderSize-len(mb))...)
	h.MetaLen = uint32(len(mb))
	for _, p := range payload {
		h.PayloadLen += uint64(len(p))
	}
	buf := make([]byte, HeaderSize, HeaderSize+len(mb))
	copy(buf, entryMagic)
	le := binary.LittleEndian
	le.PutUint16(buf[8:], Format)
	if signKey != nil {
		le.PutUint16(buf[10:], flagSigned)
	}
	le.PutUint32(buf[12:], h.MetaLen)
	le.PutUint64(buf[16:], h.PayloadLen)
	le.PutUint64(buf[24:], uint64(h.ComputedAt))
	le.PutUint64(buf[32:], uint64(h.Duration))
	copy(buf[40:48], h.TypeSum[:])
	copy(buf[48:80], h.Sum[:])
	copy(buf[80:88], h.Code[:])
	return append(buf, mb...), nil
}

// trailer returns the checksums of the header and metadata head and of
// the payload.
func trailer(head []byte, payCRC uint32) []byte {
	le := binary.LittleEndian
	return le.AppendUint32(le.AppendUint32(nil, Checksum(head)), payCRC)
}

// ParseHeader reads the fixed Header and checks what it can alone: the
// magic, the format, and that the lengths add up to size. A negative size
// is unknown: the lengths are checked against the largest entry there can
// be.
func ParseHeader(b []byte, size int64) (Header, error) {
	var h Header
	if len(b) < HeaderSize || size >= 0 && size < HeaderSize+TrailerSize {
		return h, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, max(size, int64(len(b))))
	}
	if string(b[:8]) != entryMagic {
		return h, fmt.Errorf("%w: not a cachegen entry", ErrCorrupt)
	}
	le := binary.LittleEndian
	if f := le.Uint16(b[8:]); f != Format {
		return h, fmt.Errorf("%w: format %d, want %d", ErrOtherFormat, f, Format)
	}
	switch flags := le.Uint16(b[10:]); flags {
	case 0:
	case flagSigned:
		h.Signed = true
	default:
		return h, fmt.Errorf("%w: unknown flags %#x", ErrCorrupt, flags)
	}
	h.MetaLen = le.Uint32(b[12:])
	h.PayloadLen = le.Uint64(b[16:])
	h.ComputedAt = int64(le.Uint64(b[24:]))
	h.Duration = int64(le.Uint64(b[32:]))
	copy(h.TypeSum[:], b[40:48])
	copy(h.Sum[:], b[48:80])
	copy(h.Code[:], b[80:88])
	if h.MetaLen > MaxMeta {
		return h, fmt.Errorf("%w: %d bytes of metadata, more than any entry holds", ErrCorrupt, h.MetaLen)
	}
	if h.PayloadLen > maxEntrySize {
		return h, fmt.Errorf("%w: a payload of %d bytes", ErrCorrupt, h.PayloadLen)
	}
	if size < 0 {
		return h, nil
	}
	body := uint64(size) - HeaderSize - TrailerSize
	if h.Signed {
		if body < MACSize {
			return h, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, size)
		}
		body -= MACSize
	}
	if uint64(h.MetaLen) > body || h.PayloadLen != body-uint64(h.MetaLen) {
		return h, fmt.Errorf("%w: section lengths do not match the file size %d", ErrCorrupt, size)
	}
	return h, nil
}

// TrailerAt returns the offset of the entry's trailer.
func (h Header) TrailerAt() int64 { return HeaderSize + int64(h.MetaLen) + int64(h.PayloadLen) }

// Size returns the size of the whole entry, as its Header claims it.
func (h Header) Size() int64 {
	n := h.TrailerAt() + TrailerSize
	if h.Signed {
		n += MACSize
	}
	return n
}

// Parse checks a whole entry file and returns its sections. payCRC,
// if not nil, is the payload's checksum already computed while reading.
func Parse(data []byte, payCRC *uint32) (h Header, metaBytes, payload []byte, err error) {
	h, err = ParseHeader(data, int64(len(data)))
	if err != nil {
		return h, nil, nil, err
	}
	metaEnd := HeaderSize + int(h.MetaLen)
	payEnd := metaEnd + int(h.PayloadLen)
	le := binary.LittleEndian
	if Checksum(data[:metaEnd]) != le.Uint32(data[payEnd:]) {
		return h, nil, nil, fmt.Errorf("%w: Header checksum mismatch", ErrCorrupt)
	}
	if payCRC == nil {
		sum := Checksum(data[metaEnd:payEnd])
		payCRC = &sum
	}
	if *payCRC != le.Uint32(data[payEnd+4:]) {
		return h, nil, nil, fmt.Errorf("%w: payload checksum mismatch", ErrCorrupt)
	}
	return h, data[HeaderSize:metaEnd], data[metaEnd:payEnd], nil
}

// metaMode decodes metadata, whose lists are short, within limits that
// keep what a planted one can make a reader allocate to a few MiB beyond
// its size.
var metaMode = mustDecMode(cbor.DecOptions{
	MaxNestedLevels:  8,
	MaxArrayElements: 1 << 16,
	MaxMapPairs:      1 << 16,
	UTF8:             cbor.UTF8DecodeInvalid,
	DupMapKey:        cbor.DupMapKeyEnforcedAPF,
})

// DecodeMeta decodes an entry's metadata.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	rest, err := metaMode.UnmarshalFirst(b, &m)
	if err == nil && (len(rest) > 7 || len(bytes.Trim(rest, "\x00")) > 0) {
		err = errors.New("data after the metadata")
	}
	if err != nil {
		return m, fmt.Errorf("%w: metadata: %v", ErrCorrupt, err)
	}
	return m, nil
}

// ReadHead reads and checks the Header and metadata of an entry of size
// bytes without reading its payload.
func ReadHead(r io.ReaderAt, size int64) (Header, Meta, error) {
	hb := make([]byte, HeaderSize)
	if size < HeaderSize {
		return Header{}, Meta{}, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, size)
	}
	if _, err := r.ReadAt(hb, 0); err != nil {
		return Header{}, Meta{}, err
	}
	h, err := ParseHeader(hb, size)
	if err != nil {
		return h, Meta{}, err
	}
	rest := make([]byte, int(h.MetaLen))
	if _, err := r.ReadAt(rest, HeaderSize); err != nil {
		return h, Meta{}, err
	}
	var crc [4]byte
	if _, err := r.ReadAt(crc[:], h.TrailerAt()); err != nil {
		return h, Meta{}, err
	}
	sum := crc32.Update(Checksum(hb), crcTable, rest)
	if sum != binary.LittleEndian.Uint32(crc[:]) {
		return h, Meta{}, fmt.Errorf("%w: Header checksum mismatch", ErrCorrupt)
	}
	m, err := DecodeMeta(rest)
	return h, m, err
}

// Checksum is the CRC-32 (IEEE) checksum of b.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// UpdateCRC returns crc updated with p, for a checksum computed in parts.
func UpdateCRC(crc uint32, p []byte) uint32 { return crc32.Update(crc, crcTable, p) }

// ErrBadKey refuses a key that is not 16 lowercase hex digits.
var ErrBadKey = errors.New("malformed cache key: want 16 lowercase hex digits")

// ValidKey reports whether s has the form of a key: 16 lowercase hex
// digits, the first 16 of the SHA-256 of a call's canonical params.
func ValidKey(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}
