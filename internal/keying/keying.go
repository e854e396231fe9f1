package keying

import (
	"bytes"
	"crypto/sha256"
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
	"unicode/utf8"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keytable"
)

// The reserved parameter names that a call's key adds to its params: the
// function's qualified name and its version.
const (
	FnParam      = "__fn__"
	VersionParam = "__version__"
)

// ErrUnkeyable is wrapped by the errors of Spell and Canonical when a
// value cannot be spelled soundly in a key; runtime.ErrUnkeyable is it.
var ErrUnkeyable = errors.New("value cannot be part of a cache key")

// digestThreshold is the length above which numeric slices and arrays are
// keyed by a digest of their bytes instead of element by element.
const digestThreshold = 64

// maxDepth bounds nesting, so that a value nested deeper than any data a
// function takes is an error rather than a stack overflow.
const maxDepth = 512

// maxCanonical bounds the canonical text: an entry cannot hold more
// (entry.MaxMeta), so keying stops there with an error, whatever the
// value unfolds to (a string repeated a million times, a slice of a
// billion empty structs).
const maxCanonical = entry.MaxMeta

// Canonical returns the canonical text of params that a key hashes: the
// bytes Python's json.dumps(params, sort_keys=True) produces for the equivalent
// Python value, extended to Go values as the package documentation
// describes. It is deterministic: the same params always give the same
// bytes. It returns an error wrapping ErrUnkeyable, naming the parameter,
// for values that cannot be keyed soundly (funcs, channels, cycles, structs
// with unexported fields).
func Canonical(params map[string]any) ([]byte, error) {
	sp, err := Spell(params, nil)
	return sp.Text, err
}

// A Spelling is the canonical text of a call's params, and what keying
// them read.
type Spelling struct {
	Text   []byte
	Inputs []entry.Input   // the File and Dir values keyed, in order
	Seen   Seen            // the stat of each file they read
	Spans  map[string]Span // where each parameter's spelling lies in Text
}

// A Span is where a parameter's spelling lies in the canonical text.
type Span struct{ Start, End int }

// Spell spells params canonically (see Canonical), with d keying their
// file inputs; a nil d keeps its memo of file digests in memory only.
func Spell(params map[string]any, d *Digester) (Spelling, error) {
	e := keyEncoder{buf: make([]byte, 0, 128), files: d, spans: map[string]Span{}}
	if err := e.params(params); err != nil {
		return Spelling{}, err
	}
	return Spelling{Text: e.buf, Inputs: e.inputs, Seen: e.seen, Spans: e.spans}, nil
}

// Changed returns, in name order, the params that can change (whose
// arguments hold pointers, slices, maps or interfaces) and no longer spell
// as they did in s: what a function changed of the arguments it was given.
func Changed(params map[string]any, d *Digester, s Spelling) []string {
	var changed []string
	for name, v := range params {
		sp, ok := s.Spans[name]
		if !ok || !canChange(v) {
			continue
		}
		e := keyEncoder{files: d, spans: map[string]Span{}}
		if err := e.params(map[string]any{name: v}); err != nil ||
			!bytes.Equal(e.buf[e.spans[name].Start:e.spans[name].End], s.Text[sp.Start:sp.End]) {
			changed = append(changed, name)
		}
	}
	slices.Sort(changed)
	return changed
}

// canChange reports whether a function could change the argument v
// through what it holds.
func canChange(v any) bool {
	switch v := v.(type) {
	case nil, typeArg:
		return false
	case derivedKey:
		return mayChange(v.argument().Type())
	case typed:
		return mayChange(v.v.Type())
	}
	return mayChange(reflect.TypeOf(v))
}

// mayChange reports whether a function could change values of type t
// through what they hold. File inputs are paths, whose content the
// runtime checks again after a call computes (Spelling.Seen).
func mayChange(t reflect.Type) bool {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		if in, _ := inputType(t.Elem()); in {
			return false
		}
		if t.Kind() == reflect.Array {
			t = t.Elem()
			continue
		}
		break
	}
	return entry.HoldsRefs(t)
}

