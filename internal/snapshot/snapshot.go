// Package snapshot copies a cached call's arguments before the call
// computes, so that what it computes from is what was keyed, whatever
// another goroutine does to the caller's values meanwhile; and writes what
// the function did to its copy back into the caller's values, so that a
// function that changes its argument in place still does.
//
// A copy is deep: every pointer, slice, map and interface is followed,
// unexported fields included, and values shared within one call's
// arguments stay shared in the copy. Strings, and *time.Location (which
// programs compare by identity), are shared, as they cannot be written
// through. A type that holds what cannot be copied (a channel, a
// function, an unsafe.Pointer, a uintptr, or a type of package sync or
// sync/atomic) is not Copyable: its argument is not copied.
package snapshot

import (
	"reflect"
	"sync"
	"time"
	"unsafe"
)

var locationType = reflect.TypeFor[time.Location]()

// Copyable reports whether values of t can be copied, as far as their
// type tells: an interface's dynamic values are checked as they are
// copied.
func Copyable(t reflect.Type) bool {
	if b, ok := copyable.Load(t); ok {
		return b.(bool)
	}
	b := copyableType(t, map[reflect.Type]bool{})
	copyable.Store(t, b)
	return b
}

var copyable sync.Map // reflect.Type -> bool

func copyableType(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	if p := t.PkgPath(); p == "sync" || p == "sync/atomic" || p == "unsafe" {
		return false
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Uintptr:
		return false
	case reflect.Pointer:
		return t.Elem() == locationType || copyableType(t.Elem(), seen)
	case reflect.Slice, reflect.Array:
		return copyableType(t.Elem(), seen)
	case reflect.Map:
		return copyableType(t.Key(), seen) && copyableType(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if !copyableType(t.Field(i).Type, seen) {
				return false
			}
		}
	}
	return true
}

// A Copier makes the copies of one call's arguments: values shared among
// them are shared in the copies.
type Copier struct {
	seen map[ref]reflect.Value
}

// ref identifies what a pointer, slice or map refers to.
type ref struct {
	p   unsafe.Pointer
	t   reflect.Type
	n   int // a slice's length and capacity
	cap int
}

// Copy returns a deep copy of v, and false where v holds what cannot be
// copied (see Copyable).
func (c *Copier) Copy(v reflect.Value) (reflect.Value, bool) {
	if c.seen == nil {
		c.seen = map[ref]reflect.Value{}
	}
	if !Copyable(v.Type()) {
		return reflect.Value{}, false
	}
	src := reflect.New(v.Type()).Elem() // addressable, so that unexported fields can be read
	src.Set(v)
	out := reflect.New(v.Type()).Elem()
	if !c.into(out, src) {
		return reflect.Value{}, false
	}
	return out, true
}

