package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"unsafe"
)

// A result's numeric slices (top level, or fields of structs reached
// through struct fields) are stored as raw little-endian blocks beside the
// CBOR, not element by element: storing and loading them costs a memory
// copy, and a hit aliases them straight from the bytes it read.
//
// The payload is:
//
//	slot count (uint32), then per slot: present (uint8, 0 for a nil
//	slice), 7 bytes of padding, length in bytes (uint64)
//	CBOR length (uint64), CBOR of the result with its slots set to nil
//	padding to a multiple of 8 bytes, then each slot's bytes, each padded
//	to a multiple of 8
//
// Offsets are multiples of 8 from the start of the payload, which entries
// place at a multiple of 8 from the start of the file, so aliased blocks
// are aligned.

// slot is the path to one numeric slice in a result type: field indices
// through nested structs; empty for a result that is itself a slice.
type slot struct {
	path []int
	elem reflect.Type
}

var plans sync.Map // reflect.Type -> []slot

func planOf(t reflect.Type) []slot {
	if p, ok := plans.Load(t); ok {
		return p.([]slot)
	}
	var slots []slot
	var walk func(t reflect.Type, path []int)
	walk = func(t reflect.Type, path []int) {
		switch {
		case t.Kind() == reflect.Slice && isBlockKind(t.Elem().Kind()):
			slots = append(slots, slot{path: append([]int(nil), path...), elem: t.Elem()})
		case t.Kind() == reflect.Struct && t != timeType && len(path) < 8:
			for i := range t.NumField() {
				if f := t.Field(i); f.IsExported() && encodedPlainly(f) {
					walk(f.Type, append(path, i))
				}
			}
		}
	}
	if !customEncoding(t) {
		walk(t, nil)
	}
	plans.Store(t, slots)
	return slots
}

// customEncoding reports whether values of t encode themselves.
func customEncoding(t reflect.Type) bool {
	for _, name := range []string{"MarshalBinary", "MarshalCBOR", "MarshalText", "MarshalJSON"} {
		if _, ok := t.MethodByName(name); ok {
			return true
		}
		if _, ok := reflect.PointerTo(t).MethodByName(name); ok {
			return true
		}
	}
	return false
}

// encodedPlainly reports whether a field is encoded as its own value
// (no omitempty or toarray games, not skipped).
func encodedPlainly(f reflect.StructField) bool {
	if f.Anonymous || customEncoding(f.Type) {
		return false
	}
	for _, key := range []string{"cbor", "json"} {
		if v, ok := f.Tag.Lookup(key); ok && v == "-" {
			return false
		}
	}
	return true
}

func field(v reflect.Value, path []int) reflect.Value {
	for _, i := range path {
		v = v.Field(i)
	}
	return v
}

// encodeResult returns the stored form of v, in parts to be written in
// order: the slot table and CBOR, then each block with its padding. The
// blocks alias v's own slices: nothing large is copied.
func encodeResult[T any](v T) ([][]byte, error) {
	slots := planOf(reflect.TypeFor[T]())
	rv := reflect.ValueOf(&v).Elem()
	blocks := make([][]byte, len(slots))
	present := make([]bool, len(slots))
	if len(slots) > 0 {
		cp := reflect.New(rv.Type()).Elem() // a shallow copy whose slots are cleared
		cp.Set(rv)
		for i, s := range slots {
			f := field(cp, s.path)
			if !f.IsNil() {
				present[i] = true
				blocks[i] = blockBytes(f)
			}
			f.SetZero()
		}
		rv = cp
	}
	body, err := encMode.Marshal(rv.Interface())
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	out := make([]byte, 0, align8(4+16*len(slots)+8+len(body)))
	out = le.AppendUint32(out, uint32(len(slots)))
	for i := range slots {
		var p byte
		if present[i] {
			p = 1
		}
		out = append(out, p, 0, 0, 0, 0, 0, 0, 0)
		out = le.AppendUint64(out, uint64(len(blocks[i])))
	}
	out = le.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	out = out[:align8(len(out))]
	parts := [][]byte{out}
	for _, b := range blocks {
		if len(b) > 0 {
			parts = append(parts, b)
		}
		if pad := align8(len(b)) - len(b); pad > 0 {
			parts = append(parts, make([]byte, pad))
		}
	}
	return parts, nil
}

