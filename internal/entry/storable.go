package entry

import (
	"encoding"
	"encoding/gob"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/cachegen/cachegen/internal/keytable"
	"github.com/fxamacker/cbor/v2"
)

// StoreProblem reports why results of type t cannot come back from the
// cache exactly, or nil: the rules of internal/keytable, which the
// generator applies to go/types (generator/check.go, storeProblem) and
// this applies to reflect.Types, so that a generated wrapper, a generic
// one's instantiation and a direct call of Do get one answer. Both test
// suites run keycases.ResultCases. It is computed once per type.
func StoreProblem(t reflect.Type) error {
	if p, ok := storeProblems.Load(t); ok {
		err, _ := p.(error)
		return err
	}
	var err error
	if why := storeProblem(t, true, map[reflect.Type]bool{}); why != "" {
		err = fmt.Errorf("%s cannot be stored exactly: %s", t, why)
	}
	storeProblems.Store(t, err)
	return err
}

var storeProblems sync.Map // reflect.Type -> error (nil stored as a nil interface)

// The methods the rules count, by the interface each must satisfy.
var methodIfaces = map[string]reflect.Type{
	"MarshalText":     reflect.TypeFor[encoding.TextMarshaler](),
	"UnmarshalText":   reflect.TypeFor[encoding.TextUnmarshaler](),
	"MarshalBinary":   reflect.TypeFor[encoding.BinaryMarshaler](),
	"UnmarshalBinary": reflect.TypeFor[encoding.BinaryUnmarshaler](),
	"GobEncode":       reflect.TypeFor[gob.GobEncoder](),
	"GobDecode":       reflect.TypeFor[gob.GobDecoder](),
	"MarshalCBOR":     reflect.TypeFor[cbor.Marshaler](),
	"UnmarshalCBOR":   reflect.TypeFor[cbor.Unmarshaler](),
}

// declares reports whether t itself declares the method name.
func declares(t reflect.Type, name string) bool {
	return keytable.Declares(t, name, methodIfaces[name])
}

// has reports whether t or *t has the method name, declared or promoted.
func has(t reflect.Type, name string) bool {
	if t.Kind() == reflect.Interface || t.Kind() == reflect.Pointer && t.Name() == "" {
		return false
	}
	return t.Implements(methodIfaces[name]) || reflect.PointerTo(t).Implements(methodIfaces[name])
}

var bigIntType = reflect.TypeFor[big.Int]()

// storeProblem returns why t cannot round-trip, or "". top is true for the
// result itself, where a gob pair counts.
func storeProblem(t reflect.Type, top bool, seen map[reflect.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	if t == timeType || t == bigIntType {
		return "" // stored natively
	}
	if k, ok := knownType(t); ok && k.ResultWhy != "" {
		if top && k.Rule != keytable.RuleRefused && declares(t, "GobEncode") && declares(t, "GobDecode") {
			return ""
		}
		return k.ResultWhy
	}
	for _, m := range keytable.EncodingMethods {
		if has(t, m) && !declares(t, m) {
			return fmt.Sprintf("type %s has %s only through an embedded field, so the cache would store it as that field alone", t, m)
		}
	}
	for _, p := range keytable.StorePairs {
		if declares(t, p[0]) && declares(t, p[1]) && (p[0] != "GobEncode" || top) {
			return ""
		}
	}
	if declares(t, "GobEncode") && declares(t, "GobDecode") {
		return fmt.Sprintf("type %s is stored through GobEncode and GobDecode only as a function's result of its own, not inside another", t)
	}
	for _, m := range keytable.EncodingMethods {
		if un := "Un" + strings.ToLower(m[:1]) + m[1:]; strings.HasPrefix(m, "Marshal") && declares(t, m) && !declares(t, un) {
			return fmt.Sprintf("type %s declares %s but not %s, so the cache would store what it could not read back", t, m, un)
		}
	}
	switch t.Kind() {
	case reflect.UnsafePointer:
		return "unsafe.Pointer cannot be stored"
	case reflect.Complex64, reflect.Complex128:
		return fmt.Sprintf("%s cannot be stored exactly", t)
	case reflect.Pointer:
		switch t.Elem().Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			return fmt.Sprintf("a %s that points to a nil %s comes back from the cache as a nil pointer", t, t.Elem())
		}
		return storeProblem(t.Elem(), top, seen) // a gob pair counts behind one pointer
	case reflect.Slice, reflect.Array:
		return storeProblem(t.Elem(), false, seen)
	case reflect.Map:
		if HoldsTimes(t.Key()) {
			return fmt.Sprintf("a %s cannot come back exactly: a time's location and offset are stored beside the encoding, and a map key cannot be put back", t)
		}
		if p := storeProblem(t.Key(), false, seen); p != "" {
			return p
		}
		return storeProblem(t.Elem(), false, seen)
	case reflect.Struct:
		if p := encodedNames(t); p != "" {
			return p
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" {
				continue
			}
			if !f.IsExported() {
				return fmt.Sprintf("type %s has unexported field %q, which would come back zero from the cache", t, f.Name)
			}
			for _, key := range []string{"cbor", "json"} {
				v, ok := f.Tag.Lookup(key)
				if ok && strings.Split(v, ",")[0] == "-" {
					return fmt.Sprintf("field %s of type %s is excluded from encoding by its %s:\"-\" tag and would come back zero from the cache", f.Name, t, key)
				}
				if opts := strings.Split(v, ",")[1:]; ok && (slices.Contains(opts, "omitempty") || slices.Contains(opts, "omitzero")) {
					if k := f.Type.Kind(); k == reflect.Slice || k == reflect.Map {
						return fmt.Sprintf("field %s of type %s is left out when empty (its %s tag), and an empty %s comes back nil", f.Name, t, key, f.Type)
					}
				}
			}
			if p := storeProblem(f.Type, false, seen); p != "" {
				return p
			}
		}
	case reflect.Interface:
		return fmt.Sprintf("interface type %s cannot be stored: a load cannot know which concrete type to make", t)
	case reflect.Func:
		return fmt.Sprintf("a func (%s) cannot be stored", t)
	case reflect.Chan:
		return fmt.Sprintf("a channel (%s) cannot be stored", t)
	}
	return ""
}

