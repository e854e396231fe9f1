// Package disk is the local tier of a cachegen cache: one directory of
// entry files, and the same layout as a file:// shared tier.
//
// Layout. An entry is dir/xx/KEY.entry, where xx is the first two hex
// digits of its key. Beside it, each shard keeps its usage record
// xx/.usage, its lock file xx/.locks (on Linux; elsewhere xx/KEY.lock
// while KEY is computed) and, in a shared tier, xx/KEY.lease. Temporary
// files start with .tmp-; dir/memo holds the memo of file digests,
// dir/recent the record of each function's latest entries, dir/sweeps the
// compute times of sweeps.
//
// Guarantees:
//
//   - Whole or nothing: an entry is written to a temporary file in its
//     shard and renamed into place, so a reader sees the old entry whole,
//     the new one whole, or none; no temporary file outlives its writer
//     but one killed mid-write, which maintain's Clear and Prune remove
//     once it is old.
//   - Confinement: every operation goes through an os.Root of the
//     directory or, on Linux, opens names relative to the directory and
//     its shards held open, with O_NOFOLLOW, each shard checked as the
//     root checks it, so no name and no symlink planted in place of a
//     shard or an entry, or swapped in while a walk runs, leads outside
//     it. Only regular files are read, checked by lstat before
//     they are opened non-blocking and by fstat after: a FIFO or a device
//     is a miss, never a hang. Nothing is written through a file with a
//     second name (a hard link). In a private store, a file another user
//     owns, or a directory others can write to, is refused.
//   - Bounded reads: an entry's header is checked against the file's size
//     before the rest is read, so junk costs one small read, and a reader
//     never allocates more than the file holds.
//   - Locks: Lock takes a lock on a key across processes that the kernel
//     releases when its holder dies, so a crashed process never blocks the
//     others.
//   - Usage: every store and removal adds to its shard's record under a
//     brief lock of it, so the size of the cache is known by reading 256
//     small files; a record that is missing, malformed or a day old is
//     recounted, so an error in it lasts a day at most. CleanShard removes
//     a shard's least recently used entries, for the size limit.
//
// A Store is safe for concurrent use, by goroutines and by processes.
package disk
