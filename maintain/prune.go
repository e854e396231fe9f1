package maintain

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/explain"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/remote"
	"golang.org/x/sync/errgroup"
)

// PruneOptions says which entries Prune removes. Entries go least recently
// used first.
type PruneOptions struct {
	MaxBytes  int64         // when positive, remove entries until the total is at most this
	OlderThan time.Duration // when positive, remove entries computed longer ago than this
	UnusedFor time.Duration // when positive, remove entries not used for this long
	// OldVersions removes the entries of old versions: those of a function
	// that has entries of a higher version (see Entry.OldVersion).
	OldVersions bool
	// Dead removes the entries no call of the current code can be served:
	// those of old versions, and, of the functions whose code Current
	// knows, those of other code (see Entry.Dead).
	Dead bool
	// Current returns the code a function runs now, by qualified name
	// (see MarkOtherCode); it is asked as the entries are walked, once for
	// each function.
	Current func(fn string) (CurrentCode, bool)
	// Match, when not nil, limits the prune to the entries of the
	// functions it accepts, by qualified name: the others are kept.
	Match  func(fn string) bool
	DryRun bool // report what would be removed, and remove nothing
}

// Prune removes the entries that o selects and returns them (or, with
// DryRun, those it would remove), least recently used first: not those
// that another process removed first. Entries that fail their checks
// count as least recently used of all. In a cache directory, it also
// removes the temporary files that killed writers left and the lock files
// that no computation holds. A reader loading an entry that Prune removes
// gets either the whole entry or a clean miss.
func (t *Tier) Prune(ctx context.Context, o PruneOptions) ([]Entry, error) {
	if t.readOnly && !o.DryRun {
		return nil, ErrReadOnly
	}
	all, err := t.list(ctx, true)
	if err != nil {
		return nil, err
	}
	if t.dir != nil && !o.DryRun {
		t.dir.PruneMemo(t.now().Add(-keying.MemoMaxAge))
		if err := t.dir.RemoveLeftovers(ctx, t.now(), false); err != nil {
			return nil, err
		}
	}
	var before int64
	for _, e := range all {
		before += e.Size
	}
	markOldVersions(all)
	MarkOtherCode(all, o.Current)
	slices.SortStableFunc(all, func(a, b Entry) int {
		return cmp.Or(a.LastUsed.Compare(b.LastUsed), a.ComputedAt.Compare(b.ComputedAt), strings.Compare(a.Key, b.Key))
	})
	now, total := t.now(), before
	var removed []Entry
	for _, e := range all {
		drop := o.MaxBytes > 0 && total > o.MaxBytes ||
			o.OlderThan > 0 && now.Sub(e.ComputedAt) > o.OlderThan ||
			o.UnusedFor > 0 && now.Sub(e.LastUsed) > o.UnusedFor ||
			o.OldVersions && e.OldVersion ||
			o.Dead && e.Dead()
		if !drop || o.Match != nil && !o.Match(e.Func) {
			continue
		}
		total -= e.Size
		if !o.DryRun {
			if err := t.removeEntry(ctx, e.Key); errors.Is(err, fs.ErrNotExist) {
				continue // gone already: not this prune's doing
			} else if err != nil {
				return removed, err
			}
		}
		removed = append(removed, e)
	}
	return removed, nil
}

// Clear removes every entry. In a cache directory, it also removes every
// lock file no computation holds, any temporary file a killed writer
// left, anything named like one of them that is not a regular file, and
// the records of usage, of misses and of entries to copy to a shared
// store: other files are left alone, and nothing outside it is touched.
// In a shared store, it removes every value named like an entry and the
// store's signing record (see remote.Tier.Signing), so that the next
// machine with a key claims it; leases are left to expire.
func (t *Tier) Clear(ctx context.Context) error {
	if t.readOnly {
		return ErrReadOnly
	}
	if t.dir == nil {
		return t.clearShared(ctx)
	}
	err := t.dir.Walk(ctx, func(name string, kind disk.FileKind) error {
		if kind != disk.KindEntry {
			return nil
		}
		if err := t.dir.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err == nil {
		err = t.dir.RemoveLeftovers(ctx, t.now(), true)
	}
	if err != nil {
		return err
	}
	for i := range 256 {
		t.dir.Remove(disk.UsagePath(disk.HexByte(i))) // an empty shard counts itself
	}
	if r, err := t.dir.OpenRoot(false); err == nil {
		r.RemoveAll(explain.RecentDir) // the records of the entries removed, which explain misses
		r.RemoveAll(disk.PendingDir)   // and of those the shared store lacks
	}
	return t.dir.ClearMemo()
}

func (t *Tier) clearShared(ctx context.Context) error {
	s := t.shared.Store()
	var keys []string
	if err := s.List(ctx, func(e remote.StoreEntry) error {
		if checkKey(e.Key) == nil {
			keys = append(keys, e.Key)
		}
		return nil
	}); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, k := range keys {
		g.Go(func() error {
			if err := s.Delete(gctx, k); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if c, ok := s.(remote.Cleaner); ok {
		if err := c.Clean(ctx); err != nil {
			return err
		}
	}
	return t.shared.RemoveSigning(ctx)
}