// knownType returns the rule of a known type (keytable.Known).
func knownType(t reflect.Type) (keytable.KnownType, bool) {
	if t.PkgPath() == "" || t.Name() == "" || strings.Contains(t.Name(), "[") {
		return keytable.KnownType{}, false
	}
	k, ok := keytable.Known[t.PkgPath()+"."+t.Name()]
	return k, ok
}

// encodedNames returns why two fields of struct t (its own, and those of
// the structs it embeds, which the encoder flattens) are encoded under one
// name, or "".
func encodedNames(t reflect.Type) string {
	seen := map[string]string{}
	var walk func(t reflect.Type, depth int) string
	walk = func(st reflect.Type, depth int) string {
		for i := range st.NumField() {
			f := st.Field(i)
			if !f.IsExported() && !f.Anonymous || f.Name == "_" {
				continue
			}
			name := strings.Split(f.Tag.Get("cbor"), ",")[0]
			if name == "" {
				name = strings.Split(f.Tag.Get("json"), ",")[0]
			}
			if name == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && f.Anonymous && name == "" && depth < 8 && ft != timeType && !hasEncoding(ft) {
				if p := walk(ft, depth+1); p != "" {
					return p
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			key := strings.ToLower(name)
			if other, dup := seen[key]; dup {
				return fmt.Sprintf("fields %s and %s of type %s are encoded under one name, %q, so one would come back zero", other, f.Name, t, name)
			}
			seen[key] = f.Name
		}
		return ""
	}
	return walk(t, 0)
}

// hasEncoding reports whether t declares a method the encoder uses
// instead of its fields.
func hasEncoding(t reflect.Type) bool {
	for _, m := range keytable.EncodingMethods {
		if declares(t, m) {
			return true
		}
	}
	return false
}

// ReadsBack reports whether storing a result of type t runs code the
// rules cannot judge: a method of its own (MarshalBinary, GobEncode,
// MarshalText…) anywhere in it, whose bytes only its counterpart can say
// it reads back (gonum's UnmarshalBinary refuses an empty matrix its
// MarshalBinary wrote). A store of such a result decodes what it encoded
// before it writes it. Computed once per type.
func ReadsBack(t reflect.Type) bool {
	if b, ok := readsBack.Load(t); ok {
		return b.(bool)
	}
	var walk func(t reflect.Type, seen map[reflect.Type]bool) bool
	walk = func(t reflect.Type, seen map[reflect.Type]bool) bool {
		if seen[t] || t == timeType || t == bigIntType || t.Kind() == reflect.Pointer && (t.Elem() == timeType || t.Elem() == bigIntType) {
			return false
		}
		seen[t] = true
		if customEncoding(t) || gobbed(t) {
			return true
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			return walk(t.Elem(), seen)
		case reflect.Map:
			return walk(t.Key(), seen) || walk(t.Elem(), seen)
		case reflect.Struct:
			for i := range t.NumField() {
				if walk(t.Field(i).Type, seen) {
					return true
				}
			}
		}
		return false
	}
	b := walk(t, map[reflect.Type]bool{})
	readsBack.Store(t, b)
	return b
}

var readsBack sync.Map // reflect.Type -> bool
