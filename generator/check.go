package generator

import (
	"fmt"
	"go/types"
	"reflect"
	"strings"
)

// A problem says why a type cannot be keyed or stored, and how to fix it.
type problem struct {
	why, fix string
}

// implements reports whether t or *t has a method named name.
func hasMethod(t types.Type, name string) bool {
	for _, tt := range []types.Type{t, types.NewPointer(t)} {
		obj, _, _ := types.LookupFieldOrMethod(tt, true, nil, name)
		if _, ok := obj.(*types.Func); ok {
			return true
		}
	}
	return false
}

func isNamed(t types.Type, pkg, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkg && n.Obj().Name() == name
}

// keyProblem returns why values of t cannot be keyed soundly, or nil. top
// is true for a parameter's own type: an interface is refused there, since
// the runtime spells top-level arguments by their dynamic type alone.
func keyProblem(t types.Type, top bool, seen map[types.Type]bool) *problem {
	if seen[t] {
		return nil
	}
	seen[t] = true
	if isNamed(t, "time", "Time") || hasMethod(t, "MarshalText") {
		return nil
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		if u.Kind() == types.UnsafePointer {
			return &problem{"unsafe.Pointer has no value to hash", "pass the value it points to"}
		}
	case *types.Pointer:
		return keyProblem(u.Elem(), false, seen)
	case *types.Slice:
		return keyProblem(u.Elem(), false, seen)
	case *types.Array:
		return keyProblem(u.Elem(), false, seen)
	case *types.Map:
		k := u.Key()
		if isNamed(k, runtimePath, "File") || isNamed(k, runtimePath, "Dir") {
			name := "cacheruntime." + types.Unalias(k).(*types.Named).Obj().Name()
			return &problem{fmt.Sprintf("a file input (%s) cannot be a map key, where it would be keyed by its path's text", name), "use a slice of " + name}
		}
		if b, ok := k.Underlying().(*types.Basic); !hasMethod(k, "MarshalText") && (!ok || b.Info()&(types.IsString|types.IsInteger) == 0) {
			return &problem{fmt.Sprintf("map key type %s cannot be keyed", typeStr(k)), "use string or integer keys, or a key type that implements encoding.TextMarshaler"}
		}
		return keyProblem(u.Elem(), false, seen)
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			if f.Name() == "_" {
				continue
			}
			if !f.Exported() {
				return &problem{fmt.Sprintf("type %s has unexported field %q, which the key cannot see (two values differing only there would share a key)", typeStr(t), f.Name()), "export it or implement encoding.TextMarshaler"}
			}
			if p := keyProblem(f.Type(), false, seen); p != nil {
				return p
			}
		}
	case *types.Interface:
		if _, isParam := t.(*types.TypeParam); isParam {
			return nil // the type argument is part of the key
		}
		if top {
			return &problem{fmt.Sprintf("interface type %s can hold values of any type, and the key cannot tell implementations apart", typeStr(t)), "use a concrete type, or pass a name or enum that selects the implementation"}
		}
	case *types.Signature:
		return &problem{fmt.Sprintf("a func (%s) has no value the key can see, so calls with different functions would share one entry", typeStr(t)), "pass a name or enum that selects the function, or the values it would compute"}
	case *types.Chan:
		return &problem{fmt.Sprintf("a channel (%s) has no value the key can see", typeStr(t)), "pass the values it would carry"}
	}
	return nil
}

// storeProblem returns why results of type t cannot round-trip exactly
// through the cache, or nil.
func storeProblem(t types.Type, seen map[types.Type]bool) *problem {
	if seen[t] {
		return nil
	}
	seen[t] = true
	if isNamed(t, "time", "Time") || hasMethod(t, "MarshalBinary") && hasMethod(t, "UnmarshalBinary") {
		return nil
	}
	if _, ok := t.(*types.TypeParam); ok {
		return nil
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Kind() == types.UnsafePointer:
			return &problem{"unsafe.Pointer cannot be stored", "return the value it points to"}
		case u.Info()&types.IsComplex != 0:
			return &problem{fmt.Sprintf("%s cannot be stored exactly", typeStr(t)), "return its real and imaginary parts as float64"}
		}
	case *types.Pointer:
		return storeProblem(u.Elem(), seen)
	case *types.Slice:
		return storeProblem(u.Elem(), seen)
	case *types.Array:
		return storeProblem(u.Elem(), seen)
	case *types.Map:
		if p := storeProblem(u.Key(), seen); p != nil {
			return p
		}
		return storeProblem(u.Elem(), seen)
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			if f.Name() == "_" {
				continue
			}
			if !f.Exported() {
				return &problem{fmt.Sprintf("type %s has unexported field %q, which would come back zero from the cache", typeStr(t), f.Name()), "export it, or implement encoding.BinaryMarshaler and encoding.BinaryUnmarshaler"}
			}
			tag := reflect.StructTag(u.Tag(i))
			for _, key := range []string{"cbor", "json"} {
				if v, ok := tag.Lookup(key); ok && strings.Split(v, ",")[0] == "-" {
					return &problem{fmt.Sprintf("field %s of type %s is excluded from encoding by its %s:\"-\" tag and would come back zero from the cache", f.Name(), typeStr(t), key), "remove the tag"}
				}
			}
			if p := storeProblem(f.Type(), seen); p != nil {
				return p
			}
		}
	case *types.Interface:
		return &problem{fmt.Sprintf("interface type %s cannot be stored: a load cannot know which concrete type to make", typeStr(t)), "return a concrete type"}
	case *types.Signature:
		return &problem{fmt.Sprintf("a func (%s) cannot be stored", typeStr(t)), "return data instead"}
	case *types.Chan:
		return &problem{fmt.Sprintf("a channel (%s) cannot be stored", typeStr(t)), "return data instead"}
	}
	return nil
}

// typeStr spells t as a user reads it: packages by name, not path.
func typeStr(t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string { return p.Name() })
}
