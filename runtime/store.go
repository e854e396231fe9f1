package runtime

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"strings"
	"time"
)

// An entry file is, in order:
//
//	header   88 bytes: magic "cachegen", format (uint16), flags (uint16),
//	         metadata length (uint32), payload length (uint64), computed-at Unix nanoseconds
//	         (int64), compute duration nanoseconds (int64), result type
//	         digest (8 bytes), SHA-256 of the canonical params (32 bytes),
//	         fingerprint of the code that computed it (8 bytes, zero if
//	         unknown); integers little-endian
//	metadata CBOR: function name, version, canonical params, TTL; zero
//	         padding to a multiple of 8 bytes
//	payload  the result: CBOR, with its numeric slices as raw blocks (blocks.go)
//	trailer  CRC-32C of header and metadata, CRC-32C of payload (uint32 each)
//	mac      only when flags has flagSigned: HMAC-SHA256 (32 bytes) of the
//	         full key and everything before it (sign.go)
//
// A load checks the magic, format, lengths against the file size, both
// checksums, the full SHA-256 against the call's own, and the code's
// fingerprint against the ones the call accepts; with a signing key, it
// also checks the MAC. Any failure is a miss. Entries are written to a temporary file in the same directory and
// renamed into place, so a reader sees a whole entry or none.
const (
	entryMagic    = "cachegen"
	entryFormat   = 3
	headerSize    = 88
	trailerSize   = 8
	macSize       = 32
	maxMetaLen    = 16 << 20 // the most metadata an entry holds: readers never allocate more
	maxEntrySize  = 1 << 50  // far beyond any entry: keeps header arithmetic from overflowing
	flagSigned    = 1        // the entry ends with a MAC
	entrySuffix   = ".entry"
	lockSuffix    = ".lock"
	tempPrefix    = ".tmp-"
	dirPerm       = 0o700
	filePerm      = 0o600
	readmeName    = "README"
	readmeContent = `This directory holds results cached by cachegen wrappers: one file per
call, named by its key. It is safe to delete, in part or in whole: a missing
entry is computed again. Inspect it with cachectl.
`
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt is wrapped by every reason an entry file is rejected.
var errCorrupt = errors.New("corrupt cache entry")

// errOtherFormat rejects an entry written by a cachegen whose entry format
// differs: a miss, but not a sign of damage.
var errOtherFormat = fmt.Errorf("%w: written by another version of cachegen", errCorrupt)

type header struct {
	signed     bool
	metaLen    uint32
	payloadLen uint64
	computedAt int64
	duration   int64
	typeSum    [8]byte
	sum        [32]byte
	code       [8]byte // fingerprint of the code that computed the result
}

// meta is the metadata section of an entry.
type meta struct {
	Func    string `cbor:"1,keyasint"`
	Version int    `cbor:"2,keyasint"`
	Params  []byte `cbor:"3,keyasint"`
	TTL     int64  `cbor:"4,keyasint,omitempty"` // nanoseconds; 0 means never stale
}

// encodeEntry returns the parts of an entry file, to be written in order:
// header and metadata, the payload's parts, trailer, and, when signKey is
// not nil, the MAC. The payload is not copied.
func encodeEntry(h header, m meta, payload [][]byte, signKey []byte) ([][]byte, error) {
	mb, err := encMode.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(mb) > maxMetaLen-7 {
		return nil, fmt.Errorf("the canonical params are %d bytes, more than an entry holds (%d): key large arguments by a digest, such as a []byte or a numeric slice", len(m.Params), maxMetaLen)
	}
	// Pad the metadata so that the payload starts 8-aligned.
	mb = append(mb, make([]byte, align8(headerSize+len(mb))-headerSize-len(mb))...)
	h.metaLen = uint32(len(mb))
	var payCRC uint32
	for _, p := range payload {
		h.payloadLen += uint64(len(p))
		payCRC = crc32.Update(payCRC, crcTable, p)
	}
	buf := make([]byte, headerSize, headerSize+len(mb))
	copy(buf, entryMagic)
	le := binary.LittleEndian
	le.PutUint16(buf[8:], entryFormat)
	if signKey != nil {
		le.PutUint16(buf[10:], flagSigned)
	}
	le.PutUint32(buf[12:], h.metaLen)
	le.PutUint64(buf[16:], h.payloadLen)
	le.PutUint64(buf[24:], uint64(h.computedAt))
	le.PutUint64(buf[32:], uint64(h.duration))
	copy(buf[40:48], h.typeSum[:])
	copy(buf[48:80], h.sum[:])
	copy(buf[80:88], h.code[:])
	buf = append(buf, mb...)
	trailer := le.AppendUint32(nil, crc32c(buf))
	trailer = le.AppendUint32(trailer, payCRC)
	parts := append(append([][]byte{buf}, payload...), trailer)
	if signKey != nil {
		parts = append(parts, entryMAC(signKey, h.sum, parts...))
	}
	return parts, nil
}

// parseHeader reads the fixed header and checks what it can alone: the
// magic, the format, and that the lengths add up to size. A negative size
// is unknown: the lengths are checked against the largest entry there can
// be.
func parseHeader(b []byte, size int64) (header, error) {
	var h header
	if len(b) < headerSize || size >= 0 && size < headerSize+trailerSize {
		return h, fmt.Errorf("%w: %d bytes is too short", errCorrupt, max(size, int64(len(b))))
	}
	if string(b[:8]) != entryMagic {
		return h, fmt.Errorf("%w: not a cachegen entry", errCorrupt)
	}
	le := binary.LittleEndian
	if f := le.Uint16(b[8:]); f != entryFormat {
		return h, fmt.Errorf("%w: format %d, want %d", errOtherFormat, f, entryFormat)
	}
	switch flags := le.Uint16(b[10:]); flags {
	case 0:
	case flagSigned:
		h.signed = true
	default:
		return h, fmt.Errorf("%w: unknown flags %#x", errCorrupt, flags)
	}
	h.metaLen = le.Uint32(b[12:])
	h.payloadLen = le.Uint64(b[16:])
	h.computedAt = int64(le.Uint64(b[24:]))
	h.duration = int64(le.Uint64(b[32:]))
	copy(h.typeSum[:], b[40:48])
	copy(h.sum[:], b[48:80])
	copy(h.code[:], b[80:88])
	if h.metaLen > maxMetaLen {
		return h, fmt.Errorf("%w: %d bytes of metadata, more than any entry holds", errCorrupt, h.metaLen)
	}
	if h.payloadLen > maxEntrySize {
		return h, fmt.Errorf("%w: a payload of %d bytes", errCorrupt, h.payloadLen)
	}
	if size < 0 {
		return h, nil
	}
	body := uint64(size) - headerSize - trailerSize
	if h.signed {
		if body < macSize {
			return h, fmt.Errorf("%w: %d bytes is too short", errCorrupt, size)
		}
		body -= macSize
	}
	if uint64(h.metaLen) > body || h.payloadLen != body-uint64(h.metaLen) {
		return h, fmt.Errorf("%w: section lengths do not match the file size %d", errCorrupt, size)
	}
	return h, nil
}

// trailerAt returns the offset of the entry's trailer.
func (h header) trailerAt() int64 { return headerSize + int64(h.metaLen) + int64(h.payloadLen) }

// size returns the size of the whole entry, as its header claims it.
func (h header) size() int64 {
	n := h.trailerAt() + trailerSize
	if h.signed {
		n += macSize
	}
	return n
}

// parseEntry checks a whole entry file and returns its sections. payCRC,
// if not nil, is the payload's checksum already computed while reading.
func parseEntry(data []byte, payCRC *uint32) (h header, metaBytes, payload []byte, err error) {
	h, err = parseHeader(data, int64(len(data)))
	if err != nil {
		return h, nil, nil, err
	}
	metaEnd := headerSize + int(h.metaLen)
	payEnd := metaEnd + int(h.payloadLen)
	le := binary.LittleEndian
	if crc32c(data[:metaEnd]) != le.Uint32(data[payEnd:]) {
		return h, nil, nil, fmt.Errorf("%w: header checksum mismatch", errCorrupt)
	}
	if payCRC == nil {
		sum := crc32c(data[metaEnd:payEnd])
		payCRC = &sum
	}
	if *payCRC != le.Uint32(data[payEnd+4:]) {
		return h, nil, nil, fmt.Errorf("%w: payload checksum mismatch", errCorrupt)
	}
	return h, data[headerSize:metaEnd], data[metaEnd:payEnd], nil
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	rest, err := decMode.UnmarshalFirst(b, &m)
	if err == nil && (len(rest) > 7 || len(bytes.Trim(rest, "\x00")) > 0) {
		err = errors.New("data after the metadata")
	}
	if err != nil {
		return m, fmt.Errorf("%w: metadata: %v", errCorrupt, err)
	}
	return m, nil
}

// readHead reads and checks the header and metadata of an entry of size
// bytes without reading its payload.
func readHead(r io.ReaderAt, size int64) (header, meta, error) {
	hb := make([]byte, headerSize)
	if size < headerSize {
		return header{}, meta{}, fmt.Errorf("%w: %d bytes is too short", errCorrupt, size)
	}
	if _, err := r.ReadAt(hb, 0); err != nil {
		return header{}, meta{}, err
	}
	h, err := parseHeader(hb, size)
	if err != nil {
		return h, meta{}, err
	}
	rest := make([]byte, int(h.metaLen))
	if _, err := r.ReadAt(rest, headerSize); err != nil {
		return h, meta{}, err
	}
	var crc [4]byte
	if _, err := r.ReadAt(crc[:], h.trailerAt()); err != nil {
		return h, meta{}, err
	}
	sum := crc32.Update(crc32c(hb), crcTable, rest)
	if sum != binary.LittleEndian.Uint32(crc[:]) {
		return h, meta{}, fmt.Errorf("%w: header checksum mismatch", errCorrupt)
	}
	m, err := decodeMeta(rest)
	return h, m, err
}

// entryFromFile builds an Entry from a checked header and metadata.
func entryFromFile(h header, m meta, fi fs.FileInfo, now time.Time) Entry {
	return entryFromHead(h, m, fi.Size(), fi.ModTime(), now)
}

// entryFromHead builds an Entry from a checked header and metadata, the
// entry's size and when it was last used.
func entryFromHead(h header, m meta, size int64, lastUsed, now time.Time) Entry {
	e := Entry{
		Key:        hex.EncodeToString(h.sum[:8]),
		Func:       m.Func,
		Version:    m.Version,
		Params:     bytes.Clone(m.Params),
		ComputedAt: time.Unix(0, h.computedAt),
		Duration:   time.Duration(h.duration),
		Size:       size,
		LastUsed:   lastUsed,
		TTL:        time.Duration(m.TTL),
	}
	if h.code != [8]byte{} {
		e.Code = hex.EncodeToString(h.code[:])
	}
	e.Stale = e.TTL > 0 && now.Sub(e.ComputedAt) > e.TTL
	return e
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// crc32c is the CRC-32C (Castagnoli) checksum of b.
func crc32c(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// touchInterval is how stale an entry's modification time may get before
// a hit refreshes it; it bounds the precision of least-recently-used order.
const touchInterval = time.Hour
