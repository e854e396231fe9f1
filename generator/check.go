package generator

import (
	"fmt"
	"go/types"
	"reflect"
	"slices"
	"strings"

	"github.com/cachegen/cachegen/internal/keytable"
)

// A problem says why a type cannot be keyed or stored, and how to fix it.
// foreign is set when the type at fault is of another module, which the
// user cannot change: the fix is then a declared key or conversions for
// the parameter's or result's type, which the caller names.
type problem struct {
	why, fix string
	foreign  bool
}

// foreignProblem is a problem with a type of another module.
func foreignProblem(why, fix string) *problem { return &problem{why: why, fix: fix, foreign: true} }

// A checker judges types by the rules of internal/keytable, the rules the
// runtime keys and stores by, and knows the declared keys and conversions
// of the package it checks.
type checker struct {
	module string    // path of the module being generated: its types are the user's own
	decls  declFuncs // declared keys and conversions
}

// own reports whether t is declared in the user's module, where the user
// can add methods to it.
func (c *checker) own(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	p := n.Obj().Pkg().Path()
	return c.module != "" && (p == c.module || strings.HasPrefix(p, c.module+"/"))
}

// Signatures of the methods the rules count.
var (
	byteSlice  = types.NewSlice(types.Typ[types.Byte])
	errorType  = types.Universe.Lookup("error").Type()
	marshalSig = types.NewSignatureType(nil, nil, nil, nil,
		types.NewTuple(types.NewParam(0, nil, "", byteSlice), types.NewParam(0, nil, "", errorType)), false)
	unmarshalSig = types.NewSignatureType(nil, nil, nil,
		types.NewTuple(types.NewParam(0, nil, "", byteSlice)), types.NewTuple(types.NewParam(0, nil, "", errorType)), false)
)

// methodSig is the signature each counted method must have.
var methodSig = map[string]*types.Signature{
	"MarshalText": marshalSig, "MarshalBinary": marshalSig, "GobEncode": marshalSig, "MarshalCBOR": marshalSig,
	"UnmarshalText": unmarshalSig, "UnmarshalBinary": unmarshalSig, "GobDecode": unmarshalSig, "UnmarshalCBOR": unmarshalSig,
}

// lookupMethod finds the method name of t or *t, and reports whether t
// declares it itself (rather than promoting it from an embedded field).
func lookupMethod(t types.Type, name string) (found, declared bool) {
	if _, ok := t.Underlying().(*types.Interface); ok {
		return false, false
	}
	if _, ok := t.(*types.Pointer); ok {
		return false, false
	}
	obj, index, _ := types.LookupFieldOrMethod(types.NewPointer(t), false, nil, name)
	f, ok := obj.(*types.Func)
	if !ok {
		return false, false
	}
	sig := f.Type().(*types.Signature)
	if want := methodSig[name]; want != nil && !types.Identical(types.NewSignatureType(nil, nil, nil, sig.Params(), sig.Results(), sig.Variadic()), want) {
		return false, false
	}
	return true, len(index) == 1
}

// declares reports whether t itself declares the method name with the
// signature the rules expect: a promoted method does not count.
func declares(t types.Type, name string) bool {
	_, d := lookupMethod(t, name)
	return d
}

// known returns the rule of a known type.
func known(t types.Type) (keytable.KnownType, bool) {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.TypeArgs().Len() > 0 {
		return keytable.KnownType{}, false
	}
	k, ok := keytable.Known[n.Obj().Pkg().Path()+"."+n.Obj().Name()]
	return k, ok
}

