package keying

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"sync"
	"time"
	"weak"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keytable"
)

// The spellings of types that spell themselves: known types by the rules
// of internal/keytable, and the types that declare a marshaler.

var (
	TimeType            = reflect.TypeFor[time.Time]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
)

// own appends the spelling of v when its type spells itself, by a known
// rule or a method it declares, and reports whether it did.
func (e *keyEncoder) own(v reflect.Value) (bool, error) {
	t := v.Type()
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return false, nil // spelled as what they hold
	}
	if k, ok := knownType(t); ok {
		if done, err := e.known(v, k); done {
			return true, err
		}
	}
	// Of a type's own methods, the exact one first: MarshalBinary is made
	// to be read back, MarshalText to be read by people.
	if keytable.Declares(t, "MarshalBinary", binaryMarshalerType) {
		raw, err := marshalBinary(v)
		if err != nil {
			return true, err
		}
		name, err := typeName(t)
		if err != nil {
			return true, err
		}
		e.buf = append(e.buf, `{"__type__": `...)
		e.string(name)
		e.buf = appendDigest(e.buf, raw, len(raw))
		e.buf = append(e.buf, '}')
		return true, nil
	}
	if keytable.Declares(t, "MarshalText", textMarshalerType) {
		text, err := marshalText(v)
		if err != nil {
			return true, err
		}
		return true, e.stringOrBytes(string(text), t)
	}
	return false, nil
}

// knownType returns the rule of a known type.
func knownType(t reflect.Type) (keytable.KnownType, bool) {
	if t.Name() == "" || t.PkgPath() == "" {
		return keytable.KnownType{}, false
	}
	k, ok := keytable.Known[t.PkgPath()+"."+t.Name()]
	return k, ok
}

// known appends the spelling of v by the rule k, and reports false when
// the type no longer has the shape the rule reads (then the general rules
// apply).
func (e *keyEncoder) known(v reflect.Value, k keytable.KnownType) (bool, error) {
	t := v.Type()
	switch k.Rule {
	case keytable.RuleTime:
		e.time(v.Interface().(time.Time))
	case keytable.RuleBigFloat:
		f := addressable(v).Interface().(*big.Float)
		e.string(f.Text('p', 0) + " prec=" + strconv.FormatUint(uint64(f.Prec()), 10) + " mode=" + f.Mode().String() + " acc=" + f.Acc().String())
	case keytable.RuleBytes:
		if t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Uint8 {
			return false, nil
		}
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return true, nil
		}
		return true, e.list(v)
	case keytable.RuleFields:
		if t.Kind() != reflect.Struct {
			return false, nil
		}
		return true, e.structValue(v)
	case keytable.RuleUserinfo:
		p := addressable(v)
		user, pass := p.MethodByName("Username"), p.MethodByName("Password")
		if !user.IsValid() || !pass.IsValid() {
			return false, nil
		}
		u, ok := user.Interface().(func() string)
		pw, ok2 := pass.Interface().(func() (string, bool))
		if !ok || !ok2 {
			return false, nil
		}
		password, set := pw()
		e.buf = append(e.buf, `{"password": `...)
		e.string(password)
		e.buf = append(e.buf, `, "set": `...)
		e.buf = strconv.AppendBool(e.buf, set)
		e.buf = append(e.buf, `, "username": `...)
		e.string(u())
		e.buf = append(e.buf, '}')
	case keytable.RuleMatrix, keytable.RuleVector:
		return e.dense(v, k.Rule)
	case keytable.RuleRefused:
		return true, fmt.Errorf("type %s cannot be keyed: %s: %w", t, k.Why, ErrUnkeyable)
	default:
		return false, nil
	}
	return true, nil
}

// addressable returns a pointer to v, or to a copy of it.
func addressable(v reflect.Value) reflect.Value {
	if v.CanAddr() {
		return v.Addr()
	}
	p := reflect.New(v.Type())
	p.Elem().Set(v)
	return p
}

