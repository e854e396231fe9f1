package runtime

// File is a path to a data file or directory that a call reads: as a
// parameter, it is keyed by what the path holds, not by its text.
//
// A regular file is keyed by its size and the SHA-256 of its content:
//
//	{"__type__": "file", "sha256": "<64 hex>", "size": N}
//
// so the same content under another path, or on another machine, is the
// same key, and a changed file is a new one. A directory is keyed by every
// regular file under it, at any depth, as Dir describes.
//
// The path is resolved as the system resolves it (symbolic links
// followed, a ".." after a link leading out of its target). Inside a
// directory, a symbolic link to a file is followed and one to a directory
// is refused, as is anything that is not a regular file or a directory (a
// FIFO, a device, a socket); a cache directory inside it is left out. A
// path that cannot be read (missing, unreadable, refused) cannot be keyed:
// Do then computes the call without the cache, so that the function
// reports the problem itself, and logs why once per function. A result
// computed while an input file changed is returned and not stored.
//
// Keying an unchanged file costs an open and an fstat: a Cache keeps, in
// its directory, a memo of each file's digest with the device, inode,
// size, modification and change times it had when it was hashed, and
// hashes a file again only when one of them changed or when the file was
// modified within two seconds before it was hashed (a later edit in the
// same clock tick would not change its times). Where the system gives no
// inode or change time, every file is hashed at every call.
type File string

// Dir is a directory, or a glob pattern (filepath.Match syntax) naming
// files and directories, that a call reads: as a parameter, it is keyed by
// the regular files it names, at any depth:
//
//	{"__type__": "dir", "count": N, "sha256": "<64 hex>", "size": BYTES}
//
// where the digest covers each file's name relative to the directory (for
// a pattern, to the part of the pattern before its first wildcard), its
// size and the SHA-256 of its content, in name order. Adding, removing,
// renaming or changing a file changes the key; empty directories do not.
// A pattern that matches nothing, in a directory that exists, is keyed as
// no files. A Dir without wildcards, or naming a file or directory that
// exists, is keyed as a File.
type Dir string

// Files converts a list of paths to Files, so that each is keyed by its
// content. Generated wrappers use it for a []string parameter named in
// files=.
func Files[S ~string](paths []S) []File {
	if paths == nil {
		return nil
	}
	out := make([]File, len(paths))
	for i, p := range paths {
		out[i] = File(p)
	}
	return out
}