// room reports an error when n more bytes would take the spelling past
// maxCanonical: checked before a long value is spelled, not after, so
// that keying never holds more than that (a declared key that returns a
// 128 MiB string is refused as it is spelled).
func (e *keyEncoder) room(n int) error {
	if len(e.buf)+n > maxCanonical {
		return fmt.Errorf("the arguments spell to more than %d MiB, more than an entry holds: pass large data as a []byte or a numeric slice, which are keyed by a digest, or as a cacheruntime.File: %w", maxCanonical>>20, ErrUnkeyable)
	}
	return nil
}

// roomFor is room for the spelling of the string s as string spells it,
// escapes included: a string of control characters spells six times as
// long.
func (e *keyEncoder) roomFor(s string) error {
	if len(e.buf)+12*len(s)+2 <= maxCanonical {
		return nil // however it spells
	}
	return e.room(spelledLen(s))
}

// spelledLen is the length of the spelling string gives s.
func spelledLen(s string) int {
	n := 2
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
			n += 2
		case 0x20 <= r && r <= 0x7e:
			n++
		case r > 0xffff:
			n += 12
		default:
			n += 6
		}
	}
	return n
}

// AppendString appends the canonical spelling of the string s.
func AppendString(b []byte, s string) []byte {
	e := keyEncoder{buf: b}
	e.string(s)
	return e.buf
}

// A keyEncoder spells the params of one call. Within one parameter, a
// pointer, map or slice whose elements can hold references is spelled in
// full once, and as {"__ref__": N} where it is reached again (N counts
// the references spelled in full, in order), so that keying a value whose
// parts share memory costs its size in memory, not the size of the tree
// it unfolds to; one reached again while it is still being spelled is a
// cycle, and an error.
type keyEncoder struct {
	buf    []byte
	depth  int
	files  *Digester     // keys File and Dir values; nil means MemDigester
	inputs []entry.Input // the File and Dir values keyed, in order
	seen   Seen          // the stat of each file they read
	spans  map[string]Span

	refs   map[refID]int  // the references of this parameter spelled in full, numbered
	active map[refID]bool // the references being spelled
	spelt  map[refID]Span // where references that hold none were spelled, to copy
}

// refID identifies a reference: a pointer, map or slice, by the memory it
// refers to, its length, and its type.
type refID struct {
	p uintptr
	n int
	t reflect.Type
}

// input appends the spelling of the file input p.
func (e *keyEncoder) input(p string, glob bool) error {
	d := e.files
	if d == nil {
		d = MemDigester
	}
	in, err := d.input(p, glob, &e.seen)
	if err != nil {
		return err
	}
	e.buf = AppendInput(e.buf, in)
	e.inputs = append(e.inputs, in)
	return nil
}