func align8(n int) int { return (n + 7) &^ 7 }

var errPayload = errors.New("malformed payload")

// decodeResult decodes a stored result. With alias, numeric slices point
// into data, which the caller must then never change or reuse; without, they
// are copies. Decoding a value whose checksum already matched can still
// fail, when the entry was written for another result type; that is a miss.
func decodeResult[T any](data []byte, alias bool) (T, error) {
	var v T
	slots := planOf(reflect.TypeFor[T]())
	le := binary.LittleEndian
	if len(data) < 4 || le.Uint32(data) != uint32(len(slots)) {
		return v, errPayload
	}
	off := 4
	type blk struct {
		present bool
		n       uint64
	}
	blks := make([]blk, len(slots))
	for i := range slots {
		if len(data) < off+16 {
			return v, errPayload
		}
		blks[i] = blk{data[off] == 1, le.Uint64(data[off+8:])}
		off += 16
	}
	if len(data) < off+8 {
		return v, errPayload
	}
	bodyLen := le.Uint64(data[off:])
	off += 8
	if bodyLen > uint64(len(data)-off) {
		return v, errPayload
	}
	if err := decMode.Unmarshal(data[off:off+int(bodyLen)], &v); err != nil {
		return v, err
	}
	off += int(bodyLen)
	rv := reflect.ValueOf(&v).Elem()
	for i, s := range slots {
		off = align8(off)
		b := blks[i]
		size := int(s.elem.Size())
		if off > len(data) || b.n > uint64(len(data)-off) || b.n%uint64(blockWidth(s.elem)) != 0 || !b.present && b.n != 0 {
			return v, errPayload
		}
		f := field(rv, s.path)
		if !b.present {
			f.SetZero()
			continue
		}
		raw := data[off : off+int(b.n)]
		off += int(b.n)
		n := int(b.n) / blockWidth(s.elem)
		if alias && nativeLittleEndian && blockWidth(s.elem) == size && n > 0 && uintptr(unsafe.Pointer(&raw[0]))%uintptr(size) == 0 {
			f.Set(reflect.SliceAt(s.elem, unsafe.Pointer(&raw[0]), n).Convert(f.Type()))
			continue
		}
		sl := reflect.MakeSlice(f.Type(), n, n)
		if nativeLittleEndian && blockWidth(s.elem) == size {
			if n > 0 {
				copy(unsafe.Slice((*byte)(sl.UnsafePointer()), len(raw)), raw)
			}
		} else {
			fillFromLE(sl, raw, blockWidth(s.elem))
		}
		f.Set(sl)
	}
	if off != len(data) && align8(off) != len(data) {
		return v, fmt.Errorf("%w: %d trailing bytes", errPayload, len(data)-off)
	}
	return v, nil
}

// blockWidth is the stored width of an element: int and uint are 64-bit
// on every platform.
func blockWidth(t reflect.Type) int {
	if k := t.Kind(); k == reflect.Int || k == reflect.Uint {
		return 8
	}
	return int(t.Size())
}

// fillFromLE sets the elements of sl from little-endian raw, w bytes each.
func fillFromLE(sl reflect.Value, raw []byte, w int) {
	for i := range sl.Len() {
		var u uint64
		for b := range w {
			u |= uint64(raw[i*w+b]) << (8 * b)
		}
		e := sl.Index(i)
		switch e.Kind() {
		case reflect.Float32:
			e.SetFloat(float64(math.Float32frombits(uint32(u))))
		case reflect.Float64:
			e.SetFloat(math.Float64frombits(u))
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			e.SetInt(int64(u) << (64 - 8*w) >> (64 - 8*w))
		default:
			e.SetUint(u)
		}
	}
}
