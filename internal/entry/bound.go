package entry

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"time"
)

// Decoding is bounded by size: before CBOR bytes are decoded into a Go
// value, bound walks them beside the value's type and adds up what
// decoding would allocate (each slice's elements, each map's entries, each
// pointer's target, each string's bytes, each value an interface holds),
// refusing bytes that would take more than MaxInflation times their
// length, plus InflationSlack, and bytes whose shape does not fit the type.
// A payload of millions of empty arrays, or a map claiming more pairs than
// it has bytes, is a bad payload before it costs anything. Metadata, whose
// shape is fixed, is decoded with limits on its lists instead (metaMode).
const (
	MaxInflation   = 32
	InflationSlack = 64 << 10
)

// ErrInflates rejects bytes that would take too much memory to decode.
var ErrInflates = fmt.Errorf("%w: decoding it would take more than %d times its size", ErrPayload, MaxInflation)

// boundOf checks that decoding body into a value of type t allocates at
// most MaxInflation times len(body) plus InflationSlack.
func boundOf(body []byte, t reflect.Type) error {
	b := bounder{data: body, limit: int64(MaxInflation)*int64(len(body)) + InflationSlack}
	if err := b.item(t, 0); err != nil {
		return err
	}
	return nil
}

type bounder struct {
	data    []byte
	off     int
	lastKey int   // where the last map key read began
	total   int64 // bytes decoding would allocate so far
	limit   int64
	failed  error // set where a step cannot return its error
}

// Costs of what decoding into an interface makes, beyond its bytes.
const (
	ifaceCost = 16  // an interface value
	sliceCost = 24  // a slice header
	mapCost   = 320 // a map: its first group of slots, however few it holds
	entryCost = 16  // per map entry, beyond its key and value
)

var errShape = fmt.Errorf("%w: its shape does not fit the result type", ErrPayload)

func (b *bounder) add(n int64) error {
	if n < 0 || b.total > b.limit-n {
		return ErrInflates
	}
	b.total += n
	return nil
}

// head reads an item's head: its major type, its argument, and whether
// its length is indefinite.
func (b *bounder) head() (major byte, arg uint64, indefinite bool, err error) {
	if b.off >= len(b.data) {
		return 0, 0, false, errShape
	}
	c := b.data[b.off]
	b.off++
	major, info := c>>5, c&31
	switch {
	case info < 24:
		return major, uint64(info), false, nil
	case info <= 27:
		n := 1 << (info - 24)
		if b.off+n > len(b.data) {
			return 0, 0, false, errShape
		}
		var buf [8]byte
		copy(buf[8-n:], b.data[b.off:b.off+n])
		b.off += n
		return major, binary.BigEndian.Uint64(buf[:]), false, nil
	case info == 31 && (major >= 2 && major <= 5 || major == 7):
		return major, 0, true, nil
	}
	return 0, 0, false, errShape
}

// isBreak reports, and consumes, the break that ends an indefinite item.
func (b *bounder) isBreak() bool {
	if b.off < len(b.data) && b.data[b.off] == 0xff {
		b.off++
		return true
	}
	return false
}

// count returns how many elements a definite container claims, refusing
// more than its bytes could hold (each element takes at least one byte).
func (b *bounder) count(arg uint64, per uint64) (int64, error) {
	if arg > uint64(len(b.data)-b.off)/per {
		return 0, errShape
	}
	return int64(arg), nil
}

