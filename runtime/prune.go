package runtime

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tempMaxAge is how old a temporary file must be before trimming or Verify
// removes it: a writer still working on it is long done by then.
const tempMaxAge = 10 * time.Minute

// PruneOptions says which entries Prune removes. Entries go least recently
// used first.
type PruneOptions struct {
	MaxBytes  int64         // when positive, remove entries until the total is at most this
	OlderThan time.Duration // when positive, remove entries computed longer ago than this
	UnusedFor time.Duration // when positive, remove entries not used for this long
	DryRun    bool          // report what would be removed, and remove nothing
}

// Prune removes the entries that o selects, temporary files that killed
// writers left, and lock files older than a few minutes, and returns the entries removed (or, with DryRun,
// that would be), least recently used first. Entries that fail their
// checks count as least recently used of all. A reader loading an entry
// that Prune removes gets either the whole entry or a clean miss.
func (c *Cache) Prune(o PruneOptions) ([]Entry, error) {
	if err := c.writable(); err != nil && !o.DryRun {
		return nil, err
	}
	now := c.now()
	var all []Entry
	names := map[string]string{}
	err := c.disk.walk(func(name string, kind fileKind) error {
		if kind == kindOdd {
			return nil
		}
		if kind != kindEntry {
			// Temporary files of killed writers, and lock files no
			// computation has held for a while.
			if fi, err := c.disk.stat(name); err == nil && now.Sub(fi.ModTime()) > tempMaxAge && !o.DryRun {
				c.disk.remove(name)
			}
			return nil
		}
		h, m, fi, err := c.disk.readMeta(name)
		var e Entry
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil && fi != nil:
			e = Entry{Key: strings.TrimSuffix(path.Base(name), entrySuffix), Size: fi.Size()} // corrupt: LastUsed zero, first to go
		case err != nil:
			return nil
		default:
			e = entryFromFile(h, m, fi, now)
		}
		names[e.Key] = name
		all = append(all, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pruneEntries(all, o, now, func(key string) error { return c.disk.remove(names[key]) })
}

// pruneEntries removes, with remove, the entries of all that o selects,
// least recently used first, and returns those it removed: not those that
// another process removed first.
func pruneEntries(all []Entry, o PruneOptions, now time.Time, remove func(key string) error) ([]Entry, error) {
	var total int64
	for _, e := range all {
		total += e.Size
	}
	slices.SortStableFunc(all, func(a, b Entry) int {
		return cmp.Or(a.LastUsed.Compare(b.LastUsed), strings.Compare(a.Key, b.Key))
	})
	var removed []Entry
	for _, e := range all {
		drop := o.MaxBytes > 0 && total > o.MaxBytes ||
			o.OlderThan > 0 && now.Sub(e.ComputedAt) > o.OlderThan ||
			o.UnusedFor > 0 && now.Sub(e.LastUsed) > o.UnusedFor
		if !drop {
			continue
		}
		total -= e.Size
		if !o.DryRun {
			if err := remove(e.Key); errors.Is(err, fs.ErrNotExist) {
				continue // gone already: not this prune's doing
			} else if err != nil {
				return removed, err
			}
		}
		removed = append(removed, e)
	}
	return removed, nil
}

// trimAfterWrite enforces the cache's size limit, amortised: it walks the
// directory only once a quarter of the limit has been written since the
// last walk, and then trims to three quarters of the limit.
func (c *Cache) trimAfterWrite(n int64) {
	if c.maxBytes <= 0 || c.sinceTrim.Add(n) < c.maxBytes/4 {
		return
	}
	if !c.trimming.TryLock() {
		return // another goroutine is trimming
	}
	defer c.trimming.Unlock()
	c.sinceTrim.Store(0)
	if _, err := c.Prune(PruneOptions{MaxBytes: c.maxBytes * 3 / 4}); err != nil {
		c.log.Warn(fmt.Sprintf("trimming the cache to its size limit: %v", err))
	}
}

// A Problem is an entry file that fails its checks, or a temporary file
// that a killed writer left.
type Problem struct {
	Path string
	Key  string // empty for a temporary file
	Err  error
}

// Verify checks every entry as a load does (format, lengths, checksums,
// and that the file's name and content belong to the same call) and
// reports each one that fails, and each temporary file older than a few
// minutes. With fix, it removes them.
func (c *Cache) Verify(fix bool) ([]Problem, error) {
	if fix {
		if err := c.writable(); err != nil {
			return nil, err
		}
	}
	now := c.now()
	var problems []Problem
	report := func(name string, p Problem) error {
		problems = append(problems, p)
		if fix {
			if err := c.disk.remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	err := c.disk.walk(func(name string, kind fileKind) error {
		where := c.disk.abs(name)
		switch kind {
		case kindLock:
			return nil
		case kindOdd:
			// Never read; reported, and removed by fix.
			return report(name, Problem{Path: where, Key: keyOfName(name), Err: fmt.Errorf("%w: not a regular file", errCorrupt)})
		}
		if kind == kindTemp {
			fi, err := c.disk.stat(name)
			if err != nil || now.Sub(fi.ModTime()) <= tempMaxAge {
				return nil
			}
			return report(name, Problem{Path: where, Err: errors.New("temporary file left by an interrupted write")})
		}
		key := strings.TrimSuffix(path.Base(name), entrySuffix)
		data, _, payCRC, err := c.disk.readEntry(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err == nil {
			err = checkEntry(key, data, payCRC)
		}
		if err == nil {
			return nil
		}
		return report(name, Problem{Path: where, Key: key, Err: err})
	})
	return problems, err
}

// checkEntry checks a whole entry file named key without knowing its call:
// the params it holds must hash to the key in its header and its name.
func checkEntry(key string, data []byte, payCRC *uint32) error {
	h, mb, _, err := parseEntry(data, payCRC)
	if err != nil {
		return err
	}
	m, err := decodeMeta(mb)
	if err != nil {
		return err
	}
	if sha256.Sum256(m.Params) != h.sum {
		return fmt.Errorf("%w: params do not hash to the key in the header", errCorrupt)
	}
	if hex.EncodeToString(h.sum[:8]) != key {
		return fmt.Errorf("%w: entry of key %x stored under the name %s", errCorrupt, h.sum[:8], key)
	}
	return nil
}

// ParseSize parses a size such as 500MB, 10GiB, 1.5G or 4096: units B, KB,
// MB, GB, TB (powers of 1000; K, M, G, T too) and KiB, MiB, GiB, TiB
// (powers of 1024), in any case.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || f < 0 || f*mult > 1<<62 {
		return 0, fmt.Errorf("size %q: want a number and a unit, such as 500MB or 10GiB", s)
	}
	return int64(f * mult), nil
}

// CheckDir reports whether dir is an existing cache directory: one that
// holds the README file a Cache writes there. Tools that manage caches
// call it before acting on a directory a person named. It reads no more
// of the README than its expected length, and only a regular file.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache directory %s does not exist", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if !newDiskStore(dir).hasReadme() {
		return fmt.Errorf("%s is not a cachegen cache (it has no README written by cachegen)", dir)
	}
	return nil
}
