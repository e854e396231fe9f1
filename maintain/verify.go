package maintain

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/explain"
)

// A Problem is an entry file that fails its checks, or a temporary file
// that a killed writer left.
type Problem struct {
	Path string
	Key  string // empty for a temporary file
	Err  error
}

// A VerifyReport is what Verify found.
type VerifyReport struct {
	Checked  int // the entries checked, those with problems among them
	Problems []Problem
}

// Verify checks every entry of a cache directory as a load does (format,
// lengths, checksums, that the file's name and content belong to the same
// call, and with a signing key its MAC) and reports each one that fails,
// and each temporary file older than a few minutes. With fix, it removes
// them.
func (t *Tier) Verify(ctx context.Context, fix bool) (VerifyReport, error) {
	if t.dir == nil {
		return VerifyReport{}, fmt.Errorf("verify: %w", errNeedsDir)
	}
	if fix && t.readOnly {
		return VerifyReport{}, ErrReadOnly
	}
	now := t.now()
	var problems []Problem
	checked := 0
	report := func(name string, p Problem) error {
		problems = append(problems, p)
		if fix {
			remove := t.dir.Remove
			if disk.KindOf(path.Base(name)) == disk.KindEntry {
				remove = t.dir.RemoveEntry
			}
			if err := remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	err := t.dir.Walk(ctx, func(name string, kind disk.FileKind) error {
		where := t.dir.Abs(name)
		switch kind {
		case disk.KindLock:
			return nil
		case disk.KindOdd:
			// Never read; reported, and removed by fix.
			return report(name, Problem{Path: where, Key: disk.KeyOfName(name), Err: fmt.Errorf("%w: not a regular file", entry.ErrCorrupt)})
		case disk.KindTemp:
			fi, err := t.dir.Stat(name)
			if err != nil || now.Sub(fi.ModTime()) <= disk.TempMaxAge {
				return nil
			}
			return report(name, Problem{Path: where, Err: errors.New("temporary file left by an interrupted write")})
		}
		key := strings.TrimSuffix(path.Base(name), disk.EntrySuffix)
		data, _, payCRC, err := t.dir.ReadEntry(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		checked++
		if err == nil {
			err = entry.Check(key, data, payCRC, t.signKey)
		}
		if err == nil {
			return nil
		}
		return report(name, Problem{Path: where, Key: key, Err: err})
	})
	return VerifyReport{Checked: checked, Problems: problems}, err
}

// Usage is what entries occupy on disk (Bytes, allocated blocks) and how
// many there are.
type Usage struct {
	Bytes, Entries int64
}

// Usage returns what the entries of a cache directory occupy on disk, and
// how many there are, from the records its shards keep: a read of 256
// small files, not a walk. The figures are exact but for updates that
// writers killed between storing an entry and recording it lost since each
// shard's last recount (at most a day ago; see Recount).
func (t *Tier) Usage() (Usage, error) {
	if t.dir == nil {
		return Usage{}, fmt.Errorf("usage: %w", errNeedsDir)
	}
	u, err := t.dir.TotalUsage(!t.readOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return Usage{}, nil // no directory: no entries
	}
	return Usage(u), err
}

// Recount counts the entries of every shard of a cache directory again,
// records them, and returns the total: a walk of the cache, repairing its
// records.
func (t *Tier) Recount(ctx context.Context) (Usage, error) {
	if t.dir == nil {
		return Usage{}, fmt.Errorf("recount: %w", errNeedsDir)
	}
	if t.readOnly {
		return Usage{}, ErrReadOnly
	}
	var total Usage
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		u, err := t.dir.CountShard(disk.HexByte(i))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return total, err
		}
		t.dir.SetUsage(disk.HexByte(i), u, time.Now())
		total.Bytes += u.Bytes
		total.Entries += u.Entries
	}
	return total, nil
}

// Why explains why the entry of key in a cache directory was computed:
// what kept each entry of its function computed before it, that the
// directory holds or its record of the function's latest entries
// remembers, from serving its call (see the reasons of a verbose miss).
// It walks the directory.
func (t *Tier) Why(ctx context.Context, key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if t.dir == nil {
		return "", fmt.Errorf("why: %w", errNeedsDir)
	}
	es, err := t.List(ctx)
	if err != nil {
		return "", err
	}
	var target *Entry
	for i := range es {
		if es[i].Key == key {
			target = &es[i] // the newest, should a copied file hold it twice
			break
		}
	}
	if target == nil {
		return "", fmt.Errorf("no entry of key %s in %s: %w", key, t.name, fs.ErrNotExist)
	}
	var held []explain.Call
	present := map[string]bool{}
	for _, e := range es {
		if e.Func == target.Func && e.Key != key && e.ComputedAt.Before(target.ComputedAt) {
			held = append(held, explained(e))
			present[e.Key] = true
		}
	}
	// The function's record remembers entries since replaced or removed:
	// the earlier entry of this very key among them.
	for _, e := range explain.Recent(t.dir, target.Func, true) {
		if !present[e.Key] && e.At.Before(target.ComputedAt) {
			held = append(held, e)
		}
	}
	explain.WithParts(t.dir, target.Func, held)
	return explain.Why(explained(*target), held).String(), nil
}

// explained returns an entry as explanations compare it.
func explained(e Entry) explain.Call {
	args, _ := explain.ArgsOf(e.Args)
	return explain.Call{Key: e.Key, Version: e.Version, Code: e.Code, Accepted: e.accepted, Parts: e.parts, Args: args, At: e.ComputedAt}
}