// dense appends the spelling of a dense matrix or vector, read in place:
// {"__type__": T, "cols": C, "len": R*C, "rows": R, "sha256": …} for a
// matrix, {"__type__": T, "len": N, "sha256": …} for a vector, the digest
// over its elements' little-endian bytes in row order, as a []float64's.
func (e *keyEncoder) dense(v reflect.Value, rule keytable.Rule) (bool, error) {
	method := "RawMatrix"
	if rule == keytable.RuleVector {
		method = "RawVector"
	}
	m := addressable(v).MethodByName(method)
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 || m.Type().Out(0).Kind() != reflect.Struct {
		return false, nil
	}
	raw := m.Call(nil)[0]
	field := func(name string) (int, bool) {
		f := raw.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Int {
			return 0, false
		}
		return int(f.Int()), true
	}
	data := raw.FieldByName("Data")
	if !data.IsValid() || data.Type() != reflect.TypeFor[[]float64]() {
		return false, nil
	}
	elems := data.Interface().([]float64)
	var rows, cols, stride int
	var ok1, ok2, ok3 bool
	if rule == keytable.RuleMatrix {
		rows, ok1 = field("Rows")
		cols, ok2 = field("Cols")
		stride, ok3 = field("Stride")
	} else {
		rows, ok1 = field("N")
		stride, ok3 = field("Inc")
		cols, ok2 = 1, true
		if rows > 0 && stride < 0 {
			return false, nil
		}
	}
	if !ok1 || !ok2 || !ok3 || rows < 0 || cols < 0 {
		return false, nil
	}
	// The elements must lie in the data, each once: a stride or
	// increment that reads one element for many (which only a hand-made
	// matrix has) would cost more than the data's size.
	if rows > 0 && cols > 0 {
		step := stride
		if rule == keytable.RuleVector {
			step, cols = stride, 1
		}
		if rows > 1 && step < cols || cols > len(elems) || rows-1 > (len(elems)-cols)/max(step, 1) {
			return true, fmt.Errorf("type %s: its rows, columns and stride (%d, %d, %d) do not lie in its %d elements: %w", v.Type(), rows, cols, stride, len(elems), ErrUnkeyable)
		}
	}
	// The elements, row by row; a contiguous block is read in place.
	var flat []float64
	switch n := rows * cols; {
	case n == 0:
	case rule == keytable.RuleMatrix && (stride == cols || rows == 1) && len(elems) >= n:
		flat = elems[:n]
	case rule == keytable.RuleVector && (stride == 1 || rows == 1) && len(elems) >= n:
		flat = elems[:n]
	default:
		flat = make([]float64, 0, n)
		for i := range rows {
			if rule == keytable.RuleMatrix {
				if i*stride+cols > len(elems) {
					return false, nil
				}
				flat = append(flat, elems[i*stride:i*stride+cols]...)
			} else {
				if i*stride >= len(elems) {
					return false, nil
				}
				flat = append(flat, elems[i*stride])
			}
		}
	}
	name, err := typeName(v.Type())
	if err != nil {
		return true, err
	}
	e.buf = append(e.buf, `{"__type__": `...)
	e.string(name)
	var more []intField
	if rule == keytable.RuleMatrix {
		more = []intField{{"cols", int64(cols)}, {"rows", int64(rows)}}
	}
	e.buf = appendDigestWith(e.buf, entry.BlockBytes(reflect.ValueOf(flat)), len(flat), more...)
	e.buf = append(e.buf, '}')
	return true, nil
}

// time appends the spelling of a time: in UTC, its RFC 3339 text with
// nanoseconds; elsewhere, the text with its offset to the second, the
// identity of its location (see ZoneID) and the location's name. The
// monotonic clock reading, which means nothing outside the process, does
// not count.
func (e *keyEncoder) time(tm time.Time) {
	loc := tm.Location()
	if loc == time.UTC {
		e.string(tm.Format(time.RFC3339Nano))
		return
	}
	e.string(tm.Format("2006-01-02T15:04:05.999999999-07:00:00") + " " + ZoneID(loc) + " " + loc.String())
}

// zoneIDs remembers the identity of the locations of this process.
var zoneIDs struct {
	sync.Mutex
	m map[weak.Pointer[time.Location]]string
}

