package entry

import (
	"fmt"
	"reflect"
	"sync"
)

// checkShape walks a result before it is encoded. The encoder follows
// every reference, so a result that refers to itself would overflow its
// stack, one that reaches the same memory through many paths would be
// encoded once per path (and come back as copies), and one nested deeper
// than a decoder reads could be stored but never loaded: each is an error,
// and the result is returned without being stored.
func checkShape(v reflect.Value) error {
	w := shapeWalker{seen: map[shapeRef]bool{}, active: map[shapeRef]bool{}}
	return w.walk(v, 0)
}

// maxRepeated bounds the bytes of memory without references that a result
// may reach more than once: each time, they are encoded again.
const maxRepeated = 64 << 20

type shapeRef struct {
	p uintptr
	n int
	t reflect.Type
}

type shapeWalker struct {
	seen     map[shapeRef]bool
	active   map[shapeRef]bool
	repeated int64
}

func (w *shapeWalker) walk(v reflect.Value, depth int) error {
	if depth > maxNested {
		return fmt.Errorf("the result is nested more than %d deep, deeper than the cache reads back", maxNested)
	}
	t := v.Type()
	if t == timeType || customEncoding(t) {
		return nil // encoded by its own code
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if v.IsNil() || t.Kind() == reflect.Slice && v.Len() == 0 {
			return nil
		}
		id := shapeRef{v.Pointer(), 0, t}
		if t.Kind() == reflect.Slice {
			id.n = v.Len()
		}
		if w.active[id] {
			return fmt.Errorf("the result refers to itself (a %s in a cycle), which the cache cannot store", t)
		}
		if w.seen[id] {
			if HoldsRefs(t.Elem()) {
				return fmt.Errorf("the result reaches one %s through several paths: the cache would store a copy for each, and load them apart", t)
			}
			if w.repeated += int64(sizeOf(v)); w.repeated > maxRepeated {
				return fmt.Errorf("the result reaches the same %d MiB of memory through many paths: the cache would store it once per path", maxRepeated>>20)
			}
			return nil
		}
		w.seen[id], w.active[id] = true, true
		defer delete(w.active, id)
		switch t.Kind() {
		case reflect.Pointer:
			return w.walk(v.Elem(), depth) // not a level of the encoding
		case reflect.Map:
			if !HoldsRefs(t.Key()) && !HoldsRefs(t.Elem()) {
				return nil
			}
			iter := v.MapRange()
			for iter.Next() {
				if err := w.walk(iter.Key(), depth+1); err != nil {
					return err
				}
				if err := w.walk(iter.Value(), depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		fallthrough // a slice: its elements
	case reflect.Array:
		if !HoldsRefs(t.Elem()) {
			return nil
		}
		for i := range v.Len() {
			if err := w.walk(v.Index(i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				if err := w.walk(v.Field(i), depth+1); err != nil {
					return err
				}
			}
		}
	case reflect.Interface:
		if !v.IsNil() {
			return w.walk(v.Elem(), depth)
		}
	}
	return nil
}

// sizeOf is the bytes a slice's elements, or a pointer's or map's target,
// take in memory.
func sizeOf(v reflect.Value) uintptr {
	switch v.Kind() {
	case reflect.Slice:
		return uintptr(v.Len()) * v.Type().Elem().Size()
	case reflect.Map:
		return uintptr(v.Len()) * (v.Type().Key().Size() + v.Type().Elem().Size())
	}
	return v.Type().Elem().Size()
}

var refsOf sync.Map // reflect.Type -> bool

// HoldsRefs reports whether values of t can hold pointers, maps, slices or
// interfaces: the values through which memory can be shared (a time's
// location aside, which cannot change the time).
func HoldsRefs(t reflect.Type) bool {
	if b, ok := refsOf.Load(t); ok {
		return b.(bool)
	}
	var walk func(t reflect.Type, seen map[reflect.Type]bool) bool
	walk = func(t reflect.Type, seen map[reflect.Type]bool) bool {
		if seen[t] {
			return true // a recursive type refers to itself through a reference
		}
		seen[t] = true
		if t == timeType {
			return false
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			return true
		case reflect.Array:
			return walk(t.Elem(), seen)
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
	refsOf.Store(t, b)
	return b
}