var (
	timeT      = reflect.TypeFor[time.Time]()
	bigIntT    = reflect.TypeFor[big.Int]()
	unmarshalT = []reflect.Type{reflect.TypeFor[encoding.BinaryUnmarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()}
)

// opaque reports whether values of t are decoded from whatever item by
// code of their own, whose allocations are that of a copy of the item.
func opaque(t reflect.Type) bool {
	if t == timeT || t == bigIntT {
		return true
	}
	for _, u := range unmarshalT {
		if reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	return false
}

// item walks one item to be decoded into a value of type t (nil: a value
// that is skipped, allocating nothing).
func (b *bounder) item(t reflect.Type, depth int) error {
	if depth > 256 {
		return errShape
	}
	start := b.off
	if b.off < len(b.data) && b.data[b.off] == 0xf6 || b.off < len(b.data) && b.data[b.off] == 0xf7 {
		b.off++ // null, undefined: nothing allocated
		return nil
	}
	if t != nil {
		for t.Kind() == reflect.Pointer {
			if err := b.add(int64(t.Elem().Size())); err != nil {
				return err
			}
			t = t.Elem()
		}
	}
	major, arg, indefinite, err := b.head()
	if err != nil {
		return err
	}
	if major == 6 { // a tag: what it tags
		return b.item(t, depth+1)
	}
	iface := t != nil && t.Kind() == reflect.Interface
	if iface {
		if err := b.add(ifaceCost); err != nil {
			return err
		}
	}
	if t != nil && !iface && opaque(t) {
		t = nil // its own code decodes it: a copy of the item's bytes, counted below
		defer func() {
			if err == nil {
				err = b.add(int64(b.off - start))
			}
		}()
	}
	switch major {
	case 0, 1, 7:
		if indefinite { // a stray break
			return errShape
		}
		return nil
	case 2, 3:
		return b.str(arg, indefinite, t != nil)
	case 4:
		return b.array(t, arg, indefinite, iface, depth)
	case 5:
		return b.mapItem(t, arg, indefinite, iface, depth)
	}
	return errShape
}

// str walks a byte or text string, counting its bytes when kept.
func (b *bounder) str(arg uint64, indefinite, kept bool) error {
	if !indefinite {
		if arg > uint64(len(b.data)-b.off) {
			return errShape
		}
		b.off += int(arg)
		if kept {
			return b.add(int64(arg) + sliceCost)
		}
		return nil
	}
	for !b.isBreak() {
		major, n, ind, err := b.head()
		if err != nil || ind || major != 2 && major != 3 {
			return errShape
		}
		if err := b.str(n, false, kept); err != nil {
			return err
		}
	}
	return nil
}

// array walks an array decoded into t.
func (b *bounder) array(t reflect.Type, arg uint64, indefinite, iface bool, depth int) error {
	var elem func(i int) reflect.Type
	var per int64
	switch {
	case t == nil:
		elem = func(int) reflect.Type { return nil }
	case iface:
		per, elem = ifaceCost, func(int) reflect.Type { return t }
		if err := b.add(sliceCost); err != nil {
			return err
		}
	case t.Kind() == reflect.Slice:
		// Each slice decoded costs its header too (reflect makes it on
		// the heap), an empty one included.
		per, elem = int64(t.Elem().Size()), func(int) reflect.Type { return t.Elem() }
		if err := b.add(sliceCost); err != nil {
			return err
		}
	case t.Kind() == reflect.Array:
		elem = func(i int) reflect.Type {
			if i < t.Len() {
				return t.Elem()
			}
			return nil
		}
	case t.Kind() == reflect.Struct: // toarray
		elem = func(i int) reflect.Type {
			if i < t.NumField() {
				return t.Field(i).Type
			}
			return nil
		}
	default:
		return errShape
	}
	if !indefinite {
		n, err := b.count(arg, 1)
		if err != nil {
			return err
		}
		if err := b.add(n * per); err != nil {
			return err
		}
		for i := range int(n) {
			if err := b.item(elem(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; !b.isBreak(); i++ {
		if err := b.add(2 * per); err != nil { // a slice grown by appending
			return err
		}
		if err := b.item(elem(i), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// mapItem walks a map decoded into t: a Go map, a struct, or an interface.
func (b *bounder) mapItem(t reflect.Type, arg uint64, indefinite, iface bool, depth int) error {
	var key, val func(k string) reflect.Type
	var per int64
	switch {
	case t == nil:
		key, val = func(string) reflect.Type { return nil }, func(string) reflect.Type { return nil }
	case iface:
		per = 2*ifaceCost + entryCost
		key, val = func(string) reflect.Type { return t }, func(string) reflect.Type { return t }
		if err := b.add(mapCost); err != nil {
			return err
		}
	case t.Kind() == reflect.Map:
		per = int64(t.Key().Size()+t.Elem().Size()) + entryCost
		key, val = func(string) reflect.Type { return t.Key() }, func(string) reflect.Type { return t.Elem() }
		if err := b.add(mapCost); err != nil {
			return err
		}
	case t.Kind() == reflect.Struct:
		fields := map[string]structField{}
		structFields(t, fields, 0, 0)
		key = func(string) reflect.Type { return nil }
		val = func(k string) reflect.Type {
			f, ok := fields[strings.ToLower(k)]
			if !ok {
				return nil
			}
			// A field promoted through an embedded pointer makes the
			// decoder allocate what it points to.
			if err := b.add(f.through); err != nil {
				b.failed = err
			}
			return f.t
		}
	default:
		return errShape
	}
	pair := func() error {
		k, err := b.keyText()
		if err != nil {
			return err
		}
		if t != nil && !iface && t.Kind() != reflect.Struct {
			// A Go map keeps its keys: walk them again as what they are.
			b.off = b.lastKey
			if err := b.item(key(k), depth+1); err != nil {
				return err
			}
		}
		vt := val(k)
		if b.failed != nil {
			return b.failed
		}
		return b.item(vt, depth+1)
	}
	if !indefinite {
		n, err := b.count(arg, 2)
		if err != nil {
			return err
		}
		if err := b.add(n * per); err != nil {
			return err
		}
		for range n {
			if err := pair(); err != nil {
				return err
			}
		}
		return nil
	}
	for !b.isBreak() {
		if err := b.add(per); err != nil {
			return err
		}
		if err := pair(); err != nil {
			return err
		}
	}
	return nil
}

// A structField is a field as the decoder finds it by name: its type, and
// what reaching it allocates on the way (the targets of the embedded
// pointers it is promoted through).
type structField struct {
	t       reflect.Type
	through int64
}

// structFields adds the fields of struct type t, by their names as the
// decoder matches them (lower-cased, and by their cbor tag names), with
// the fields of embedded structs.
func structFields(t reflect.Type, fields map[string]structField, depth int, through int64) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("cbor"), ",")[0]
		ft := f.Type
		via := through
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
			via += int64(ft.Size())
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct && depth < 8 {
			structFields(ft, fields, depth+1, via)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if _, ok := fields[strings.ToLower(f.Name)]; !ok {
			fields[strings.ToLower(f.Name)] = structField{f.Type, through}
		}
		if name != "" && name != "-" {
			fields[strings.ToLower(name)] = structField{f.Type, through}
		}
	}
}

// keyText reads a map key, returning its text (a struct's field name, or
// the decimal of a keyasint field), and leaves lastKey at its start.
func (b *bounder) keyText() (string, error) {
	b.lastKey = b.off
	major, arg, indefinite, err := b.head()
	if err != nil {
		return "", err
	}
	switch {
	case major == 3 && !indefinite:
		if arg > uint64(len(b.data)-b.off) {
			return "", errShape
		}
		s := string(b.data[b.off : b.off+int(arg)])
		b.off += int(arg)
		return s, nil
	case major == 0:
		return fmt.Sprint(arg), nil
	case major == 1:
		return fmt.Sprint(-1 - int64(arg)), nil
	}
	b.off = b.lastKey
	if err := b.item(nil, 0); err != nil {
		return "", err
	}
	return "", nil
}
