// Package keying spells the arguments of a call as the canonical text its
// cache key hashes, and keys file inputs by their content.
//
// The spelling is that of the reference Python decorator,
// json.dumps(params, sort_keys=True), for every value JSON has, extended
// to every Go value a function takes (docs/keyspec.md specifies it).
// Guarantees:
//
//   - Deterministic: the same arguments give the same text, in any
//     process, on any machine, whatever map order or memory layout.
//   - Sound: two arguments that could make a function return different
//     results never spell the same. Values are spelled by their types, a
//     value held in an interface is tagged with its dynamic type, a NaN's
//     payload and a float's sign are kept, shared references are spelled
//     once and cycles refused; what cannot be spelled soundly (a func, a
//     channel, a struct with unexported fields and no declared key, a map
//     with float keys) is an error wrapping ErrUnkeyable, never a guess.
//   - Bounded: nesting deeper than 512, and text longer than an entry
//     holds, are errors; large numeric slices and byte strings are
//     spelled as a digest of their bytes; a panic in a user's method
//     (a marshaler, a declared key) makes the value unkeyable.
//   - File inputs (values of runtime.File and runtime.Dir) are spelled by their
//     content: size and SHA-256, or, for a directory or pattern, the
//     digest of the listing of its files. A Digester keeps, in the cache
//     directory, a memo of each file's digest with the stat it had when
//     hashed, trusted only while the stat is the same and the file was not
//     modified within the filesystem's clock granularity of the hash; a
//     Spelling records the stat of every file it read, so that a caller
//     can tell whether an input changed while the call computed.
package keying
