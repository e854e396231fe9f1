// Package runtime is the cache that cachegen's generated wrappers call: it
// keys a call by its arguments, loads the stored result when there is one,
// and otherwise computes, stores and returns it. Generated code imports it
// as
//
//	import cacheruntime "github.com/cachegen/cachegen/runtime"
//
// and each wrapper is one call of Do.
//
// # Keys
//
// A call's key is computed exactly as the reference Python decorator
// computes it, so that keys published for it are keys here too:
//
//	key = sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
//
// where params holds the arguments by parameter name plus "__fn__" (the
// function's qualified name) and "__version__" (its //cache:version=N).
// canonicalJSON returns the text that is hashed: keys sorted by code point,
// separators ", " and ": ", non-ASCII characters as \uXXXX escapes
// (lowercase hex, surrogate pairs above U+FFFF), floats as Python's repr
// spells them (300.0, 1e-05, 1e+16, -0.0, NaN, Infinity, -Infinity),
// integers of every Go type in decimal, nil as null. float32 values are
// spelled as the float64 they convert to exactly (a NaN by its own bits:
// see below).
//
// Go values that JSON has no spelling for get one deterministic spelling,
// by the rules in internal/keytable, which the generator checks by too:
//
//   - A struct is an object of its exported field names (tags are
//     ignored; an embedded field is named by its type). A struct with an
//     unexported field is an error, unless its type spells itself (below):
//     the field would silently drop out of the key.
//   - A type spells itself by a method it declares: the string of its
//     MarshalText, else {"__type__": "<type>", "len": N, "sha256": "…"},
//     the digest of its MarshalBinary bytes (as a []byte's below). A method
//     promoted from an embedded field does not count: struct{ time.Time;
//     Label string } is the object of its two fields. A method that
//     panics or fails makes the value an error.
//   - Known types have rules of their own (keytable.Known): time.Time is
//     its RFC 3339 text with nanoseconds in UTC, and elsewhere
//     "<text with the offset to the second> <zone> <location name>", where
//     zone is 16 hex digits of a digest of every zone and transition of
//     the location up to 2200 (the same named location keys alike in every
//     process with the same zone database; a fixed zone that borrows its
//     name does not), and the monotonic clock reading does not count;
//     *big.Float is "<exact mantissa and exponent> prec=P mode=M acc=A";
//     net.IP is its bytes; url.URL its fields; *regexp.Regexp is an error
//     (its text drops whether it is POSIX); gonum's mat.Dense is
//     {"__type__": "gonum.org/v1/gonum/mat.Dense", "cols": C, "len": R*C,
//     "rows": R, "sha256": "…"} over its elements in row order, read in
//     place, so that a view keys like a copy, and mat.VecDense likewise
//     without rows and cols. time.Duration is its count of nanoseconds.
//   - A pointer is spelled as its target, a nil pointer as null, and a
//     pointer to a nil value as {"__type__": "*T", "__value__": null}.
//     Within one parameter, a pointer, map or slice whose elements can hold
//     references is spelled in full where it is first reached, and as
//     {"__ref__": N} where it is reached again (N numbers the references
//     spelled in full, in order), so a value whose parts share memory costs
//     its size, not the size of the tree it unfolds to; one that refers to
//     itself is an error. Nesting deeper than 512 is an error.
//   - Maps with integer keys are objects whose keys are the decimal
//     integers, sorted numerically (as Python sorts int keys); keys of a
//     type that declares MarshalText are their text. Two keys that spell
//     alike, and keys of pointer, time, float or struct type, are an
//     error. A string-keyed map with a key that starts "__" is
//     {"__type__": "<map type>", "__value__": <the map>}, so that no map
//     spells like a tag.
//   - A string that is not valid UTF-8 is
//     {"__hex__": "<its bytes in hex>", "__type__": "string"}, so it never
//     shares a key with the string holding U+FFFD.
//   - A NaN is NaN when it is Python's (0x7ff8000000000000, or the
//     float32 0x7fc00000), and otherwise
//     {"__type__": "NaN", "bits": "<its bits in hex>"}, sign and payload.
//   - complex64 and complex128 are {"__type__": "complex128", "imag": i, "real": r}.
//   - Every []byte, and every slice or array of integers or floats longer
//     than 64 elements, is a digest of its little-endian bytes b (int and
//     uint as 64 bits): up to 1 MiB (1048576 bytes),
//     {"__type__": "[]float64", "len": N, "sha256": "<64 hex>"}, the
//     SHA-256 of b; over 1 MiB,
//     {"__type__": "[]float64", "chunk": 1048576, "len": N, "sha256tree": "<64 hex>"},
//     the SHA-256 of the concatenated 32-byte SHA-256 digests of b's
//     consecutive 1 MiB chunks (the last one shorter), whose chunks every
//     core hashes at once: keying a 64 MiB []float64 costs half a SHA-256
//     pass on two cores. (Python: see below.) Shorter numeric slices stay
//     JSON arrays.
//   - A value held in an interface (an element of []any, a field of type
//     any) is spelled plainly if its dynamic type is bool, int, float64,
//     string, []any or map[string]any (the types a JSON decoder makes, whose
//     spellings cannot be confused) and it is not a nil slice or map, and
//     otherwise as {"__type__": "<package path>.<type>", "__value__": <spelling>},
//     so that int64(1) and int(1) differ. Two distinct types of one name
//     (types declared in functions) are an error.
//   - An argument given as KeyBy(v, key) (a declared key) is spelled as
//     key(v).
//   - A File or Dir (a path to data) is keyed by the content of the files
//     it names, not by the path's text:
//     {"__type__": "file", "sha256": "<64 hex>", "size": N} for a regular
//     file, {"__type__": "dir", "count": N, "sha256": "<64 hex>", "size": BYTES}
//     for a directory or pattern (see File and Dir).
//   - Funcs, channels and unsafe pointers are an error.
//
// The "sha256tree" of bytes b, in Python:
//
//	sha256(b"".join(sha256(b[i:i + 2**20]).digest()
//	                for i in range(0, len(b), 2**20))).hexdigest()
//
// Two argument values of a parameter's type that the function could tell
// apart never share a spelling, and so never share a key except by a
// SHA-256 collision; a randomized test over many types holds this, and
// that equal values key alike in any process. Entries hold the full
// SHA-256 as well, so two calls whose keys share the 16-digit prefix are
// a miss for each other, never a wrong result. Keying never panics, and
// costs a value's size: a value is keyed, or its call gets an error
// wrapping ErrUnkeyable and is computed without the cache (as is one
// whose canonical text would pass 16 MiB, what an entry holds).
//
// What the key cannot see: the identity of a type declared in a function,
// beyond its package, name and fields (two such types of one name are an
// error in one process, but a value of each, keyed in two processes,
// spells alike); which parts of a value share memory (only back
// references of values that hold references say so); a slice's capacity;
// a time's monotonic clock reading. A declared key is as sound as the key
// it returns: it must capture all that the function reads of its
// argument.
//
// A function that changes an argument it was given (that normalizes a
// matrix in place) would have that change skipped by a hit. After a miss
// is computed, Do keys again the arguments that can change (those that
// hold pointers, slices, maps or interfaces, but for file inputs, which
// the input check follows); if one spells otherwise, the result is
// returned and not stored, callers waiting for it compute their own, a
// warning names the function and the parameter once, and Stats.Mutations
// counts it.
//
// # Entries
//
// Each result is one file, dir/xx/<key>.entry, holding a header (format,
// lengths, when it was computed and how long it took, a digest of the
// result type, the full SHA-256 of the params, the fingerprint of the code
// that computed it), the metadata (function,
// version, canonical params), the result encoded as CBOR with its numeric
// slices as raw little-endian blocks (so a hit on a large []float64 costs
// little more than reading the file, and shares its memory), and CRC-32C
// checksums. It is written to a temporary file in the same directory and
// renamed into place. A load checks every part; an entry that fails a check
// (truncated, corrupted, of another format or result type, or holding
// another call) is a miss, logged and counted, and is replaced by the
// recomputed result. Directories are created 0700 and files 0600.
//
// # Code identity
//
// Generated wrappers set Call.Code to the fingerprint cachegen computed of
// the code their function runs, and Call.Accepted to earlier fingerprints
// declared the same with cachegen -accept. An entry computed by any other
// code under the same version is a miss, logged once per function and
// counted in Stats.OtherCode: a result of other code is never served,
// whether the version bump was forgotten, a version number reused, or the
// entry written by a teammate's branch through a shared tier. In a test
// binary, the first Do of each function also compares Call.Code with the
// fingerprint of its source as it is now, and panics on a difference: code
// edited without go generate fails go test (see CheckCode). Any other
// program computes without the cache on a difference, unless it once ran
// while its source matched: then the code it runs is Call.Code's.
//
// Results round-trip exactly: float bits including NaN payloads and -0.0
// (but for a float32 signaling NaN outside a numeric slice, which comes
// back quiet), nil versus empty slices and maps, pointers to zero values,
// nested structs and maps, times (as the same instant and offset). A type
// that declares MarshalBinary and UnmarshalBinary, or MarshalText and
// UnmarshalText, is stored through them; one that declares GobEncode and
// GobDecode, as a function's only result (or behind one pointer); a Call
// with a Codec stores its results as another type (StoreAs), whose
// digest the entry holds. A result that refers to itself, reaches the
// same references by several paths, or nests more than 256 deep is
// returned and not stored, as a failure to store.
//
// # Configuration
//
// Default reads CACHEGEN_DIR (default: os.UserCacheDir()/cachegen),
// CACHEGEN_MODE (on, off, refresh, readonly, verify), CACHEGEN_VERBOSE=1,
// CACHEGEN_MAX_SIZE (such as 10GiB), CACHEGEN_REMOTE, CACHEGEN_REMOTE_MODE
// and CACHEGEN_SIGNING_KEY. Open takes the same settings as options, and
// refuses a directory other users can write to unless given WithSharedDir.
//
// # Sharing a directory
//
// Several processes may use one directory. Before computing a miss, a
// process takes a lock on the key, released by the kernel if the process
// dies (on Linux, a lock on one byte of the shard's dir/xx/.locks; on
// other systems, a flock on dir/xx/<key>.lock, which the holder removes
// once the entry is stored, and Prune and Clear remove when a killed
// holder left it), and checks for the entry again once it has the lock,
// so a key is computed once across processes and a finished computation
// leaves one file, its entry. Each shard records its entries' size on
// disk and count in dir/xx/.usage, which the size limit and Cache.Usage
// read instead of walking the directory. Hits record
// their use by touching the entry at most once an hour; Prune and the
// size limit remove least recently used entries first. A reader whose
// entry is removed while it loads gets the whole entry or a clean miss.
//
// Nothing in the directory is trusted. Every operation goes through an
// os.Root of it, so no symlink leads outside; nothing is written through a
// file with a second name (a hard link); only regular files are read,
// opened non-blocking, so a FIFO is a miss rather than a hang; an entry's
// header is checked against the file's size before the rest is read, so
// junk costs one small read; and decoding an entry is bounded by its size
// (see internal/entry's bound.go), so a planted one is a miss, never an
// exhausted memory. Open refuses a directory that
// another user owns or others can write to, in every mode, unless
// WithSharedDir (CACHEGEN_SHARED_DIR=1).
//
// # Sharing across machines
//
// WithRemote (or CACHEGEN_REMOTE) puts a shared Store behind the
// directory: Redis or an object store through the packages under remote/
// (remote/redis, remote/s3, remote/blob), or a directory many machines
// mount (file:// URLs). A local miss
// asks the remote; its entry is checked exactly as a disk entry is, then
// copied to the directory. A miss takes a lease on the key in the remote
// (when the Store is a Leaser), so callers on other machines wait for its
// result instead of computing it too, and take over if the lease expires
// because its holder died; the result is then stored in both tiers. Every
// remote request has a timeout and passes a breaker, and a call's requests
// before it computes take at most half of what remained of its context
// (see RemoteOptions.Timeout): a remote that is down, slow or returns bad
// bytes makes calls compute locally, never fail, is logged once per
// outage and counted in Stats.RemoteErrors, and is left alone for a
// cooldown after a few failures in a row. No reply makes a caller
// allocate more than RemoteOptions.MaxEntry, plus ReplySlack. A read-only
// remote is only read.
//
// WithSigningKey (or CACHEGEN_SIGNING_KEY) signs every entry written with
// an HMAC-SHA256 of the call's full key and the entry's bytes, and rejects,
// as a counted miss, every entry read from either tier that is unsigned or
// signed with another key.
//
// # Sweeps
//
// Sweep (and SweepArgs, which the generated FCachedAll wrappers call) runs
// a grid of calls: the points either tier holds are served first, the
// misses computed on a bounded number of workers, and a point another
// process or machine is computing is left for later and served from its
// entry, so processes and machines that run the same sweep split it, each
// point computed once. It reports progress on stderr (a bar on a
// terminal) and to OnProgress callbacks.
package runtime