// writable returns v, a field that may be unexported, as a value that
// can be set, when it is addressable.
func writable(v reflect.Value) reflect.Value {
	if v.CanSet() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// set sets dst to src where dst can be set: a caller's argument itself,
// passed by value, is not, and needs no restoring.
func set(dst, src reflect.Value) {
	if dst.CanSet() {
		dst.Set(readable(src))
	}
}

// readable returns v, a field that may be unexported, as a value whose
// Interface can be taken, when it is addressable.
func readable(v reflect.Value) reflect.Value {
	if v.CanInterface() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// into copies src into dst, a settable value of its type.
func (c *Copier) into(dst, src reflect.Value) bool {
	src = readable(src)
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return true
		}
		if src.Type().Elem() == locationType {
			dst.Set(readable(src))
			return true
		}
		k := ref{p: src.UnsafePointer(), t: src.Type()}
		if done, ok := c.seen[k]; ok {
			dst.Set(done)
			return true
		}
		p := reflect.New(src.Type().Elem())
		c.seen[k] = p
		dst.Set(p)
		return c.into(p.Elem(), src.Elem())
	case reflect.Slice:
		if src.IsNil() {
			return true
		}
		k := ref{p: src.UnsafePointer(), t: src.Type(), n: src.Len(), cap: src.Cap()}
		if done, ok := c.seen[k]; ok {
			dst.Set(done)
			return true
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Cap())
		c.seen[k] = s
		dst.Set(s)
		whole := src.Slice3(0, src.Cap(), src.Cap())
		if plain(src.Type().Elem()) {
			reflect.Copy(writable(s.Slice3(0, s.Cap(), s.Cap())), readable(whole))
			return true
		}
		for i := range src.Cap() {
			if !c.into(s.Slice3(0, s.Cap(), s.Cap()).Index(i), whole.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if src.IsNil() {
			return true
		}
		k := ref{p: src.UnsafePointer(), t: src.Type()}
		if done, ok := c.seen[k]; ok {
			dst.Set(done)
			return true
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		c.seen[k] = m
		dst.Set(m)
		iter := src.MapRange()
		for iter.Next() {
			key := reflect.New(src.Type().Key()).Elem()
			val := reflect.New(src.Type().Elem()).Elem()
			if !c.into(key, iter.Key()) || !c.into(val, iter.Value()) {
				return false
			}
			m.SetMapIndex(key, val)
		}
		return true
	case reflect.Interface:
		if src.IsNil() {
			return true
		}
		e := src.Elem()
		if !Copyable(e.Type()) {
			return false
		}
		cp := reflect.New(e.Type()).Elem()
		if !c.into(cp, e) {
			return false
		}
		dst.Set(cp)
		return true
	case reflect.Array:
		if plain(src.Type().Elem()) {
			dst.Set(readable(src))
			return true
		}
		for i := range src.Len() {
			if !c.into(dst.Index(i), src.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range src.NumField() {
			if !c.into(writable(dst.Field(i)), src.Field(i)) {
				return false
			}
		}
		return true
	}
	if src.CanInterface() {
		dst.Set(src)
	} else {
		dst.Set(readable(src))
	}
	return true
}

// plain reports whether values of t hold no references: copied as bytes.
func plain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return plain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plain(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// Restore writes what src, a copy Copy made of dst and then changed, now
// holds into what dst refers to: the pointees, elements and entries the
// caller sees through dst. Where the shapes agree (a slice of the same
// length, a non-nil pointer, map or interface on both sides), it writes
// into dst's own memory, so that other references to it see the change;
// else it sets dst to src's. dst must be settable, or addressable.
func Restore(dst, src reflect.Value) {
	restore(writable(dst), src, map[unsafe.Pointer]bool{})
}

func restore(dst, src reflect.Value, done map[unsafe.Pointer]bool) {
	dst, src = writable(dst), readable(src)
	switch src.Kind() {
	case reflect.Pointer:
		if dst.IsNil() || src.IsNil() || src.Type().Elem() == locationType {
			set(dst, src)
			return
		}
		if done[dst.UnsafePointer()] {
			return
		}
		done[dst.UnsafePointer()] = true
		restore(dst.Elem(), src.Elem(), done)
	case reflect.Slice:
		if dst.IsNil() != src.IsNil() || dst.Len() != src.Len() {
			set(dst, src)
			return
		}
		if src.Len() == 0 || done[dst.UnsafePointer()] {
			return
		}
		done[dst.UnsafePointer()] = true
		if plain(src.Type().Elem()) {
			// Bytes of values that hold no pointers: dst may be a field
			// no reflect.Copy may write, of a caller's struct.
			size := src.Len() * int(src.Type().Elem().Size())
			copy(unsafe.Slice((*byte)(dst.UnsafePointer()), size), unsafe.Slice((*byte)(src.UnsafePointer()), size))
			return
		}
		for i := range src.Len() {
			restore(writable(dst.Index(i)), src.Index(i), done)
		}
	case reflect.Map:
		if dst.IsNil() || src.IsNil() {
			set(dst, src)
			return
		}
		if done[dst.UnsafePointer()] {
			return
		}
		done[dst.UnsafePointer()] = true
		dst.Clear()
		iter := src.MapRange()
		for iter.Next() {
			dst.SetMapIndex(readable(iter.Key()), readable(iter.Value()))
		}
	case reflect.Array:
		for i := range src.Len() {
			restore(writable(dst.Index(i)), src.Index(i), done)
		}
	case reflect.Struct:
		for i := range src.NumField() {
			restore(writable(dst.Field(i)), src.Field(i), done)
		}
	default:
		set(dst, src)
	}
}