// keyProblem returns why values of t cannot be keyed soundly, or nil. top
// is true for a parameter's own type: an interface is refused there unless
// it has a declared key, since the runtime spells top-level arguments by
// their dynamic type alone.
func (c *checker) keyProblem(t types.Type, top bool, seen map[types.Type]bool) *problem {
	if seen[t] {
		return nil
	}
	seen[t] = true
	if k, ok := known(t); ok {
		switch k.Rule {
		case keytable.RuleRefused:
			return &problem{why: fmt.Sprintf("%s cannot be keyed: %s", typeStr(t), k.Why), fix: "pass what it is made from (its pattern, say)"}
		case keytable.RuleFields:
			return c.fieldsProblem(t, t.Underlying().(*types.Struct), seen)
		}
		return nil
	}
	for _, m := range keytable.KeyMethods {
		if declares(t, m) {
			return nil
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		if u.Kind() == types.UnsafePointer {
			return &problem{why: "unsafe.Pointer has no value to hash", fix: "pass the value it points to"}
		}
	case *types.Pointer:
		return c.keyProblem(u.Elem(), false, seen)
	case *types.Slice:
		return c.keyProblem(u.Elem(), false, seen)
	case *types.Array:
		return c.keyProblem(u.Elem(), false, seen)
	case *types.Map:
		if p := mapKeyProblem(u.Key()); p != nil {
			return p
		}
		return c.keyProblem(u.Elem(), false, seen)
	case *types.Struct:
		return c.fieldsProblem(t, u, seen)
	case *types.Interface:
		if _, isParam := t.(*types.TypeParam); isParam {
			return nil // the type argument is part of the key
		}
		if top {
			return &problem{why: fmt.Sprintf("interface type %s can hold values of any type, and the key cannot tell implementations apart", typeStr(t)), fix: fmt.Sprintf("declare a key for it (//cache:key func key(v %s) K, returning a keyable value), use a concrete type, or pass a name or enum that selects the implementation", typeStr(t))}
		}
	case *types.Signature:
		return &problem{why: fmt.Sprintf("a func (%s) has no value the key can see, so calls with different functions would share one entry", typeStr(t)), fix: "pass a name or enum that selects the function, or the values it would compute"}
	case *types.Chan:
		return &problem{why: fmt.Sprintf("a channel (%s) has no value the key can see", typeStr(t)), fix: "pass the values it would carry"}
	}
	return nil
}

// keyFix is the fix of a problem with a parameter of type t.
func keyFix(pr *problem, t types.Type) string {
	if pr.foreign {
		return fmt.Sprintf("declare a key for %s: //cache:key func key(v %s) K, returning a keyable value made from it", typeStr(t), typeStr(t))
	}
	return pr.fix
}

// storeFix is the fix of a problem with a result of type t; single says
// whether it is its function's only result, where conversions apply.
func storeFix(pr *problem, t types.Type, single bool) string {
	if pr.foreign && !single {
		return "return a type that can be stored, or make it the function's only result and declare a pair of conversions (//cache:store and //cache:load)"
	}
	if pr.foreign {
		return fmt.Sprintf("declare a pair of conversions to a type that can be stored: //cache:store func(v %s) S and //cache:load func(s S) %s", typeStr(t), typeStr(t))
	}
	return pr.fix
}

// fieldsProblem checks the fields of a struct type t.
func (c *checker) fieldsProblem(t types.Type, u *types.Struct, seen map[types.Type]bool) *problem {
	for i := range u.NumFields() {
		f := u.Field(i)
		if f.Name() == "_" {
			continue
		}
		if !f.Exported() {
			why := fmt.Sprintf("type %s has unexported field %q, which the key cannot see (two values differing only there would share a key)", typeStr(t), f.Name())
			if c.own(t) {
				return &problem{why: why, fix: "export it, declare MarshalText or MarshalBinary on " + typeStr(t) + ", or declare a key for it (//cache:key)"}
			}
			return foreignProblem(why, fmt.Sprintf("declare a key for it: //cache:key func key(v %s) K, returning a keyable value made from it", typeStr(t)))
		}
		if p := c.keyProblem(f.Type(), false, seen); p != nil {
			return p
		}
	}
	return nil
}

// mapKeyProblem returns why map keys of type k cannot be keyed, or nil.
func mapKeyProblem(k types.Type) *problem {
	if isNamed(k, runtimePath, "File") || isNamed(k, runtimePath, "Dir") {
		name := "cacheruntime." + types.Unalias(k).(*types.Named).Obj().Name()
		return &problem{why: fmt.Sprintf("a file input (%s) cannot be a map key, where it would be keyed by its path's text", name), fix: "use a slice of " + name}
	}
	if isNamed(k, "time", "Time") {
		return &problem{why: "time.Time map keys compare by location and monotonic clock reading, which no key can spell", fix: "key the map by the time's Unix nanoseconds or text"}
	}
	if _, ok := k.Underlying().(*types.Pointer); ok {
		return &problem{why: fmt.Sprintf("map keys of type %s compare by address, which differs from run to run", typeStr(k)), fix: "key the map by a value"}
	}
	if declares(k, "MarshalText") {
		return nil
	}
	if b, ok := k.Underlying().(*types.Basic); !ok || b.Info()&(types.IsString|types.IsInteger) == 0 {
		return &problem{why: fmt.Sprintf("map key type %s cannot be keyed", typeStr(k)), fix: "use string or integer keys, or a key type that declares MarshalText"}
	}
	return nil
}

func isNamed(t types.Type, pkg, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkg && n.Obj().Name() == name
}

// holdsTime reports whether values of t hold a time.Time that their
// encoding spells (the twin of entry.HoldsTimes): a type that encodes
// itself holds none.
func holdsTime(t types.Type, seen map[types.Type]bool) bool {
	if isNamed(t, "time", "Time") {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	for _, m := range []string{"MarshalBinary", "MarshalCBOR", "MarshalText", "MarshalJSON"} {
		if found, _ := lookupMethod(t, m); found {
			return false
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Pointer:
		return holdsTime(u.Elem(), seen)
	case *types.Slice:
		return holdsTime(u.Elem(), seen)
	case *types.Array:
		return holdsTime(u.Elem(), seen)
	case *types.Map:
		return holdsTime(u.Key(), seen) || holdsTime(u.Elem(), seen)
	case *types.Struct:
		for i := range u.NumFields() {
			if f := u.Field(i); f.Exported() && holdsTime(f.Type(), seen) {
				return true
			}
		}
	}
	return false
}

// storeProblem returns why results of type t cannot round-trip exactly
// through the cache, or nil. top is true for the result itself, where a
// gob pair counts.
func (c *checker) storeProblem(t types.Type, top bool, seen map[types.Type]bool) *problem {
	if seen[t] {
		return nil
	}
	seen[t] = true
	if isNamed(t, "time", "Time") || isNamed(t, "math/big", "Int") {
		return nil // stored natively
	}
	if _, ok := t.(*types.TypeParam); ok {
		return nil
	}
	if k, ok := known(t); ok && k.ResultWhy != "" {
		if top && k.Rule != keytable.RuleRefused && declares(t, "GobEncode") && declares(t, "GobDecode") {
			return nil
		}
		return &problem{why: k.ResultWhy, fix: "return what it is made from"}
	}
	for _, m := range keytable.EncodingMethods {
		if found, declared := lookupMethod(t, m); found && !declared {
			return &problem{why: fmt.Sprintf("type %s has %s only through an embedded field, so the cache would store it as that field alone", typeStr(t), m), fix: fmt.Sprintf("declare %s and its counterpart on %s itself, or make the embedded field a named one", m, typeStr(t))}
		}
	}
	for _, p := range keytable.StorePairs {
		switch {
		case !declares(t, p[0]) || !declares(t, p[1]):
			continue
		case p[0] == "GobEncode" && !top:
			// The CBOR encoder does not know gob pairs inside other values.
			continue
		}
		return nil
	}
	if declares(t, "GobEncode") && declares(t, "GobDecode") {
		return &problem{why: fmt.Sprintf("type %s is stored through GobEncode and GobDecode only as a function's result of its own, not inside another", typeStr(t)), fix: "return it as the only result, or declare MarshalBinary and UnmarshalBinary on it"}
	}
	for _, m := range keytable.EncodingMethods {
		if un := "Un" + strings.ToLower(m[:1]) + m[1:]; strings.HasPrefix(m, "Marshal") && declares(t, m) && !declares(t, un) {
			return &problem{why: fmt.Sprintf("type %s declares %s but not %s, so the cache would store what it could not read back", typeStr(t), m, un), fix: "declare " + un + " on it"}
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Kind() == types.UnsafePointer:
			return &problem{why: "unsafe.Pointer cannot be stored", fix: "return the value it points to"}
		case u.Info()&types.IsComplex != 0:
			return &problem{why: fmt.Sprintf("%s cannot be stored exactly", typeStr(t)), fix: "return its real and imaginary parts as float64"}
		}
	case *types.Pointer:
		switch u.Elem().Underlying().(type) {
		case *types.Pointer, *types.Slice, *types.Map, *types.Interface:
			return &problem{why: fmt.Sprintf("a %s that points to a nil %s comes back from the cache as a nil pointer", typeStr(t), typeStr(u.Elem())), fix: "return the " + typeStr(u.Elem()) + " itself"}
		}
		// A gob pair counts in the result itself, or behind one pointer.
		return c.storeProblem(u.Elem(), top, seen)
	case *types.Slice:
		return c.storeProblem(u.Elem(), false, seen)
	case *types.Array:
		return c.storeProblem(u.Elem(), false, seen)
	case *types.Map:
		if holdsTime(u.Key(), map[types.Type]bool{}) {
			return &problem{why: fmt.Sprintf("a %s cannot come back exactly: a time's location and offset are stored beside the encoding, and a map key cannot be put back", typeStr(t)), fix: "key the map by the time's UnixNano(), or return a slice of pairs"}
		}
		if p := c.storeProblem(u.Key(), false, seen); p != nil {
			return p
		}
		return c.storeProblem(u.Elem(), false, seen)
	case *types.Struct:
		if p := encodedNames(t, u); p != nil {
			return p
		}
		for i := range u.NumFields() {
			f := u.Field(i)
			if f.Name() == "_" {
				continue
			}
			if !f.Exported() {
				why := fmt.Sprintf("type %s has unexported field %q, which would come back zero from the cache", typeStr(t), f.Name())
				if c.own(t) {
					return &problem{why: why, fix: "export it, or declare MarshalBinary and UnmarshalBinary (or MarshalText and UnmarshalText) on " + typeStr(t)}
				}
				return foreignProblem(why, fmt.Sprintf("declare a pair of conversions to a type that can be stored: //cache:store func(v %s) S and //cache:load func(s S) %s", typeStr(t), typeStr(t)))
			}
			tag := reflect.StructTag(u.Tag(i))
			for _, key := range []string{"cbor", "json"} {
				v, ok := tag.Lookup(key)
				if ok && strings.Split(v, ",")[0] == "-" {
					return &problem{why: fmt.Sprintf("field %s of type %s is excluded from encoding by its %s:\"-\" tag and would come back zero from the cache", f.Name(), typeStr(t), key), fix: "remove the tag"}
				}
				if opts := strings.Split(v, ",")[1:]; ok && (slices.Contains(opts, "omitempty") || slices.Contains(opts, "omitzero")) {
					switch f.Type().Underlying().(type) {
					case *types.Slice, *types.Map:
						return &problem{why: fmt.Sprintf("field %s of type %s is left out when empty (its %s tag), and an empty %s comes back nil", f.Name(), typeStr(t), key, typeStr(f.Type())), fix: "remove omitempty from the tag"}
					}
				}
			}
			if p := c.storeProblem(f.Type(), false, seen); p != nil {
				return p
			}
		}
	case *types.Interface:
		return &problem{why: fmt.Sprintf("interface type %s cannot be stored: a load cannot know which concrete type to make", typeStr(t)), fix: "return a concrete type"}
	case *types.Signature:
		return &problem{why: fmt.Sprintf("a func (%s) cannot be stored", typeStr(t)), fix: "return data instead"}
	case *types.Chan:
		return &problem{why: fmt.Sprintf("a channel (%s) cannot be stored", typeStr(t)), fix: "return data instead"}
	}
	return nil
}

// encodedNames returns a problem when two fields of struct t (its own,
// and those of the structs it embeds, which the encoder flattens) are
// encoded under one name: one of them would come back zero.
func encodedNames(t types.Type, u *types.Struct) *problem {
	seen := map[string]string{}
	var walk func(u *types.Struct, depth int) *problem
	walk = func(u *types.Struct, depth int) *problem {
		for i := range u.NumFields() {
			f := u.Field(i)
			if !f.Exported() && !f.Embedded() || f.Name() == "_" {
				continue
			}
			tag := reflect.StructTag(u.Tag(i))
			name := strings.Split(tag.Get("cbor"), ",")[0]
			if name == "" {
				name = strings.Split(tag.Get("json"), ",")[0]
			}
			if name == "-" {
				continue
			}
			ft := f.Type()
			if p, ok := ft.Underlying().(*types.Pointer); ok {
				ft = p.Elem()
			}
			if es, ok := ft.Underlying().(*types.Struct); ok && f.Embedded() && name == "" && depth < 8 {
				if !isNamed(ft, "time", "Time") && !hasEncoding(ft) {
					if p := walk(es, depth+1); p != nil {
						return p
					}
					continue
				}
			}
			if name == "" {
				name = f.Name()
			}
			key := strings.ToLower(name)
			if other, dup := seen[key]; dup {
				return &problem{why: fmt.Sprintf("fields %s and %s of type %s are encoded under one name, %q, so one would come back zero", other, f.Name(), typeStr(t), name), fix: "rename one, or give one a cbor tag of another name"}
			}
			seen[key] = f.Name()
		}
		return nil
	}
	return walk(u, 0)
}

// hasEncoding reports whether t declares a pair the encoder uses instead
// of its fields.
func hasEncoding(t types.Type) bool {
	for _, m := range keytable.EncodingMethods {
		if declares(t, m) {
			return true
		}
	}
	return false
}

// typeStr spells t as a user reads it: packages by name, not path.
func typeStr(t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string { return p.Name() })
}
