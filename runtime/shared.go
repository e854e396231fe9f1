package runtime

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/remote"
	"golang.org/x/sync/errgroup"
)

// Shared is a remote tier seen as Cache sees its directory: its entries
// listed, removed, pruned and described, as cachectl -remote does. The
// tier's options apply: a read-only tier refuses to change.
type Shared struct {
	t       *remote.Tier
	signKey []byte
}

// SharedEntries returns the entries of the remote tier t; signKey, if not
// nil, is the key its entries are signed with (see WithSigningKey), which
// DescribeResult checks.
func SharedEntries(t *remote.Tier, signKey []byte) *Shared {
	return &Shared{t: t, signKey: signKey}
}

// String returns the tier's URL without its secrets.
func (r *Shared) String() string { return r.t.String() }

// List returns the metadata of every valid entry in the remote store,
// newest first. Entries that fail their checks are left out. LastUsed is
// when a call last read the entry where the store keeps it (Redis), and
// when it was written otherwise. With a signing key, each entry is read
// whole, and one that the key does not verify is marked BadSignature.
func (r *Shared) List(ctx context.Context) ([]Entry, error) {
	out, err := r.list(ctx, false)
	markOldVersions(out)
	slices.SortStableFunc(out, func(a, b Entry) int { return b.ComputedAt.Compare(a.ComputedAt) })
	return out, err
}

// list reads the head of every entry, a few at a time. With withCorrupt,
// an entry that fails its checks is included with only its key and size.
func (r *Shared) list(ctx context.Context, withCorrupt bool) ([]Entry, error) {
	var infos []remote.StoreEntry
	err := r.t.Store().List(ctx, func(e remote.StoreEntry) error {
		if entry.ValidKey(e.Key) {
			infos = append(infos, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing remote %s: %w", r.t.String(), err)
	}
	now := time.Now()
	found := make([]*Entry, len(infos))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, info := range infos {
		g.Go(func() error {
			h, m, err := entry.ReadHead(r.t.ReaderAt(gctx, info.Key), info.Size)
			if err == nil && hex.EncodeToString(h.Sum[:8]) != info.Key {
				err = fmt.Errorf("%w: entry holds another call", entry.ErrCorrupt)
			}
			switch {
			case err == nil:
				e := entryFromHead(h, m, info.Size, info.LastUsed, now)
				if r.signKey != nil {
					// Read whole, a few MiB at a time.
					err := r.t.CheckSigned(gctx, info.Key, r.signKey)
					if errors.Is(err, fs.ErrNotExist) {
						return nil // removed meanwhile
					}
					if err != nil && !errors.Is(err, entry.ErrBadSignature) && !errors.Is(err, entry.ErrCorrupt) {
						return fmt.Errorf("reading entry %s of remote %s: %w", info.Key, r.t.String(), err)
					}
					e.BadSignature = err != nil
				}
				found[i] = &e
			case errors.Is(err, entry.ErrCorrupt) && withCorrupt:
				found[i] = &Entry{Key: info.Key, Size: info.Size}
			case errors.Is(err, entry.ErrCorrupt), errors.Is(err, fs.ErrNotExist):
			default:
				return fmt.Errorf("reading entry %s of remote %s: %w", info.Key, r.t.String(), err)
			}
			return nil
		})
	}
	err = g.Wait()
	var out []Entry
	for _, e := range found {
		if e != nil {
			out = append(out, *e)
		}
	}
	return out, err
}

// Remove removes the remote entry of key, reporting whether there was one.
func (r *Shared) Remove(ctx context.Context, key string) (bool, error) {
	if !entry.ValidKey(key) {
		return false, fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	if r.t.Options().ReadOnly {
		return false, ErrReadOnly
	}
	err := r.t.Store().Delete(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Clear removes every entry of the remote store (every value named like
// one) and its signing record (see remote.Tier.Signing), so that the next
// machine with a key claims it; nothing else. Leases are left to expire.
func (r *Shared) Clear(ctx context.Context) error {
	if r.t.Options().ReadOnly {
		return ErrReadOnly
	}
	var keys []string
	if err := r.t.Store().List(ctx, func(e remote.StoreEntry) error {
		if entry.ValidKey(e.Key) {
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
			if err := r.t.Store().Delete(gctx, k); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if c, ok := r.t.Store().(remote.Cleaner); ok {
		if err := c.Clean(ctx); err != nil {
			return err
		}
	}
	return r.t.RemoveSigning(ctx)
}

// DescribeResult is Cache.DescribeResult for an entry of the store.
func (r *Shared) DescribeResult(ctx context.Context, key string) (string, error) {
	if !entry.ValidKey(key) {
		return "", fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	data, err := r.t.Read(ctx, key, r.signKey)
	if err != nil {
		return "", err
	}
	return describeEntry(data, nil, key, r.signKey)
}

// Prune removes the remote entries that o selects, as Cache.Prune does
// locally, and returns them. Entries that fail their checks go first.
func (r *Shared) Prune(ctx context.Context, o PruneOptions) ([]Entry, error) {
	if r.t.Options().ReadOnly && !o.DryRun {
		return nil, ErrReadOnly
	}
	all, err := r.list(ctx, true)
	if err != nil {
		return nil, err
	}
	removed, _, err := pruneEntries(all, o, time.Now(), func(key string) error { return r.t.Store().Delete(ctx, key) })
	return removed, err
}
