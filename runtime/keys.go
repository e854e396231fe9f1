package runtime

import "github.com/cachegen/cachegen/internal/keying"

// ErrUnkeyable is wrapped by the errors of Call.Key and Do
// when a value cannot be spelled soundly in a key.
var ErrUnkeyable = keying.ErrUnkeyable

// TypeName returns the name of type T with full package paths.
//
// Deprecated: generated wrappers key type arguments with TypeArg, which
// refuses two distinct types of one name; wrappers generated before it
// came in call TypeName, until go generate is run again.
func TypeName[T any]() string { return keying.TypeName[T]() }

// TypeArg returns type T as a parameter of a key: its name with full
// package paths. Generated wrappers of generic functions key their type
// arguments with it. Two distinct types of one name (declared in two
// functions) are an error, not one key.
func TypeArg[T any]() any { return keying.TypeArg[T]() }

// Typed returns v as an argument of static type T. Generated wrappers of
// generic functions pass it for each parameter whose type is a type
// parameter: when T is an interface type, v is keyed with its dynamic
// type, as a value held in an interface is, so that int(1) and int64(1)
// do not share a key.
func Typed[T any](v T) any { return keying.Typed(v) }

// KeyBy returns an argument that is keyed by what key returns for v,
// instead of by v itself: a declared key (a function annotated
// //cache:key). Generated wrappers pass it for each parameter whose type
// has a declared key. key runs each time the call is keyed, and once more
// after a miss is computed, to tell whether the function changed its
// argument; a panic in it makes the call unkeyable, and it is computed
// without the cache.
func KeyBy[T, K any](v T, key func(T) K) any { return keying.KeyBy(v, key) }
