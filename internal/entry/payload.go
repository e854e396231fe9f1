package entry

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cachegen/cachegen/internal/keytable"
	"github.com/fxamacker/cbor/v2"
)

// Results are stored as CBOR (RFC 8949), configured so that every value
// the generator accepts comes back exactly: float bits (NaN payloads, ±Inf,
// -0.0) are kept, nil and empty slices and maps stay distinct, pointers to
// zero values come back as pointers, times keep their nanoseconds and
// offset, and strings keep invalid UTF-8.
var (
	EncMode = mustEncMode(cbor.EncOptions{
		Sort:          cbor.SortCoreDeterministic, // the same value, the same bytes: ModeVerify compares them
		ShortestFloat: cbor.ShortestFloatNone,
		NaNConvert:    cbor.NaNConvertNone,
		InfConvert:    cbor.InfConvertNone,
		Time:          cbor.TimeRFC3339Nano,
		NilContainers: cbor.NilContainerAsNull,
		String:        cbor.StringToTextString,
		// A type that declares MarshalText and UnmarshalText is stored
		// as its text (the generator refuses one without the second).
		TextMarshaler: cbor.TextMarshalerTextString,
	})
	DecMode = mustDecMode(cbor.DecOptions{
		MaxNestedLevels:  maxNested,
		MaxArrayElements: 1<<31 - 1,
		MaxMapPairs:      1<<31 - 1,
		UTF8:             cbor.UTF8DecodeInvalid,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		TextUnmarshaler:  cbor.TextUnmarshalerTextString,
	})
)

// maxNested is how deep a stored result may nest: what the decoder reads.
const maxNested = 256

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

var typeSums sync.Map // reflect.Type -> [8]byte

// typeSum returns a digest of the structure of t: kinds, element types,
// and struct field names and tags, recursively. An entry records the digest
// of the result type it was stored with, and a load for another structure
// is a miss, so that a result type edited without a version bump cannot
// decode into a wrong value.
func TypeSum(t reflect.Type) [8]byte {
	if s, ok := typeSums.Load(t); ok {
		return s.([8]byte)
	}
	var b strings.Builder
	describeType(&b, t, map[reflect.Type]int{})
	full := sha256.Sum256([]byte(b.String()))
	var s [8]byte
	copy(s[:], full[:])
	typeSums.Store(t, s)
	return s
}

func describeType(b *strings.Builder, t reflect.Type, seen map[reflect.Type]int) {
	if n, ok := seen[t]; ok {
		fmt.Fprintf(b, "@%d", n) // a recursive type refers back to itself
		return
	}
	if t.Name() != "" {
		seen[t] = len(seen)
	}
	b.WriteString(t.Kind().String())
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		b.WriteByte('(')
		describeType(b, t.Elem(), seen)
		b.WriteByte(')')
	case reflect.Array:
		b.WriteString("(" + strconv.Itoa(t.Len()) + ",")
		describeType(b, t.Elem(), seen)
		b.WriteByte(')')
	case reflect.Map:
		b.WriteByte('(')
		describeType(b, t.Key(), seen)
		b.WriteByte(',')
		describeType(b, t.Elem(), seen)
		b.WriteByte(')')
	case reflect.Struct:
		b.WriteByte('{')
		for i := range t.NumField() {
			f := t.Field(i)
			fmt.Fprintf(b, "%s %q ", f.Name, f.Tag)
			describeType(b, f.Type, seen)
			b.WriteByte(';')
		}
		b.WriteByte('}')
	}
}

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

var timeType = reflect.TypeFor[time.Time]()

