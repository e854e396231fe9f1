// Package maintain lists, prunes, verifies and removes the entries of a
// cache directory or of a shared store, as cachectl does. It is for people
// and the tools they run: the runtime stores and loads entries, and keeps
// its directory within its size limit, without it.
//
// A Tier is either. What they share is written once over what both hold:
// entries by key, each with a head that names its call. What only a
// directory keeps (the lock and temporary files of its writers, the
// records of its usage, the records that explain misses) is looked after
// only where there is one: Verify, Usage, Recount, Why and Push need a
// directory.
//
// List and Prune read each entry's head (its format, lengths and
// metadata, checked as a load checks them): an entry whose head fails
// is left out of List and removed first by Prune. Verify and Describe
// check whole entries, as a load does. Nothing outside the directory or
// store is read or removed.
package maintain

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/remote"
)

// ErrReadOnly is returned by what would change a Tier opened read-only.
var ErrReadOnly = entry.ErrReadOnly

// ErrBadKey is returned for a key that is not 16 lower-case hex digits.
var ErrBadKey = entry.ErrBadKey

// errNeedsDir is returned by what only a cache directory keeps.
var errNeedsDir = errors.New("a shared store keeps no such records: this needs a cache directory")

// A Tier is a cache directory or a shared store, seen as a person manages
// it. It is safe for concurrent use, and a program may use the cache while
// it is managed: a load of an entry that a Tier removes gets the whole
// entry or a clean miss.
type Tier struct {
	name     string
	dir      *disk.Store  // a cache directory, or nil
	shared   *remote.Tier // a shared store, or nil
	signKey  []byte
	readOnly bool
	now      func() time.Time
}

// Options configure the Tier of a cache directory.
type Options struct {
	// SigningKey, when not nil, is the key the entries are signed with
	// (see runtime.WithSigningKey): List marks those it does not verify,
	// and Describe and Verify refuse them.
	SigningKey []byte
	// Shared allows a directory that other users can write to (see
	// runtime.WithSharedDir); without it, Open refuses one.
	Shared bool
	// ReadOnly refuses every change.
	ReadOnly bool
	// Now is the clock that ages entries; nil is time.Now.
	Now func() time.Time
}

// Open returns the Tier of the cache directory dir, which it neither
// makes nor changes. A directory that does not exist holds no entries.
func Open(dir string, o Options) (*Tier, error) {
	if dir == "" {
		return nil, errors.New("the cache directory is empty: name a directory")
	}
	if err := disk.CheckPrivate(dir, o.Shared, "give a directory of your own, or, if others are meant to share results there, allow a shared one"); err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Tier{name: dir, dir: disk.New(dir, !o.Shared, o.SigningKey), signKey: o.SigningKey, readOnly: o.ReadOnly, now: now}, nil
}

// Shared returns the Tier of a shared store. signKey, when not nil, is the
// key its entries are signed with (see runtime.WithSigningKey). The
// store's options apply: a read-only store refuses to change.
func Shared(t *remote.Tier, signKey []byte) *Tier {
	return &Tier{name: t.String(), shared: t, signKey: signKey, readOnly: t.Options().ReadOnly, now: time.Now}
}

// String says where the tier is: the directory, or the store's URL
// without its secrets.
func (t *Tier) String() string { return t.name }

// IsDir reports whether the tier is a cache directory.
func (t *Tier) IsDir() bool { return t.dir != nil }

func checkKey(key string) error {
	if !entry.ValidKey(key) {
		return fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	return nil
}

// Remove removes the entry of key, reporting whether there was one.
func (t *Tier) Remove(ctx context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	if t.readOnly {
		return false, ErrReadOnly
	}
	err := t.removeEntry(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// removeEntry removes the entry of key, and what a directory keeps of it.
func (t *Tier) removeEntry(ctx context.Context, key string) error {
	if t.dir == nil {
		return t.shared.Store().Delete(ctx, key)
	}
	// No entry, no change: the update of its shard's usage record would
	// make the shard, and the directory, where there were none.
	if _, err := t.dir.Stat(disk.EntryName(key)); err != nil {
		return err
	}
	err := t.dir.RemoveEntry(disk.EntryName(key))
	if err == nil {
		t.dir.Remove(disk.PendingName(key)) // nothing left to copy to a shared store
	}
	return err
}

// Describe returns the stored result of the entry of key as text for
// people: JSON-like, with large numeric slices summarised by type, length
// and first values. The entry is checked as a load checks it.
func (t *Tier) Describe(ctx context.Context, key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	var data []byte
	var payCRC *uint32
	var err error
	if t.dir != nil {
		data, _, payCRC, err = t.dir.ReadEntry(disk.EntryName(key))
	} else {
		data, err = t.shared.Read(ctx, key, t.signKey)
	}
	if err != nil {
		return "", err
	}
	if err := entry.Check(key, data, payCRC, t.signKey); err != nil {
		return "", err
	}
	_, mb, payload, _ := entry.Parse(data, payCRC)
	m, err := entry.DecodeMeta(mb)
	if err != nil {
		return "", err
	}
	return entry.Describe(payload, m.Blocks)
}

// A PushReport is what Push did.
type PushReport struct {
	Pushed  int   // entries copied to the shared store
	Bytes   int64 // their size
	There   int   // entries the store held already
	Skipped int   // entries that failed their checks, or were removed meanwhile
}

// Push copies to the shared store to every entry of a cache directory
// that it lacks, never replacing one it holds: the results computed
// while the store could not take them, say. Each entry is checked as a
// load checks it first (with the tier's signing key, its MAC). A store
// whose entries this tier may not write (read-only, or signed with a key
// it does not hold: see runtime.WithSigningKey) is an error.
func (t *Tier) Push(ctx context.Context, to *remote.Tier) (PushReport, error) {
	var rep PushReport
	if t.dir == nil {
		return rep, fmt.Errorf("push: %w", errNeedsDir)
	}
	if to.Options().ReadOnly {
		return rep, errors.New("the remote tier is read-only")
	}
	s, err := to.Signing(ctx, t.signKey)
	if err != nil {
		return rep, err
	}
	if msg := s.Refusal(t.signKey); msg != "" {
		return rep, errors.New(msg)
	}
	var keys []string
	err = t.dir.Walk(ctx, func(name string, kind disk.FileKind) error {
		if kind == disk.KindEntry {
			keys = append(keys, disk.KeyOfName(name))
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, key := range keys {
		data, _, payCRC, err := t.dir.ReadEntry(disk.EntryName(key))
		if err == nil {
			err = entry.Check(key, data, payCRC, t.signKey)
		}
		if err != nil {
			rep.Skipped++
			continue
		}
		created, err := to.Create(ctx, key, data)
		if err != nil {
			return rep, err
		}
		if created {
			rep.Pushed++
			rep.Bytes += int64(len(data))
		} else {
			rep.There++
		}
		if !t.readOnly {
			t.dir.Remove(disk.PendingName(key))
		}
	}
	return rep, nil
}
