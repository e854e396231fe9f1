package disk

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
)

// PendingKeys returns the keys of the pending records whose entries the
// store holds, and removes the records of entries removed since (pruned,
// trimmed).
func (s *Store) PendingKeys() []string {
	r, err := s.OpenRoot(false)
	if err != nil {
		return nil
	}
	names, _ := fs.ReadDir(r.FS(), PendingDir)
	var keys []string
	for _, n := range names {
		if !entry.ValidKey(n.Name()) || !n.Type().IsRegular() {
			continue
		}
		if _, err := s.Stat(EntryName(n.Name())); errors.Is(err, fs.ErrNotExist) {
			s.Remove(PendingName(n.Name()))
			continue
		}
		keys = append(keys, n.Name())
	}
	return keys
}

// walkHook, when set by a test, runs after Walk has listed a shard and
// before it visits the shard's files.
var walkHook func(shard string)

// Walk calls fn, with names relative to the store's directory, for every
// entry, temporary and lock file in the store, and for whatever is named
// like one (or like a shard) but is not a regular file (or a directory)
// as KindOdd; files it does not recognise are left alone. Shards that are
// not directories (a symlink, say) are not entered.
func (s *Store) Walk(ctx context.Context, fn func(name string, kind FileKind) error) error {
	r, err := s.OpenRoot(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	subs, err := readDir(r, ".")
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := hex.DecodeString(sub.Name()); len(sub.Name()) != 2 || err != nil || strings.ToLower(sub.Name()) != sub.Name() {
			continue
		}
		if !sub.IsDir() {
			if err := fn(sub.Name(), KindOdd); err != nil {
				return err
			}
			continue
		}
		files, err := readDir(r, sub.Name())
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if walkHook != nil {
			walkHook(sub.Name())
		}
		for _, f := range files {
			kind := KindOf(f.Name())
			if kind < 0 {
				continue
			}
			if !f.Type().IsRegular() {
				kind = KindOdd
			}
			if err := fn(path.Join(sub.Name(), f.Name()), kind); err != nil {
				return err
			}
		}
	}
	return nil
}

// readDir lists a directory of the root, without following a symlink in
// its place.
func readDir(r *os.Root, name string) ([]fs.DirEntry, error) {
	if fi, err := r.Lstat(name); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: %w", name, fs.ErrNotExist)
	}
	d, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// TempMaxAge is how old a temporary file (or a lease file) must be before
// it is removed as left by a writer long gone: a writer still working on
// it is long done by then.
const TempMaxAge = 10 * time.Minute

// RemoveLeftovers removes the lock files that no computation holds and
// the temporary files and leases older than TempMaxAge at now; with all,
// every temporary and lease file, and anything named like an entry or one
// of them that is not a regular file, too, stopping at the first failure.
// Entries are left alone.
func (s *Store) RemoveLeftovers(ctx context.Context, now time.Time, all bool) error {
	return s.Walk(ctx, func(name string, kind FileKind) error {
		var err error
		switch {
		case kind == KindEntry:
			return nil
		case kind == KindLock && strings.HasSuffix(name, LockSuffix):
			err = s.RemoveFreeLock(name) // a computation's: it removes it
		case all:
			err = s.Remove(name)
		case kind == KindOdd:
			return nil
		default:
			if fi, serr := s.Stat(name); serr == nil && now.Sub(fi.ModTime()) > TempMaxAge {
				err = s.Remove(name)
			}
		}
		if all && err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}
