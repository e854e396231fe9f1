package runtime

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cachegen/cachegen/internal/entry"
)

// ErrUnkeyable is wrapped by the errors of Canonical, Key and Call.Key
// when a value cannot be spelled soundly in a key.
var ErrUnkeyable = errors.New("value cannot be part of a cache key")

// Reserved parameter names that Call.Key adds to the params it hashes.
const (
	fnParam      = "__fn__"
	versionParam = "__version__"
)

// digestThreshold is the length above which numeric slices and arrays are
// keyed by a digest of their bytes instead of element by element.
const digestThreshold = 64

// maxDepth bounds nesting, so that a cycle the pointer check cannot see
// (a slice that contains itself) is an error rather than a stack overflow.
const maxDepth = 512

// canonicalJSON returns the canonical text of params that a key hashes: the
// bytes Python's json.dumps(params, sort_keys=True) produces for the equivalent
// Python value, extended to Go values as the package documentation
// describes. It is deterministic: the same params always give the same
// bytes. It returns an error wrapping ErrUnkeyable, naming the parameter,
// for values that cannot be keyed soundly (funcs, channels, cycles, structs
// with unexported fields).
func canonicalJSON(params map[string]any) ([]byte, error) {
	e := keyEncoder{buf: make([]byte, 0, 128)}
	if err := e.params(params); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// Call describes one call of a cached function: what Do keys, stores and
// looks up. Generated wrappers fill it in; it can also be built by hand.
type Call struct {
	// Func is the function's qualified name: "example.com/sim.RunMonteCarlo",
	// or "example.com/sim.Model.Fit" for a method.
	Func string
	// Version is the N of the function's //cache:version=N directive.
	Version int
	// Params holds the function's arguments by parameter name.
	Params map[string]any
	// TTL, when positive, is how long an entry stays fresh: an older entry
	// is recomputed and replaced.
	TTL time.Duration
	// Code, when set, is the fingerprint of the code that computes the
	// call, as cachegen recorded it (16 hex digits). Each entry stores the
	// Code it was computed by, and Do serves only entries computed by Code
	// or by one of Accepted: a result computed by other code under the
	// same version (a forgotten bump, a version number reused, a teammate
	// on another branch) is a miss. Code is not part of the key.
	Code string
	// Accepted lists earlier fingerprints whose results were declared the
	// same as Code's (cachegen -accept).
	Accepted []string
}

// Key returns the key of the call: the first 16 hex digits of the SHA-256
// of the canonical text of its Params together with "__fn__": Func and
// "__version__": Version, as the reference decorator computes it. Params
// may not use those two names.
func (c Call) Key() (string, error) {
	id, err := c.identity(memDigester)
	if err != nil {
		return "", err
	}
	return id.key, nil
}

// identity is everything Do needs to know about a call's key.
type identity struct {
	key       string   // first 16 hex digits of sum: the entry's name
	sum       [32]byte // SHA-256 of canonical: stored in and checked against the entry
	canonical []byte   // the text that was hashed
	inputs    []entry.Input
	seen      keyed // the stat of each file the inputs read, to tell whether they changed since
}

// identity keys c, with d keying its file inputs.
func (c Call) identity(d *digester) (identity, error) {
	for _, reserved := range []string{fnParam, versionParam} {
		if _, ok := c.Params[reserved]; ok {
			return identity{}, fmt.Errorf("%s: parameter name %q is reserved for the cache key: rename the parameter", c.Func, reserved)
		}
	}
	all := make(map[string]any, len(c.Params)+2)
	for k, v := range c.Params {
		all[k] = v
	}
	all[fnParam] = c.Func
	all[versionParam] = c.Version
	e := keyEncoder{buf: make([]byte, 0, 128), files: d}
	if err := e.params(all); err != nil {
		if c.Func != "" {
			err = fmt.Errorf("%s: %w", c.Func, err)
		}
		return identity{}, err
	}
	sum := sha256.Sum256(e.buf)
	return identity{key: hex.EncodeToString(sum[:8]), sum: sum, canonical: e.buf, inputs: e.inputs, seen: e.seen}, nil
}

type keyEncoder struct {
	buf      []byte
	visiting map[uintptr]bool
	depth    int
	files    *digester     // keys File and Dir values; nil means memDigester
	inputs   []entry.Input // the File and Dir values keyed, in order
	seen     keyed         // the stat of each file they read
}

// input appends the spelling of the file input p.
func (e *keyEncoder) input(p string, glob bool) error {
	d := e.files
	if d == nil {
		d = memDigester
	}
	in, err := d.input(p, glob, &e.seen)
	if err != nil {
		return err
	}
	e.buf = appendInput(e.buf, in)
	e.inputs = append(e.inputs, in)
	return nil
}

func (e *keyEncoder) params(params map[string]any) error {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	e.buf = append(e.buf, '{')
	for i, name := range names {
		if i > 0 {
			e.buf = append(e.buf, ", "...)
		}
		if !utf8.ValidString(name) {
			return fmt.Errorf("parameter name %q is not valid UTF-8: %w", name, ErrUnkeyable)
		}
		e.string(name)
		e.buf = append(e.buf, ": "...)
		// The values of params are spelled by their own types: the
		// generator puts each argument under its parameter's name, so the
		// static type is fixed by the signature.
		if err := e.value(reflect.ValueOf(params[name]), false); err != nil {
			return fmt.Errorf("parameter %s: %w", name, err)
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// natural reports whether a value of type t, held in an interface, is
// spelled plainly: these are the types a JSON decoder produces, and their
// spellings cannot be confused with one another. Values of every other
// type are tagged with their type when held in an interface.
func natural(v reflect.Value) bool {
	switch v.Type() {
	case reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[float64](), reflect.TypeFor[[]any]():
		return true
	case reflect.TypeFor[string]():
		return utf8.ValidString(v.String())
	case reflect.TypeFor[map[string]any]():
		// A map with a "__type__" key would read like a tag: tag it.
		return !v.MapIndex(reflect.ValueOf("__type__")).IsValid()
	}
	return false
}

// value appends the spelling of v. dynamic is true when v was held in an
// interface, where its type must be spelled unless it is natural.
func (e *keyEncoder) value(v reflect.Value, dynamic bool) error {
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if dynamic && !natural(v) {
		e.buf = append(e.buf, `{"__type__": `...)
		e.string(typeName(v.Type()))
		e.buf = append(e.buf, `, "__value__": `...)
		if err := e.value(v, false); err != nil {
			return err
		}
		e.buf = append(e.buf, '}')
		return nil
	}
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxDepth {
		return fmt.Errorf("value of type %s is nested more than %d deep (is it cyclic?): %w", v.Type(), maxDepth, ErrUnkeyable)
	}

	t := v.Type()
	if t == fileType || t == dirType {
		return e.input(v.String(), t == dirType)
	}
	if t == timeType {
		tm := v.Interface().(time.Time)
		s := tm.Format(time.RFC3339Nano)
		if name := tm.Location().String(); name != "UTC" {
			s += " " + name
		}
		e.string(s)
		return nil
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		if m, ok := textMarshaler(v); ok {
			text, err := m.MarshalText()
			if err != nil {
				return fmt.Errorf("type %s: MarshalText: %v: %w", t, err, ErrUnkeyable)
			}
			e.stringOrBytes(string(text), t)
			return nil
		}
	}

	switch t.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		e.buf = appendPyFloat(e.buf, v.Float())
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		e.buf = append(e.buf, `{"__type__": `...)
		e.string(t.Kind().String())
		e.buf = append(e.buf, `, "imag": `...)
		e.buf = appendPyFloat(e.buf, imag(c))
		e.buf = append(e.buf, `, "real": `...)
		e.buf = appendPyFloat(e.buf, real(c))
		e.buf = append(e.buf, '}')
	case reflect.String:
		e.stringOrBytes(v.String(), t)
	case reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.value(v.Elem(), true)
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		p := v.Pointer()
		if e.visiting[p] {
			return fmt.Errorf("type %s: pointer cycle: %w", t, ErrUnkeyable)
		}
		if e.visiting == nil {
			e.visiting = make(map[uintptr]bool)
		}
		e.visiting[p] = true
		defer delete(e.visiting, p)
		if spellsNull(v.Elem()) {
			// A pointer to nil must not read like a nil pointer.
			e.buf = append(e.buf, `{"__type__": `...)
			e.string(typeName(t))
			e.buf = append(e.buf, `, "__value__": null}`...)
			return nil
		}
		return e.value(v.Elem(), false)
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.list(v)
	case reflect.Array:
		return e.list(v)
	case reflect.Map:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		p := v.Pointer()
		if e.visiting[p] {
			return fmt.Errorf("type %s: map cycle: %w", t, ErrUnkeyable)
		}
		if e.visiting == nil {
			e.visiting = make(map[uintptr]bool)
		}
		e.visiting[p] = true
		defer delete(e.visiting, p)
		return e.mapValue(v)
	case reflect.Struct:
		return e.structValue(v)
	default: // Func, Chan, UnsafePointer
		return fmt.Errorf("type %s cannot be keyed (a %s has no value to hash): %w", t, t.Kind(), ErrUnkeyable)
	}
	return nil
}

// spellsNull reports whether v is a nil pointer, interface, slice or map.
func spellsNull(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return v.IsNil()
	}
	return false
}

// textMarshaler returns v's encoding.TextMarshaler, if v or a pointer to
// (a copy of) it implements one.
func textMarshaler(v reflect.Value) (encoding.TextMarshaler, bool) {
	t := v.Type()
	if t.Implements(textMarshalerType) {
		return v.Interface().(encoding.TextMarshaler), true
	}
	if reflect.PointerTo(t).Implements(textMarshalerType) {
		p := reflect.New(t)
		p.Elem().Set(v)
		return p.Interface().(encoding.TextMarshaler), true
	}
	return nil, false
}

// stringOrBytes spells s as a JSON string, or, when s is not valid UTF-8
// (which a JSON string cannot hold without conflating it with U+FFFD), as a
// tagged object of its bytes in hex.
func (e *keyEncoder) stringOrBytes(s string, t reflect.Type) {
	if utf8.ValidString(s) {
		e.string(s)
		return
	}
	e.buf = append(e.buf, `{"__hex__": "`...)
	e.buf = hex.AppendEncode(e.buf, []byte(s))
	e.buf = append(e.buf, `", "__type__": `...)
	e.string(typeName(t))
	e.buf = append(e.buf, '}')
}

// string appends s, valid UTF-8, as Python's json.dumps with
// ensure_ascii=True spells it.
func (e *keyEncoder) string(s string) {
	const hexDigits = "0123456789abcdef"
	e.buf = append(e.buf, '"')
	for _, r := range s {
		switch {
		case r == '"':
			e.buf = append(e.buf, '\\', '"')
		case r == '\\':
			e.buf = append(e.buf, '\\', '\\')
		case r == '\n':
			e.buf = append(e.buf, '\\', 'n')
		case r == '\r':
			e.buf = append(e.buf, '\\', 'r')
		case r == '\t':
			e.buf = append(e.buf, '\\', 't')
		case r == '\b':
			e.buf = append(e.buf, '\\', 'b')
		case r == '\f':
			e.buf = append(e.buf, '\\', 'f')
		case 0x20 <= r && r <= 0x7e:
			e.buf = append(e.buf, byte(r))
		default:
			units := []rune{r}
			if r > 0xffff {
				r -= 0x10000
				units = []rune{0xd800 + r>>10, 0xdc00 + r&0x3ff}
			}
			for _, u := range units {
				e.buf = append(e.buf, '\\', 'u',
					hexDigits[u>>12&0xf], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf])
			}
		}
	}
	e.buf = append(e.buf, '"')
}

func (e *keyEncoder) list(v reflect.Value) error {
	elem := v.Type().Elem()
	if entry.IsBlockKind(elem.Kind()) && (v.Len() > digestThreshold || elem.Kind() == reflect.Uint8) {
		e.digest(v)
		return nil
	}
	e.buf = append(e.buf, '[')
	for i := range v.Len() {
		if i > 0 {
			e.buf = append(e.buf, ", "...)
		}
		if err := e.value(v.Index(i), false); err != nil {
			return fmt.Errorf("index %d: %w", i, err)
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// digest appends {"__type__": "[]float64", "len": N, "sha256": "…"} for a
// slice or array of a block kind: one SHA-256 pass over its little-endian
// bytes, with no text formatting of the elements. Over treeChunk bytes,
// it appends {"__type__": "[]float64", "chunk": 1048576, "len": N,
// "sha256tree": "…"} instead, the SHA-256 tree of the bytes (see
// sha256Tree), computed on every core.
func (e *keyEncoder) digest(v reflect.Value) {
	elem := v.Type().Elem()
	raw := entry.BlockBytes(v)
	e.buf = append(e.buf, `{"__type__": "[]`...)
	e.buf = append(e.buf, elem.Kind().String()...)
	e.buf = append(e.buf, '"')
	var sum [sha256.Size]byte
	field := "sha256"
	if len(raw) > treeChunk {
		sum, field = sha256Tree(raw), "sha256tree"
		e.buf = append(e.buf, `, "chunk": `...)
		e.buf = strconv.AppendInt(e.buf, treeChunk, 10)
	} else {
		sum = sha256.Sum256(raw)
	}
	e.buf = append(e.buf, `, "len": `...)
	e.buf = strconv.AppendInt(e.buf, int64(v.Len()), 10)
	e.buf = append(e.buf, `, "`...)
	e.buf = append(e.buf, field...)
	e.buf = append(e.buf, `": "`...)
	e.buf = hex.AppendEncode(e.buf, sum[:])
	e.buf = append(e.buf, `"}`...)
}

// treeChunk is the size of the chunks of a SHA-256 tree.
const treeChunk = 1 << 20

// sha256Tree returns the SHA-256 of the concatenated SHA-256 digests of
// b's consecutive treeChunk-byte chunks (the last one shorter), hashing
// the chunks on up to GOMAXPROCS goroutines. In Python:
//
//	sha256(b"".join(sha256(b[i:i+2**20]).digest() for i in range(0, len(b), 2**20))).hexdigest()
func sha256Tree(b []byte) [sha256.Size]byte {
	n := (len(b) + treeChunk - 1) / treeChunk
	sums := make([]byte, n*sha256.Size)
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			sum := sha256.Sum256(b[i*treeChunk : min((i+1)*treeChunk, len(b))])
			copy(sums[i*sha256.Size:], sum[:])
		}
	}
	var wg sync.WaitGroup
	for range min(goruntime.GOMAXPROCS(0), n) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return sha256.Sum256(sums)
}

func (e *keyEncoder) mapValue(v reflect.Value) error {
	t := v.Type()
	type item struct {
		text string
		num  int64
		unum uint64
		val  reflect.Value
	}
	if kt := t.Key(); kt == fileType || kt == dirType {
		return fmt.Errorf("type %s: a file input cannot be a map key, where it would be keyed by its path's text: use a slice of %s: %w", t, typeName(kt), ErrUnkeyable)
	}
	items := make([]item, 0, v.Len())
	kk := t.Key().Kind()
	iter := v.MapRange()
	for iter.Next() {
		k := iter.Key()
		var it item
		it.val = iter.Value()
		if m, ok := textMarshaler(k); ok && t.Key() != timeType {
			text, err := m.MarshalText()
			if err != nil {
				return fmt.Errorf("map key of type %s: MarshalText: %v: %w", t.Key(), err, ErrUnkeyable)
			}
			it.text = string(text)
			kk = reflect.String
		} else {
			switch kk {
			case reflect.String:
				it.text = k.String()
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				it.num = k.Int()
				it.text = strconv.FormatInt(it.num, 10)
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
				it.unum = k.Uint()
				it.text = strconv.FormatUint(it.unum, 10)
			default:
				return fmt.Errorf("type %s: map keys of type %s cannot be keyed (use string or integer keys, or a key type that implements encoding.TextMarshaler): %w", t, t.Key(), ErrUnkeyable)
			}
		}
		if !utf8.ValidString(it.text) {
			return fmt.Errorf("type %s: map key %q is not valid UTF-8: %w", t, it.text, ErrUnkeyable)
		}
		items = append(items, it)
	}
	// Python sorts the keys before turning them into strings: integers
	// numerically, strings by code point (which is UTF-8 byte order).
	slices.SortFunc(items, func(a, b item) int {
		switch kk {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return cmpOrdered(a.num, b.num)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return cmpOrdered(a.unum, b.unum)
		}
		return strings.Compare(a.text, b.text)
	})
	e.buf = append(e.buf, '{')
	for i, it := range items {
		if i > 0 {
			e.buf = append(e.buf, ", "...)
		}
		e.string(it.text)
		e.buf = append(e.buf, ": "...)
		if err := e.value(it.val, false); err != nil {
			return fmt.Errorf("map key %q: %w", it.text, err)
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func cmpOrdered[T int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (e *keyEncoder) structValue(v reflect.Value) error {
	t := v.Type()
	fields := make([]int, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			if f.Name == "_" {
				continue // blank fields hold nothing
			}
			return fmt.Errorf("type %s has unexported field %q, which a key cannot see: export it, or implement encoding.TextMarshaler: %w", t, f.Name, ErrUnkeyable)
		}
		fields = append(fields, i)
	}
	slices.SortFunc(fields, func(a, b int) int { return strings.Compare(t.Field(a).Name, t.Field(b).Name) })
	e.buf = append(e.buf, '{')
	for n, i := range fields {
		if n > 0 {
			e.buf = append(e.buf, ", "...)
		}
		e.string(t.Field(i).Name)
		e.buf = append(e.buf, ": "...)
		if err := e.value(v.Field(i), false); err != nil {
			return fmt.Errorf("field %s: %w", t.Field(i).Name, err)
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// typeName spells t with full package paths, so that two types of the same
// name in different packages are told apart.
func typeName(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		return t.PkgPath() + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeName(t.Elem())
	case reflect.Slice:
		return "[]" + typeName(t.Elem())
	case reflect.Array:
		return "[" + strconv.Itoa(t.Len()) + "]" + typeName(t.Elem())
	case reflect.Map:
		return "map[" + typeName(t.Key()) + "]" + typeName(t.Elem())
	}
	return t.String()
}

// appendPyFloat appends f as Python's repr spells a float: the shortest
// digits that round-trip, in fixed notation when the decimal exponent is in
// [-4, 16), otherwise as d.ddde±XX; NaN, Infinity and -Infinity as
// json.dumps writes them.
func appendPyFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // [-]d[.ddd]e±XX
	if s[0] == '-' {
		b = append(b, '-')
		s = s[1:]
	}
	ePos := 0
	for s[ePos] != 'e' {
		ePos++
	}
	exp, _ := strconv.Atoi(string(s[ePos+1:]))
	var digits []byte
	for _, c := range s[:ePos] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	decpt := exp + 1 // position of the decimal point relative to digits
	if -4 < decpt && decpt <= 16 {
		switch {
		case decpt <= 0:
			b = append(b, "0."...)
			for range -decpt {
				b = append(b, '0')
			}
			b = append(b, digits...)
		case decpt >= len(digits):
			b = append(b, digits...)
			for range decpt - len(digits) {
				b = append(b, '0')
			}
			b = append(b, ".0"...)
		default:
			b = append(b, digits[:decpt]...)
			b = append(b, '.')
			b = append(b, digits[decpt:]...)
		}
		return b
	}
	b = append(b, digits[0])
	if len(digits) > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	if exp < 0 {
		b = append(b, '-')
		exp = -exp
	} else {
		b = append(b, '+')
	}
	if exp < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(exp), 10)
}

// TypeName returns the name of type T with full package paths. Generated
// wrappers of generic functions key their type arguments with it.
func TypeName[T any]() string { return typeName(reflect.TypeFor[T]()) }