func (e *keyEncoder) params(params map[string]any) (err error) {
	defer func() {
		// A method of the user's (a marshaler, a declared key) that
		// panics makes the value unkeyable, never the caller's panic.
		if r := recover(); r != nil {
			err = fmt.Errorf("keying panicked: %v: %w", r, ErrUnkeyable)
		}
	}()
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
		start := len(e.buf)
		if err := e.param(params[name]); err != nil {
			return fmt.Errorf("parameter %s: %w", name, err)
		}
		if e.spans != nil {
			e.spans[name] = Span{start, len(e.buf)}
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// param appends the spelling of one parameter's value. The values of
// params are spelled by their own types: the generator puts each argument
// under its parameter's name, so the static type is fixed by the
// signature.
func (e *keyEncoder) param(v any) error {
	e.refs, e.active, e.spelt = nil, nil, nil
	switch v := v.(type) {
	case derivedKey:
		k, err := v.keyValue()
		if err != nil {
			return err
		}
		return e.value(k, false)
	case typeArg:
		name, err := typeName(v.t)
		if err != nil {
			return err
		}
		e.string(name)
		return nil
	case typed:
		return e.value(v.v, false)
	}
	return e.value(reflect.ValueOf(v), false)
}

// natural reports whether a value of type t, held in an interface, is
// spelled plainly: these are the types a JSON decoder produces, and their
// spellings cannot be confused with one another. Values of every other
// type are tagged with their type when held in an interface.
func natural(v reflect.Value) bool {
	switch v.Type() {
	case reflect.TypeFor[bool](), reflect.TypeFor[int]():
		return true
	case reflect.TypeFor[[]any]():
		// A nil slice in an interface is not the nil interface.
		return !v.IsNil()
	case reflect.TypeFor[float64]():
		// A NaN other than the canonical one spells as an object.
		return !math.IsNaN(v.Float()) || math.Float64bits(v.Float()) == CanonicalNaN
	case reflect.TypeFor[string]():
		return utf8.ValidString(v.String())
	case reflect.TypeFor[map[string]any]():
		// A map with a reserved key spells wrapped in a tag: tag it.
		return !v.IsNil() && !hasReservedKey(v)
	}
	return false
}

// hasReservedKey reports whether a string-keyed map has a key that begins
// as the keys of tags do.
func hasReservedKey(v reflect.Value) bool {
	iter := v.MapRange()
	for iter.Next() {
		if strings.HasPrefix(iter.Key().String(), keytable.Reserved) {
			return true
		}
	}
	return false
}

// tagOpen appends {"__type__": "<t>", "__value__": and reports an error
// for a type whose name another type has too.
func (e *keyEncoder) tagOpen(t reflect.Type) error {
	name, err := typeName(t)
	if err != nil {
		return err
	}
	e.buf = append(e.buf, `{"__type__": `...)
	e.string(name)
	e.buf = append(e.buf, `, "__value__": `...)
	return nil
}

// value appends the spelling of v. dynamic is true when v was held in an
// interface, where its type must be spelled unless it is natural.
func (e *keyEncoder) value(v reflect.Value, dynamic bool) error {
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if dynamic && !natural(v) {
		if err := e.tagOpen(v.Type()); err != nil {
			return err
		}
		if err := e.value(v, false); err != nil {
			return err
		}
		e.buf = append(e.buf, '}')
		return nil
	}
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxDepth {
		return fmt.Errorf("value of type %s is nested more than %d deep: %w", v.Type(), maxDepth, ErrUnkeyable)
	}
	if err := e.room(0); err != nil {
		return err
	}

	t := v.Type()
	if in, dir := inputType(t); in {
		return e.input(v.String(), dir)
	}
	if done, err := e.own(v); done {
		return err
	}

	switch t.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		e.buf = appendFloatValue(e.buf, v)
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		e.buf = append(e.buf, `{"__type__": `...)
		e.string(t.Kind().String())
		e.buf = append(e.buf, `, "imag": `...)
		re, im := reflect.ValueOf(real(c)), reflect.ValueOf(imag(c))
		if t.Kind() == reflect.Complex64 {
			// Its parts, from its memory: converting may quiet a NaN.
			p := reflect.New(t)
			p.Elem().Set(v)
			parts := (*[2]float32)(p.UnsafePointer())
			re, im = reflect.ValueOf(parts[0]), reflect.ValueOf(parts[1])
		}
		e.buf = appendFloatValue(e.buf, im)
		e.buf = append(e.buf, `, "real": `...)
		e.buf = appendFloatValue(e.buf, re)
		e.buf = append(e.buf, '}')
	case reflect.String:
		return e.stringOrBytes(v.String(), t)
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
		return e.reference(v, refID{v.Pointer(), 0, t}, func() error {
			if spellsNull(v.Elem()) {
				// A pointer to nil must not read like a nil pointer.
				if err := e.tagOpen(t); err != nil {
					return err
				}
				e.buf = append(e.buf, "null}"...)
				return nil
			}
			return e.value(v.Elem(), false)
		})
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if v.Len() == 0 {
			return e.list(v) // shares nothing
		}
		return e.reference(v, refID{v.Pointer(), v.Len(), t}, func() error { return e.list(v) })
	case reflect.Array:
		return e.list(v)
	case reflect.Map:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.reference(v, refID{v.Pointer(), 0, t}, func() error { return e.mapValue(v) })
	case reflect.Struct:
		return e.structValue(v)
	default: // Func, Chan, UnsafePointer
		return fmt.Errorf("type %s cannot be keyed (a %s has no value to hash): %w", t, t.Kind(), ErrUnkeyable)
	}
	return nil
}

// reference spells the reference v, identified by id, with spell: in full
// the first time; where it is reached again, as a back reference when its
// elements can hold references themselves, and otherwise as a copy of its
// first spelling (so that a value and a copy of it key alike, and a slice
// reached a thousand times is hashed once); as an error when it refers to
// itself.
func (e *keyEncoder) reference(v reflect.Value, id refID, spell func() error) error {
	if !entry.HoldsRefs(v.Type().Elem()) {
		if sp, ok := e.spelt[id]; ok {
			e.buf = append(e.buf, e.buf[sp.Start:sp.End]...)
			return nil
		}
		start := len(e.buf)
		if err := spell(); err != nil {
			return err
		}
		if e.spelt == nil {
			e.spelt = map[refID]Span{}
		}
		e.spelt[id] = Span{start, len(e.buf)}
		return nil
	}
	if n, ok := e.refs[id]; ok {
		e.buf = append(e.buf, `{"__ref__": `...)
		e.buf = strconv.AppendInt(e.buf, int64(n), 10)
		e.buf = append(e.buf, '}')
		return nil
	}
	if e.active[id] {
		return fmt.Errorf("type %s: the value refers to itself (a cycle): %w", v.Type(), ErrUnkeyable)
	}
	if e.active == nil {
		e.active = map[refID]bool{}
		e.refs = map[refID]int{}
	}
	e.active[id] = true
	err := spell()
	delete(e.active, id)
	e.refs[id] = len(e.refs)
	return err
}

// spellsNull reports whether v is a nil pointer, interface, slice or map.
func spellsNull(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return v.IsNil()
	}
	return false
}