func planOf(t reflect.Type) []slot {
	if p, ok := plans.Load(t); ok {
		return p.([]slot)
	}
	var slots []slot
	var walk func(t reflect.Type, path []int)
	walk = func(t reflect.Type, path []int) {
		switch {
		case t.Kind() == reflect.Slice && IsBlockKind(t.Elem().Kind()):
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

// EncodeResult returns the stored form of v, in parts to be written in
// order: the slot table and CBOR, then each block with its padding. The
// blocks alias v's own slices: nothing large is copied.
func EncodeResult[T any](v T) (parts [][]byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			parts, err = nil, fmt.Errorf("encoding a result of type %s panicked: %v", reflect.TypeFor[T](), r)
		}
	}()
	if gobbed(reflect.TypeFor[T]()) {
		return encodeGob(reflect.ValueOf(&v).Elem())
	}
	if err := checkShape(reflect.ValueOf(&v).Elem()); err != nil {
		return nil, err
	}
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
				blocks[i] = BlockBytes(f)
			}
			f.SetZero()
		}
		rv = cp
	}
	body, err := EncMode.Marshal(rv.Interface())
	if err != nil {
		return nil, err
	}
	if HoldsTimes(rv.Type()) {
		// The times exactly, after the CBOR that spells them to the minute.
		times, err := storeTimes(rv)
		if err != nil {
			return nil, err
		}
		tb, err := EncMode.Marshal(times)
		if err != nil {
			return nil, err
		}
		body = append(body, tb...)
	}
	if err := boundOf(body, reflect.TypeFor[T]()); err != nil {
		// Stored, it would be refused at every load: return it uncached.
		return nil, fmt.Errorf("the result would take more than %d times its %d encoded bytes to load back (many small maps or slices, say), more than the cache decodes: %w", MaxInflation, len(body), err)
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
	parts = [][]byte{out}
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

var (
	gobEncoderType = reflect.TypeFor[gob.GobEncoder]()
	gobDecoderType = reflect.TypeFor[gob.GobDecoder]()
)

// gobbed reports whether results of type t (or, for a pointer, of its
// element type) are stored through their GobEncode and GobDecode: when
// the type declares that pair and no binary pair, which the CBOR encoder
// would use first. A gob pair counts only in the result type itself: the
// CBOR encoder does not know it inside other values.
func gobbed(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	return t.Kind() != reflect.Interface && keytable.Declares(t, "GobEncode", gobEncoderType) && keytable.Declares(t, "GobDecode", gobDecoderType) &&
		!(keytable.Declares(t, "MarshalBinary", binaryMarshalerType) && keytable.Declares(t, "UnmarshalBinary", binaryUnmarshalerType))
}

var (
	binaryMarshalerType   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// encodeGob stores v, of a gobbed type, as a payload of no slots whose
// CBOR is its GobEncode bytes (or null, for a nil pointer).
func encodeGob(v reflect.Value) ([][]byte, error) {
	var raw any
	if v.Kind() != reflect.Pointer || !v.IsNil() {
		p := v
		if v.Kind() != reflect.Pointer {
			p = reflect.New(v.Type())
			p.Elem().Set(v)
		}
		b, err := p.Interface().(gob.GobEncoder).GobEncode()
		if err != nil {
			return nil, err
		}
		raw = b
	}
	body, err := EncMode.Marshal(raw)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	out := le.AppendUint32(make([]byte, 0, align8(12+len(body))), 0)
	out = le.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	return [][]byte{out[:align8(len(out))]}, nil
}

// decodeGob decodes the payload encodeGob wrote into v.
func decodeGob(data []byte, v reflect.Value) error {
	le := binary.LittleEndian
	if len(data) < 12 || le.Uint32(data) != 0 {
		return ErrPayload
	}
	n := le.Uint64(data[4:])
	if n > uint64(len(data)-12) || align8(12+int(n)) != len(data) {
		return ErrPayload
	}
	var raw []byte
	if err := boundOf(data[12:12+n], reflect.TypeFor[[]byte]()); err != nil {
		return err
	}
	if err := DecMode.Unmarshal(data[12:12+n], &raw); err != nil {
		return err
	}
	if raw == nil {
		if v.Kind() != reflect.Pointer {
			return ErrPayload
		}
		v.SetZero()
		return nil
	}
	p := v
	if v.Kind() == reflect.Pointer {
		p = reflect.New(v.Type().Elem())
	} else {
		p = v.Addr()
	}
	if err := p.Interface().(gob.GobDecoder).GobDecode(raw); err != nil {
		return err
	}
	if v.Kind() == reflect.Pointer {
		v.Set(p)
	}
	return nil
}

var ErrPayload = errors.New("malformed payload")

// DecodeResult decodes a stored result. With alias, numeric slices point
// into data, which the caller must then never change or reuse; without, they
// are copies. Decoding a value whose checksum already matched can still
// fail, when the entry was written for another result type; that is a miss.
func DecodeResult[T any](data []byte, alias bool) (v T, err error) {
	defer func() {
		// A method of the result type's (UnmarshalBinary, GobDecode)
		// that panics on the bytes makes them a bad payload.
		if r := recover(); r != nil {
			var zero T
			v, err = zero, fmt.Errorf("%w: decoding panicked: %v", ErrPayload, r)
		}
	}()
	if gobbed(reflect.TypeFor[T]()) {
		err = decodeGob(data, reflect.ValueOf(&v).Elem())
		return v, err
	}
	slots := planOf(reflect.TypeFor[T]())
	le := binary.LittleEndian
	if len(data) < 4 || le.Uint32(data) != uint32(len(slots)) {
		return v, ErrPayload
	}
	off := 4
	type blk struct {
		present bool
		n       uint64
	}
	blks := make([]blk, len(slots))
	for i := range slots {
		if len(data) < off+16 {
			return v, ErrPayload
		}
		blks[i] = blk{data[off] == 1, le.Uint64(data[off+8:])}
		off += 16
	}
	if len(data) < off+8 {
		return v, ErrPayload
	}
	bodyLen := le.Uint64(data[off:])
	off += 8
	if bodyLen > uint64(len(data)-off) {
		return v, ErrPayload
	}
	body := data[off : off+int(bodyLen)]
	if err := boundOf(body, reflect.TypeFor[T]()); err != nil {
		return v, err
	}
	rv := reflect.ValueOf(&v).Elem()
	if HoldsTimes(rv.Type()) {
		rest, err := DecMode.UnmarshalFirst(body, &v)
		if err != nil {
			return v, err
		}
		var times []storedTime
		if err := boundOf(rest, reflect.TypeFor[[]storedTime]()); err != nil {
			return v, err
		}
		if err := DecMode.Unmarshal(rest, &times); err != nil {
			return v, err
		}
		if err := loadTimes(rv, times); err != nil {
			return v, err
		}
	} else if err := DecMode.Unmarshal(body, &v); err != nil {
		return v, err
	}
	off += int(bodyLen)
	for i, s := range slots {
		off = align8(off)
		b := blks[i]
		size := int(s.elem.Size())
		if off > len(data) || b.n > uint64(len(data)-off) || b.n%uint64(blockWidth(s.elem)) != 0 || !b.present && b.n != 0 {
			return v, ErrPayload
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
		return v, fmt.Errorf("%w: %d trailing bytes", ErrPayload, len(data)-off)
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

// IsBlockKind reports whether slices of k are keyed by a digest of their
// little-endian bytes when long.
func IsBlockKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// nativeLittleEndian is true on the machines where a numeric slice's memory
// is already its little-endian encoding.
var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// BlockBytes returns the little-endian bytes of a numeric slice or array,
// without copying where the memory already has that layout. int and uint
// are spelled as 64-bit values on every platform.
func BlockBytes(v reflect.Value) []byte {
	k := v.Type().Elem().Kind()
	size := int(v.Type().Elem().Size())
	wide := (k == reflect.Int || k == reflect.Uint) && size != 8
	if nativeLittleEndian && !wide && v.Len() > 0 && (v.Kind() == reflect.Slice || v.CanAddr()) {
		var p unsafe.Pointer
		if v.Kind() == reflect.Slice {
			p = v.UnsafePointer()
		} else {
			p = v.Addr().UnsafePointer()
		}
		return unsafe.Slice((*byte)(p), v.Len()*size)
	}
	if nativeLittleEndian && !wide && v.Len() > 0 && v.Kind() == reflect.Array {
		// An array that is not addressable: its bytes from a copy, not
		// element by element through float64 (which may quiet a NaN).
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		return unsafe.Slice((*byte)(p.UnsafePointer()), v.Len()*size)
	}
	if wide {
		size = 8
	}
	out := make([]byte, 0, v.Len()*size)
	for i := range v.Len() {
		x := v.Index(i)
		var u uint64
		switch k {
		case reflect.Float32:
			// From its memory: converting through float64 may quiet a NaN.
			c := reflect.New(x.Type())
			c.Elem().Set(x)
			u = uint64(*(*uint32)(c.UnsafePointer()))
		case reflect.Float64:
			u = math.Float64bits(x.Float())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			u = uint64(x.Int())
		default:
			u = x.Uint()
		}
		for b := range size {
			out = append(out, byte(u>>(8*b)))
		}
	}
	return out
}
