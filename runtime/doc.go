// Package runtime is the cache that cachegen's generated wrappers call: it
// keys a call by its arguments, loads the stored result when there is one,
// and otherwise computes, stores and returns it.
//
// What a program calls, beside the generated FCached wrappers:
//
//   - Default, the cache the wrappers use (set by CACHEGEN_DIR and the other
//     variables below), SetDefault, and WithCache, which makes a context
//     carry a cache of its own;
//   - Open, with options (WithMode, WithVerbose, WithMaxBytes, WithRemote,
//     WithSigningKey, …), for a cache in a directory of its choosing;
//   - Cache.Stats, and Invalidate and Remove to remove the entry of one
//     call;
//   - File and Dir, to key a call by the content of the files it reads.
//
// Generated code calls Do with a Call (CheckCode in its test, TypeArg for
// type parameters), imported as
//
//	import cacheruntime "github.com/cachegen/cachegen/runtime"
//
// Three packages beside it hold the rest: runtime/sweep runs grids of
// cached calls (the generated FCachedAll wrappers call it); remote is the
// shared tier behind a cache, with the Store interface that its backends
// (remote/redis, remote/s3, remote/blob) implement; and maintain lists,
// prunes, verifies and removes the entries of a cache directory or a
// shared store, as cmd/cachectl does from a shell.
//
// How a call is keyed (the canonical text of its arguments, hashed as the
// reference Python decorator hashes it, and the spelling of every Go value
// beyond JSON) is specified in docs/keys.md and docs/keyspec.md of the
// repository.
//
// # Entries
//
// Each result is one file, dir/xx/<key>.entry (its format is
// internal/entry's), written to a temporary file and renamed into place.
// Numeric slices are stored as raw blocks, so a hit on a large []float64
// costs little more than reading the file. A load checks every part of
// it: lengths, checksums, and the call and the result's type it holds. An
// entry that fails a check is a miss, logged and counted, and is replaced
// by the recomputed result. Directories are created 0700 and files 0600.
//
// # Mapped results
//
// A hit of a Call with Map (the mmap directive) on an entry of 1 MiB or
// more, in a private cache directory, on Linux, maps the entry file
// copy-on-write instead of reading it: its numeric slices are the file's
// pages, which the kernel reads as they are touched. It is checked as any
// load is (its size before it is mapped, then its framing, its checksums
// and with a signing key its MAC over the mapping), and one that fails a
// check is unmapped and is a miss. A caller that writes to its result
// changes its own copies of the pages, never the file nor a later hit. The
// entry file may be removed or replaced by rename while the result is in
// use: the mapping keeps the file it mapped. A mapping is never removed:
// a Go slice carries no cleanup, so nothing can tell when a result that
// points into one is no longer reachable. What it holds is the file's
// pages in the page cache, clean, shared with every reader of the file,
// and taken back by the kernel as it needs them, and the pages the caller
// wrote; and a removed entry's disk blocks stay in use until the process
// ends. So map results a process hits a few times (an analysis script),
// not many times over (a server). A process maps at most 1024 entries,
// and half its address-space limit where it has one; past that, entries
// are read. Only entries on a local file system are mapped: on a network
// one, another machine's removal can make an evicted page unreadable. A
// file cut short after it was mapped would fault when touched: cachegen
// never does that (entries are replaced by rename), and only the
// directory's owner can.
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
// Results round-trip exactly, or are not stored: Do stores only a result
// type that the rules cachegen applies at generate time say comes back
// exactly (entry.StoreProblem, checked once per type, so a generated
// wrapper, a generic one's instantiation and a direct call of Do agree);
// any other (an interface, any included, a type with unexported fields, a
// *regexp.Regexp) is computed on every call, with one warning per
// function, and counted in Stats().Unstorable. What is stored comes back
// with float bits including NaN payloads and -0.0 (but for a float32
// signaling NaN outside a numeric slice, which comes back quiet), nil
// versus empty slices and maps, pointers to zero values, nested structs
// and maps, and times as the same instant to the nanosecond, offset to
// the second and location: UTC and Local as themselves (a Local time in
// the loading process's Local), a named location loaded by its name (a
// load where it cannot be, or gives another offset, is a miss), a fixed
// zone with its name and offset; a time in any other location is not
// stored; monotonic clock readings are dropped. A type that declares
// MarshalBinary and UnmarshalBinary, or MarshalText and UnmarshalText,
// is stored through them, and each such store first reads its encoding
// back (a result its own UnmarshalBinary would refuse, as gonum's refuses
// an empty matrix, is returned and not stored, counted in Unstorable);
// one that declares GobEncode and GobDecode, as a function's only result
// (or behind one pointer); a Call with a Codec stores its results as
// another type (StoreAs), whose digest the entry holds. A result that
// refers to itself, reaches the same references by several paths, or
// nests more than 256 deep is returned and not stored, as a failure to
// store.
//
// No caller shares memory with another: a hit decodes its own result,
// and a caller that waited for another's computation decodes its own
// from a copy of the encoding made before the computing caller had its
// result; where the result was not stored, it computes its own.
//
// # Configuration
//
// Default reads its settings from CACHEGEN_ variables (see Default). Open
// takes the same settings as options (WithMode, WithMaxBytes, …).
//
// # Sharing a directory
//
// Several processes may use one directory (its layout is internal/disk's).
// Before computing a miss, a process takes a lock on the key that the
// kernel releases if it dies, and checks for the entry again once it has
// it: a key is computed once across processes, and a finished computation
// leaves one file, its entry. Hits record their use at most once an hour;
// the size limit and cachectl prune remove least recently used entries
// first. A reader whose entry is removed while it loads gets the whole
// entry or a clean miss.
//
// Nothing in the directory is trusted: no name or symlink leads outside
// it, only regular files are read (a FIFO is a miss, not a hang), junk
// costs one small read, and decoding an entry is bounded by its size, so
// a planted one is a miss, never an exhausted memory. Open refuses a
// directory that another user owns or others can write to, in every
// mode, unless WithSharedDir (CACHEGEN_SHARED_DIR=1).
//
// # Sharing across machines
//
// WithRemote (or CACHEGEN_REMOTE) puts a remote.Tier behind the
// directory: Redis or an object store through the packages under remote/
// (remote/redis, remote/s3, remote/blob), or a directory many machines
// mount (file:// URLs). A local miss
// asks the remote; its entry is checked exactly as a disk entry is, then
// copied to the directory. A miss takes a lease on the key in the remote
// (when the store can lease), so callers on other machines wait for its
// result instead of computing it too, and take over if the lease expires
// because its holder died; the result is then stored in both tiers. Every
// remote request has a timeout and passes a breaker, and a call's requests
// before it computes take at most half of what remained of its context
// (see remote.Options.Timeout): a remote that is down, slow or returns bad
// bytes makes calls compute locally, never fail, is logged once per
// outage and counted in Stats.RemoteErrors, and is left alone for a
// cooldown after a few failures in a row. No reply makes a caller
// allocate more than remote.Options.MaxEntry, plus remote.ReplySlack. A
// read-only remote is only read.
//
// Package maintain lists, prunes, verifies and removes the entries of a
// cache directory or of a remote tier's store, as cachectl does.
//
// WithSigningKey (or CACHEGEN_SIGNING_KEY) signs every entry written with
// an HMAC-SHA256 of the call's full key and the entry's bytes, and rejects,
// as a counted miss, every entry read from either tier that is unsigned or
// signed with another key.
package runtime