// stringOrBytes spells s as a JSON string, or, when s is not valid UTF-8
// (which a JSON string cannot hold without conflating it with U+FFFD), as a
// tagged object of its bytes in hex.
func (e *keyEncoder) stringOrBytes(s string, t reflect.Type) error {
	if utf8.ValidString(s) {
		if err := e.roomFor(s); err != nil {
			return err
		}
		e.string(s)
		return nil
	}
	name, err := typeName(t)
	if err != nil {
		return err
	}
	if err := e.room(len(`{"__hex__": "", "__type__": }`) + 2*len(s) + spelledLen(name)); err != nil {
		return err
	}
	e.buf = append(e.buf, `{"__hex__": "`...)
	e.buf = hex.AppendEncode(e.buf, []byte(s))
	e.buf = append(e.buf, `", "__type__": `...)
	e.string(name)
	e.buf = append(e.buf, '}')
	return nil
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
		e.buf = append(e.buf, `{"__type__": "[]`...)
		e.buf = append(e.buf, elem.Kind().String()...)
		e.buf = append(e.buf, '"')
		e.buf = appendDigest(e.buf, entry.BlockBytes(v), v.Len())
		e.buf = append(e.buf, '}')
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

// appendDigest appends the digest fields of raw, the bytes of n elements:
// , "len": N, "sha256": "…" up to treeChunk bytes, and over that
// , "chunk": 1048576, "len": N, "sha256tree": "…", the SHA-256 tree of the
// bytes (see sha256Tree), computed on every core. It follows a
// "__type__" field, which sorts before the fields it appends.
func appendDigest(b, raw []byte, n int) []byte { return appendDigestWith(b, raw, n) }

// An intField is a field of a digest's object beside its digest fields.
type intField struct {
	name  string
	value int64
}

// appendDigestWith is appendDigest with more integer fields, all in the
// order of their names.
func appendDigestWith(b, raw []byte, n int, more ...intField) []byte {
	var sum [sha256.Size]byte
	field := "sha256"
	fields := append(more, intField{"len", int64(n)})
	if len(raw) > treeChunk {
		sum, field = sha256Tree(raw), "sha256tree"
		fields = append(fields, intField{"chunk", treeChunk})
	} else {
		sum = sha256.Sum256(raw)
	}
	slices.SortFunc(fields, func(a, b intField) int { return strings.Compare(a.name, b.name) })
	for _, f := range fields {
		b = append(b, `, "`...)
		b = append(b, f.name...)
		b = append(b, `": `...)
		b = strconv.AppendInt(b, f.value, 10)
	}
	b = append(b, `, "`...)
	b = append(b, field...)
	b = append(b, `": "`...)
	b = hex.AppendEncode(b, sum[:])
	return append(b, '"')
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
	kt := t.Key()
	if in, _ := inputType(kt); in {
		return fmt.Errorf("type %s: a file input cannot be a map key, where it would be keyed by its path's text: use a slice of %s: %w", t, kt, ErrUnkeyable)
	}
	if problem := mapKeyProblem(kt); problem != "" {
		return fmt.Errorf("type %s: %s: %w", t, problem, ErrUnkeyable)
	}
	byText := keytable.Declares(kt, "MarshalText", textMarshalerType)
	kk := kt.Kind()
	if byText {
		kk = reflect.String
	}
	items := make([]item, 0, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		k := iter.Key()
		it := item{val: iter.Value()}
		switch {
		case byText:
			text, err := marshalText(k)
			if err != nil {
				return fmt.Errorf("map key of type %s: %w", kt, err)
			}
			it.text = string(text)
		case kk == reflect.String:
			it.text = k.String()
		case k.CanInt():
			it.num = k.Int()
			it.text = strconv.FormatInt(it.num, 10)
		default:
			it.unum = k.Uint()
			it.text = strconv.FormatUint(it.unum, 10)
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
	wrap := false
	for i, it := range items {
		if i > 0 && it.text == items[i-1].text {
			// Two keys whose text is the same would spell in an order
			// that depends on the map's iteration.
			return fmt.Errorf("type %s: two keys spell alike as %q (the text of distinct keys of type %s coincides): %w", t, it.text, kt, ErrUnkeyable)
		}
		wrap = wrap || strings.HasPrefix(it.text, keytable.Reserved)
	}
	if wrap {
		// A map whose keys read like a tag's is spelled inside a tag.
		if err := e.tagOpen(t); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '{')
	for i, it := range items {
		if i > 0 {
			e.buf = append(e.buf, ", "...)
		}
		if err := e.roomFor(it.text); err != nil {
			return err
		}
		e.string(it.text)
		e.buf = append(e.buf, ": "...)
		if err := e.value(it.val, false); err != nil {
			return fmt.Errorf("map key %q: %w", it.text, err)
		}
	}
	e.buf = append(e.buf, '}')
	if wrap {
		e.buf = append(e.buf, '}')
	}
	return nil
}

// mapKeyProblem says why map keys of type kt cannot be keyed, or "".
func mapKeyProblem(kt reflect.Type) string {
	switch {
	case kt == TimeType:
		return "time.Time map keys compare by location and monotonic clock reading, which no key can spell: key the map by the time's Unix nanoseconds or text"
	case kt.Kind() == reflect.Pointer:
		return fmt.Sprintf("map keys of type %s compare by address, which differs from run to run: key the map by a value", kt)
	case keytable.Declares(kt, "MarshalText", textMarshalerType):
		return ""
	}
	switch kt.Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return ""
	}
	return fmt.Sprintf("map keys of type %s cannot be keyed (use string or integer keys, or a key type that declares MarshalText)", kt)
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
			return fmt.Errorf("type %s has unexported field %q, which a key cannot see: %s: %w", t, f.Name, ownTypeFix, ErrUnkeyable)
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

// ownTypeFix is the advice for a struct with unexported fields.
const ownTypeFix = "export it, declare MarshalText or MarshalBinary on the type, or declare a key for it (//cache:key)"

// typeNames remembers, for each spelling of a type's name, the type that
// spelled it first in this process, so that two distinct types that spell
// alike (types of one name declared in two functions) are an error rather
// than one key.
var typeNames sync.Map // string -> reflect.Type

// typeName spells t with full package paths, so that two types of the same
// name in different packages are told apart, and reports an error when
// another type of this process spells alike.
func typeName(t reflect.Type) (string, error) {
	name := typeString(t)
	if prev, loaded := typeNames.LoadOrStore(name, t); loaded && prev.(reflect.Type) != t {
		return "", fmt.Errorf("two distinct types are both named %s (types declared in functions share their package's namespace): rename one: %w", name, ErrUnkeyable)
	}
	return name, nil
}

func typeString(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		return t.PkgPath() + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeString(t.Elem())
	case reflect.Slice:
		return "[]" + typeString(t.Elem())
	case reflect.Array:
		return "[" + strconv.Itoa(t.Len()) + "]" + typeString(t.Elem())
	case reflect.Map:
		return "map[" + typeString(t.Key()) + "]" + typeString(t.Elem())
	case reflect.Struct:
		// By package paths, not names: two packages named x declare two
		// types x.T.
		var b strings.Builder
		b.WriteString("struct {")
		for i := range t.NumField() {
			f := t.Field(i)
			if i > 0 {
				b.WriteByte(';')
			}
			b.WriteByte(' ')
			if !f.Anonymous {
				b.WriteString(f.Name + " ")
			}
			b.WriteString(typeString(f.Type))
			if f.Tag != "" {
				b.WriteString(" " + strconv.Quote(string(f.Tag)))
			}
		}
		b.WriteString(" }")
		return b.String()
	}
	return t.String()
}

// CanonicalNaN is the NaN Python's float('nan') holds, spelled NaN as
// json.dumps spells it.
const CanonicalNaN = 0x7ff8000000000000

// canonicalNaN32 is the float32 NaN that converts to CanonicalNaN.
const canonicalNaN32 = 0x7fc00000

// appendFloatValue appends the float v (float32 or float64) as Python's
// repr spells a float, keeping every bit: a NaN other than the canonical
// one is {"__type__": "NaN", "bits": "<hex>"}, its sign and payload in
// the bits of its own width.
func appendFloatValue(b []byte, v reflect.Value) []byte {
	f := v.Float()
	if !math.IsNaN(f) {
		return appendPyFloat(b, f)
	}
	var bits uint64
	var canonical bool
	if v.Kind() == reflect.Float32 {
		// Converting a float32 NaN to float64 may set its quiet bit: read
		// its own bits, from a copy of its memory.
		cp := reflect.New(v.Type())
		cp.Elem().Set(v)
		bits = uint64(*(*uint32)(cp.UnsafePointer()))
		canonical = bits == canonicalNaN32
	} else {
		bits = math.Float64bits(f)
		canonical = bits == CanonicalNaN
	}
	if canonical {
		return append(b, "NaN"...)
	}
	b = append(b, `{"__type__": "NaN", "bits": "`...)
	b = strconv.AppendUint(b, bits, 16)
	return append(b, `"}`...)
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

// TypeName returns the name of type T with full package paths.
//
// Deprecated: generated wrappers key type arguments with TypeArg, which
// refuses two distinct types of one name; wrappers generated before it
// came in call TypeName, until go generate is run again.
func TypeName[T any]() string { return typeString(reflect.TypeFor[T]()) }

// TypeArg returns type T as a parameter of a key: its name with full
// package paths. Generated wrappers of generic functions key their type
// arguments with it. Two distinct types of one name (declared in two
// functions) are an error, not one key.
func TypeArg[T any]() any { return typeArg{reflect.TypeFor[T]()} }

type typeArg struct{ t reflect.Type }

// Typed returns v as an argument of static type T. Generated wrappers of
// generic functions pass it for each parameter whose type is a type
// parameter: when T is an interface type, v is keyed with its dynamic
// type, as a value held in an interface is, so that int(1) and int64(1)
// do not share a key.
func Typed[T any](v T) any { return typed{reflect.ValueOf(&v).Elem()} }

type typed struct{ v reflect.Value }
