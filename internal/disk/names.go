package disk

import (
	"path"
	"path/filepath"
	"strings"

	"github.com/cachegen/cachegen/internal/entry"
)

// PendingDir holds a record for each entry that a cache with a remote tier
// stored while the remote was unreachable: an empty file named by its key.
const PendingDir = "pending"

// PendingName is the name of key's pending record.
func PendingName(key string) string { return path.Join(PendingDir, key) }

func ShardOf(key string) string         { return key[:2] }
func EntryName(key string) string       { return path.Join(ShardOf(key), key+EntrySuffix) }
func LockName(key string) string        { return path.Join(ShardOf(key), key+LockSuffix) }
func LeaseName(key string) string       { return path.Join(ShardOf(key), key+LeaseSuffix) }
func (s *Store) Abs(name string) string { return filepath.Join(s.dir, filepath.FromSlash(name)) }

// Path returns the entry file of key, for messages and tests.
func (s *Store) Path(key string) string { return s.Abs(EntryName(key)) }

// What walk finds.
type FileKind int

const (
	KindEntry FileKind = iota
	KindTemp           // a temporary file: a write in progress, or left by a killed writer
	KindLock           // a per-key lock or lease file
	KindOdd            // not a regular file, named like one of the above, or a shard that is no directory
)

// KindOf tells an entry, temporary or lock file by its name, or returns
// -1.
func KindOf(name string) FileKind {
	switch {
	case strings.HasPrefix(name, TempPrefix):
		return KindTemp
	case strings.HasSuffix(name, EntrySuffix) && entry.ValidKey(strings.TrimSuffix(name, EntrySuffix)):
		return KindEntry
	case strings.HasSuffix(name, LockSuffix) && entry.ValidKey(strings.TrimSuffix(name, LockSuffix)),
		strings.HasSuffix(name, LeaseSuffix) && entry.ValidKey(strings.TrimSuffix(name, LeaseSuffix)):
		return KindLock
	}
	return -1
}

// KeyOfName returns the key an entry, lock or lease file is named by, or "".
func KeyOfName(name string) string {
	base := path.Base(name)
	for _, suffix := range []string{EntrySuffix, LockSuffix, LeaseSuffix} {
		if k, ok := strings.CutSuffix(base, suffix); ok && entry.ValidKey(k) {
			return k
		}
	}
	return ""
}

const LeaseSuffix = ".lease"