// ZoneID returns the identity of a location: 16 hex digits of a digest of
// every zone it has (abbreviation, offset, daylight saving) and when each
// begins, up to the year 2200, read through time's own methods. The same
// named location keys alike in any process with the same time zone
// database, and a fixed zone that borrows a real zone's name keys apart
// from it.
func ZoneID(loc *time.Location) string {
	w := weak.Make(loc)
	zoneIDs.Lock()
	id, ok := zoneIDs.m[w]
	zoneIDs.Unlock()
	if ok {
		return id
	}
	h := sha256.New()
	const horizon = 7258118400 // 2200-01-01T00:00:00Z
	cur := time.Unix(-1<<60, 0).In(loc)
	for range 1 << 14 {
		name, offset := cur.Zone()
		start, end := cur.ZoneBounds()
		begins := "-"
		if !start.IsZero() {
			begins = strconv.FormatInt(start.Unix(), 10)
		}
		fmt.Fprintf(h, "%s %q %d %t\n", begins, name, offset, cur.IsDST())
		if end.IsZero() || end.Unix() > horizon || !end.After(cur) {
			break
		}
		cur = end
	}
	id = hex.EncodeToString(h.Sum(nil)[:8])
	zoneIDs.Lock()
	if zoneIDs.m == nil {
		zoneIDs.m = map[weak.Pointer[time.Location]]string{}
	}
	for k := range zoneIDs.m {
		if len(zoneIDs.m) < 256 {
			break
		}
		delete(zoneIDs.m, k) // one at random, or one whose location is gone
	}
	zoneIDs.m[w] = id
	zoneIDs.Unlock()
	return id
}

// marshalText returns v's text by the MarshalText it declares, on v or a
// pointer to (a copy of) it. A panic in the method is an error.
func marshalText(v reflect.Value) ([]byte, error) {
	return marshalBy(v, "MarshalText", textMarshalerType, func(m any) ([]byte, error) {
		return m.(encoding.TextMarshaler).MarshalText()
	})
}

// marshalBinary returns v's bytes by the MarshalBinary it declares. A
// panic in the method is an error.
func marshalBinary(v reflect.Value) ([]byte, error) {
	return marshalBy(v, "MarshalBinary", binaryMarshalerType, func(m any) ([]byte, error) {
		return m.(encoding.BinaryMarshaler).MarshalBinary()
	})
}

// marshalBy calls the marshaler method name of interface iface on v, or
// on a pointer to (a copy of) it, turning a failure or a panic into an
// error wrapping ErrUnkeyable.
func marshalBy(v reflect.Value, name string, iface reflect.Type, call func(any) ([]byte, error)) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("type %s: %s panicked: %v: %w", v.Type(), name, r, ErrUnkeyable)
		}
	}()
	m := v
	if !v.Type().Implements(iface) {
		m = addressable(v)
	}
	b, err = call(m.Interface())
	if err != nil {
		return nil, fmt.Errorf("type %s: %s: %v: %w", v.Type(), name, err, ErrUnkeyable)
	}
	return b, nil
}

// KeyBy returns an argument that is keyed by what key returns for v,
// instead of by v itself: a declared key (a function annotated
// //cache:key). Generated wrappers pass it for each parameter whose type
// has a declared key. key runs each time the call is keyed, and once more
// after a miss is computed, to tell whether the function changed its
// argument; a panic in it makes the call unkeyable, and it is computed
// without the cache.
func KeyBy[T, K any](v T, key func(T) K) any { return keyedBy[T, K]{v, key} }

// derivedKey is an argument keyed by a value derived from it.
type derivedKey interface {
	keyValue() (reflect.Value, error)
	argument() reflect.Value
}

type keyedBy[T, K any] struct {
	v   T
	key func(T) K
}

func (k keyedBy[T, K]) keyValue() (out reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("its declared key panicked: %v: %w", r, ErrUnkeyable)
		}
	}()
	kv := k.key(k.v)
	return reflect.ValueOf(&kv).Elem(), nil
}

func (k keyedBy[T, K]) argument() reflect.Value { return reflect.ValueOf(&k.v).Elem() }
