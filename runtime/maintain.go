package runtime

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/explain"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/units"
)

// Entry is the metadata of one stored result.
type Entry struct {
	Key        string
	Func       string
	Version    int
	Params     json.RawMessage // the canonical params as hashed (Python's JSON: may hold NaN or Infinity)
	Args       json.RawMessage // Params without "__fn__" and "__version__", each file input as "path (size, sha256:…)": the arguments by name, for people
	ComputedAt time.Time
	Duration   time.Duration // how long compute took
	Size       int64         // what it occupies: allocated blocks on a local disk, its length in a remote store
	LastUsed   time.Time     // when it was last stored or loaded, to within an hour
	TTL        time.Duration // how long it stays fresh; 0 means for ever
	Stale      bool          // older than its TTL: the next call recomputes it
	Code       string        // fingerprint of the code that computed it; "" if not recorded
	Inputs     []Input       // the files and directories it was keyed by, by content
	// OldVersion is set, by List and Prune, on an entry of a function that
	// has entries of a higher version in the same cache or store, computed
	// since the entry was last used (which a hit records to within an
	// hour): after a version bump no call finds it again. An entry used
	// again after a rollback to its version is not old.
	OldVersion bool
	// OtherCode is set, by MarkOtherCode and by Prune given the current
	// code, on an entry that the function's current code does not serve:
	// computed under the current version by other code (neither the
	// current code nor one it accepts), or under a higher version (on
	// another branch, say).
	OtherCode bool

	accepted []string // the fingerprints of earlier code that its code serves, when recorded
	parts    []string // the parts of its code's fingerprint, when recorded
}

// Dead reports whether no call of the current code can be served e: it is
// of an old version, or of other code (see OldVersion and OtherCode).
func (e Entry) Dead() bool { return e.OldVersion || e.OtherCode }

// CurrentCode is what a function's code serves now, as its generated file
// records it: its version, and the fingerprints of the code whose entries
// it loads (its own, and those accepted with cachegen -accept).
type CurrentCode struct {
	Version int
	Codes   []string
}

// MarkOtherCode marks the entries of es of the functions whose current
// code current knows (by qualified name; nil knows none) by what that
// code makes of them:
// OldVersion for an entry of a lower version than the current one,
// OtherCode for one of a higher version, or of the current version and
// code it does not serve, and neither for one it serves, whatever
// List found. Entries of functions current does not know are left as
// they are: whether their code is current cannot be known. current is
// asked once for each function.
func MarkOtherCode(es []Entry, current func(fn string) (CurrentCode, bool)) {
	if current == nil {
		return
	}
	known := map[string]*CurrentCode{}
	for i := range es {
		e := &es[i]
		cur, asked := known[e.Func]
		if !asked {
			if c, ok := current(e.Func); ok {
				cur = &c
			}
			known[e.Func] = cur
		}
		if cur == nil {
			continue
		}
		e.OldVersion = e.Version < cur.Version
		e.OtherCode = e.Version > cur.Version || e.Version == cur.Version && !slices.Contains(cur.Codes, e.Code)
	}
}

// markOldVersions sets OldVersion on the entries of es that an entry of a
// higher version of their function, computed since their last use,
// supersedes.
func markOldVersions(es []Entry) {
	type fv struct {
		fn      string
		version int
	}
	newest := map[fv]time.Time{} // when each version of a function last computed an entry
	for _, e := range es {
		k := fv{e.Func, e.Version}
		if e.ComputedAt.After(newest[k]) {
			newest[k] = e.ComputedAt
		}
	}
	for i := range es {
		e := &es[i]
		e.OldVersion = false
		if e.Func == "" {
			continue
		}
		for k, at := range newest {
			if k.fn == e.Func && k.version > e.Version && at.After(e.LastUsed) {
				e.OldVersion = true
				break
			}
		}
	}
}

// Input is a file or directory (a File or Dir argument) whose content
// keyed an entry.
type Input struct {
	Path   string // absolute, as the call that computed the entry named it (for a Dir, maybe a pattern)
	Dir    bool   // a directory or pattern, keyed by the files under it
	Files  int    // for a Dir: how many regular files it held
	Size   int64  // bytes of content, in all
	SHA256 string // hex: of the content, or of a Dir's listing of names, sizes and digests
}

// String spells in as path (size, sha256:first 12 hex digits).
func (in Input) String() string {
	size := units.FormatSize(in.Size)
	if in.Dir {
		size = plural(in.Files, "file", "files") + ", " + size
	}
	return fmt.Sprintf("%s (%s, sha256:%.12s)", in.Path, size, in.SHA256)
}

// argsOf returns the params of an entry without the two names the key
// adds, spelled as they are spelled among the params.
func argsOf(m entry.Meta) json.RawMessage {
	text := string(m.Params)
	for name, v := range map[string]any{fnParam: m.Func, versionParam: m.Version} {
		b, err := keying.Canonical(map[string]any{name: v})
		if err != nil {
			continue
		}
		item := string(b[1 : len(b)-1]) // "__fn__": "…", as inside the params
		switch {
		case strings.Contains(text, ", "+item):
			text = strings.Replace(text, ", "+item, "", 1)
		case strings.Contains(text, item+", "):
			text = strings.Replace(text, item+", ", "", 1)
		default:
			text = strings.Replace(text, "{"+item+"}", "{}", 1)
		}
	}
	for _, in := range m.Inputs {
		if readable := inputOf(in).String(); utf8.ValidString(readable) {
			spelled := keying.AppendString(nil, readable) // ASCII, as the rest of the text
			text = strings.Replace(text, string(keying.AppendInput(nil, in)), string(spelled), 1)
		}
	}
	return json.RawMessage(text)
}

func inputOf(in entry.Input) Input {
	return Input{Path: in.Path, Dir: in.Dir, Files: in.Count, Size: in.Size, SHA256: hex.EncodeToString(in.Sum)}
}

// entryFromFile builds an Entry from a checked header and metadata.
func entryFromFile(h entry.Header, m entry.Meta, fi fs.FileInfo, now time.Time) Entry {
	return entryFromHead(h, m, disk.Allocated(fi), fi.ModTime(), now)
}

// entryFromHead builds an Entry from a checked header and metadata, the
// entry's size and when it was last used.
func entryFromHead(h entry.Header, m entry.Meta, size int64, lastUsed, now time.Time) Entry {
	e := Entry{
		Key:        hex.EncodeToString(h.Sum[:8]),
		Func:       m.Func,
		Version:    m.Version,
		Params:     bytes.Clone(m.Params),
		Args:       argsOf(m),
		ComputedAt: time.Unix(0, h.ComputedAt),
		Duration:   time.Duration(h.Duration),
		Size:       size,
		LastUsed:   lastUsed,
		TTL:        time.Duration(m.TTL),
	}
	for _, in := range m.Inputs {
		e.Inputs = append(e.Inputs, inputOf(in))
	}
	e.Code = codeText(h.Code)
	e.parts = m.Parts
	for _, a := range m.Accepted {
		if len(a) == 16 && isHex(a) {
			e.accepted = append(e.accepted, a)
		}
	}
	e.Stale = e.TTL > 0 && now.Sub(e.ComputedAt) > e.TTL
	return e
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// touchInterval is how stale an entry's modification time may get before
// a hit refreshes it; it bounds the precision of least-recently-used order.
const touchInterval = time.Hour

// Invalidate removes the entry of call, reporting whether there was one.
func (c *Cache) Invalidate(ctx context.Context, call Call) (bool, error) {
	id, err := call.identity(c.files)
	if err != nil {
		return false, err
	}
	return c.Remove(ctx, id.key)
}

// Remove removes the entry of key, from the remote tier too unless it is
// read-only, reporting whether there was one.
func (c *Cache) Remove(ctx context.Context, key string) (bool, error) {
	if !entry.ValidKey(key) {
		return false, fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	if err := c.writable(); err != nil {
		return false, err
	}
	err := c.disk.Delete(context.Background(), key)
	found := err == nil
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if r := c.remote; r != nil && !r.Options().ReadOnly {
		ctx, cancel := context.WithTimeout(ctx, r.Options().Timeout)
		defer cancel()
		ok, rerr := SharedEntries(r, c.signKey).Remove(ctx, key)
		found = found || ok
		err = errors.Join(err, rerr)
	}
	return found, err
}

// Clear removes every entry, every lock file no computation holds, any
// temporary file a killed writer left, and anything named like one of
// them that is not a regular file. Other files in the directory are left alone, and nothing outside
// it is touched.
func (c *Cache) Clear(ctx context.Context) error {
	if err := c.writable(); err != nil {
		return err
	}
	err := c.disk.Walk(ctx, func(name string, kind disk.FileKind) error {
		remove := c.disk.Remove
		if kind == disk.KindLock && strings.HasSuffix(name, disk.LockSuffix) {
			remove = c.disk.RemoveFreeLock // a computation's: it removes it
		}
		if err := remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range 256 {
		c.disk.Remove(disk.UsagePath(disk.HexByte(i))) // an empty shard counts itself
	}
	if r, err := c.disk.OpenRoot(false); err == nil {
		r.RemoveAll("recent") // the records of the entries removed, which explain misses
	}
	return c.disk.ClearMemo()
}

func (c *Cache) writable() error {
	switch c.mode {
	case ModeReadOnly:
		return ErrReadOnly
	case ModeOff:
		return errors.New("cache is off: nothing to remove")
	}
	return nil
}

// List returns the metadata of every valid entry, newest first. Entries
// that fail their checks are left out.
func (c *Cache) List(ctx context.Context) ([]Entry, error) {
	if c.mode == ModeOff {
		return nil, nil
	}
	var out []Entry
	now := c.now()
	err := c.disk.Walk(ctx, func(name string, kind disk.FileKind) error {
		if kind != disk.KindEntry {
			return nil
		}
		h, m, fi, err := c.disk.ReadMeta(name)
		if err != nil {
			return nil // removed meanwhile, or corrupt: not an entry
		}
		out = append(out, entryFromFile(h, m, fi, now))
		return nil
	})
	markOldVersions(out)
	slices.SortStableFunc(out, func(a, b Entry) int { return b.ComputedAt.Compare(a.ComputedAt) })
	return out, err
}

// Why explains why the entry of key was computed: what kept each entry of
// its function computed before it, that the cache holds or its record of
// the function's latest entries remembers, from serving its call (see the
// reasons of Do's verbose misses). It walks the cache: it is for people who
// ask, never for loads.
func (c *Cache) Why(ctx context.Context, key string) (string, error) {
	if !entry.ValidKey(key) {
		return "", fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	es, err := c.List(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(es, func(e Entry) bool { return e.Key == key })
	if i < 0 {
		return "", fmt.Errorf("no entry of key %s in %s: %w", key, c.dir, fs.ErrNotExist)
	}
	target := es[i]
	var held []explain.Call
	present := map[string]bool{}
	for _, e := range es {
		if e.Func == target.Func && e.Key != key && e.ComputedAt.Before(target.ComputedAt) {
			held = append(held, explainedEntry(e))
			present[e.Key] = true
		}
	}
	// The function's record remembers entries since replaced or removed:
	// the earlier entry of this very key among them.
	for _, e := range c.readRecent(target.Func, true) {
		if !present[e.Key] && e.At.Before(target.ComputedAt) {
			held = append(held, e)
		}
	}
	c.withParts(target.Func, held)
	return explain.Why(explainedEntry(target), held).String(), nil
}

// explainedEntry returns an entry as explanations compare it.
func explainedEntry(e Entry) explain.Call {
	args, _ := explain.ArgsOf(e.Args)
	return explain.Call{Key: e.Key, Version: e.Version, Code: e.Code, Accepted: e.accepted, Parts: e.parts, Args: args, At: e.ComputedAt}
}

// tempMaxAge is how old a temporary file must be before trimming or Verify
// removes it: a writer still working on it is long done by then.
const tempMaxAge = 10 * time.Minute

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
	DryRun  bool // report what would be removed, and remove nothing

	keep    string // a key never removed: the entry a trim was started for
	trigger int64  // when positive, MaxBytes applies only to a total over it
}

// Prune removes the entries that o selects, temporary files that killed
// writers left, and lock files that no computation holds, and returns the
// entries removed (or, with DryRun, that would be), least recently used
// first. Entries that fail their
// checks count as least recently used of all. A reader loading an entry
// that Prune removes gets either the whole entry or a clean miss.
func (c *Cache) Prune(ctx context.Context, o PruneOptions) ([]Entry, error) {
	removed, _, err := c.prune(ctx, o)
	return removed, err
}

// prune is Prune, also returning the bytes of entries there were.
func (c *Cache) prune(ctx context.Context, o PruneOptions) ([]Entry, int64, error) {
	if err := c.writable(); err != nil && !o.DryRun {
		return nil, 0, err
	}
	now := c.now()
	var all []Entry
	names := map[string]string{}
	err := c.disk.Walk(ctx, func(name string, kind disk.FileKind) error {
		if kind == disk.KindOdd {
			return nil
		}
		if kind != disk.KindEntry {
			// Lock files that killed holders left, and temporary files
			// and leases of killed writers.
			switch {
			case o.DryRun:
			case strings.HasSuffix(name, disk.LockSuffix):
				c.disk.RemoveFreeLock(name)
			default:
				if fi, err := c.disk.Stat(name); err == nil && now.Sub(fi.ModTime()) > tempMaxAge {
					c.disk.Remove(name)
				}
			}
			return nil
		}
		h, m, fi, err := c.disk.ReadMeta(name)
		var e Entry
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil && fi != nil:
			e = Entry{Key: strings.TrimSuffix(path.Base(name), disk.EntrySuffix), Size: disk.Allocated(fi)} // corrupt: LastUsed zero, first to go
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
		return nil, 0, err
	}
	if o.DryRun {
		return pruneEntries(all, o, now, func(string) error { return nil })
	}
	c.disk.PruneMemo(now.Add(-keying.MemoMaxAge))
	// Each removal is taken from its shard's usage record, under its lock,
	// so that stores made meanwhile by other processes are kept in it.
	return pruneEntries(all, o, now, func(key string) error { return c.disk.RemoveEntry(names[key]) })
}

// pruneEntries removes, with remove, the entries of all that o selects,
// least recently used first, and returns those it removed: not those that
// another process removed first.
func pruneEntries(all []Entry, o PruneOptions, now time.Time, remove func(key string) error) ([]Entry, int64, error) {
	var before int64
	for _, e := range all {
		before += e.Size
	}
	markOldVersions(all)
	MarkOtherCode(all, o.Current)
	slices.SortStableFunc(all, func(a, b Entry) int {
		return cmp.Or(a.LastUsed.Compare(b.LastUsed), a.ComputedAt.Compare(b.ComputedAt), strings.Compare(a.Key, b.Key))
	})
	total := before
	if o.trigger > 0 && before <= o.trigger {
		o.MaxBytes = 0 // under the limit: nothing to trim
	}
	var removed []Entry
	for _, e := range all {
		drop := o.MaxBytes > 0 && total > o.MaxBytes ||
			o.OlderThan > 0 && now.Sub(e.ComputedAt) > o.OlderThan ||
			o.UnusedFor > 0 && now.Sub(e.LastUsed) > o.UnusedFor ||
			o.OldVersions && e.OldVersion ||
			o.Dead && e.Dead()
		if !drop || e.Key == o.keep {
			continue
		}
		total -= e.Size
		if !o.DryRun {
			if err := remove(e.Key); errors.Is(err, fs.ErrNotExist) {
				continue // gone already: not this prune's doing
			} else if err != nil {
				return removed, before, err
			}
		}
		removed = append(removed, e)
	}
	return removed, before, nil
}

// shardCleanMin is the number of entries from which a shard over its
// share of the size limit is cleaned on its own; a shard with fewer (a
// cache of fewer than about 4,000 entries, or of entries large for the
// limit) has the whole cache trimmed instead, which such a cache can
// afford, least recently used first across all its entries.
var shardCleanMin int64 = 16

// trim enforces the cache's size limit after a store, or the first hit,
// in the shard of keep, whose usage is u (when counted). A shard holds
// 1/256 of the entries, keys being hashes, and is allowed 1/256 of the
// limit: a shard over its share is cleaned, least recently used first, to
// three quarters of its share, never removing keep, the entry just
// written or loaded. So no store walks more than its own shard. In a
// small cache (see shardCleanMin), the whole cache is trimmed instead
// (trimWhole).
func (c *Cache) trim(n int64, keep string, u disk.Usage, counted bool) {
	if c.maxBytes <= 0 || c.mode == ModeReadOnly || !counted {
		return
	}
	share := c.maxBytes / 256
	if u.Bytes <= share {
		return
	}
	if u.Entries < shardCleanMin {
		c.trimWhole((n+4095)&^4095, keep)
		return
	}
	removed, after, err := c.disk.CleanShard(disk.ShardOf(keep), share*3/4, keep)
	if err != nil {
		c.log.Warn("could not trim the cache to its size limit", "dir", c.dir, "limit", c.maxBytes, "err", err)
		return
	}
	var freed int64
	for _, f := range removed {
		freed += f.Disk
	}
	c.logTrim(fmt.Sprintf("[TRIM] removed %s of shard %s, the least recently used, to keep it within its share of the size limit",
		plural(len(removed), "entry", "entries"), disk.ShardOf(keep)),
		"removed", len(removed), "bytes", freed, "shard_after", after.Bytes, "share", share, "limit", c.maxBytes)
}

// trimOnHit checks, at a process's first hit, the shard of key: a cache
// over its limit is trimmed by processes that only hit, too.
func (c *Cache) trimOnHit(key string) {
	if c.maxBytes <= 0 || c.mode == ModeReadOnly || c.trimmed.Swap(true) {
		return
	}
	u, err := c.disk.ReadUsage(disk.ShardOf(key), true)
	c.trim(0, key, u, err == nil)
}

func (c *Cache) logTrim(msg string, args ...any) {
	level := slog.LevelDebug
	if c.verbose {
		level = slog.LevelInfo
	}
	c.log.Log(context.Background(), level, msg, args...)
}

// trimWhole enforces the size limit of a small cache, amortised. It walks
// the whole directory at a process's first store or first hit, and then
// only once the last walk's headroom (what the limit left free, at most a
// quarter of it) has been written (n is what a store just wrote; 0 for a
// hit); when the cache is over its limit, and only then, it removes the
// least recently used entries until three quarters of the limit remain,
// never the entry of keep, which was just written or loaded.
func (c *Cache) trimWhole(n int64, keep string) {
	if n > 0 && c.sinceTrim.Add(n) < c.maxBytes/4 {
		return
	}
	if !c.trimming.TryLock() {
		return // another goroutine is trimming
	}
	defer c.trimming.Unlock()
	c.sinceTrim.Store(0)
	c.trimmed.Store(true)
	target := c.maxBytes * 3 / 4
	removed, before, err := c.prune(context.Background(), PruneOptions{MaxBytes: target, trigger: c.maxBytes, keep: keep})
	if err != nil {
		c.log.Warn("could not trim the cache to its size limit", "dir", c.dir, "limit", c.maxBytes, "err", err)
	}
	var freed int64
	for _, e := range removed {
		freed += e.Size
	}
	// Walk again once what the limit leaves free has been written, so
	// that this process never takes the cache over its limit by more than
	// one store.
	if headroom := c.maxBytes - (before - freed); err == nil && headroom < c.maxBytes/4 {
		c.sinceTrim.Add(c.maxBytes/4 - max(headroom, 0))
	}
	if len(removed) == 0 {
		return
	}
	c.logTrim(fmt.Sprintf("[TRIM] removed %s, the least recently used, to bring the cache under its size limit",
		plural(len(removed), "entry", "entries")),
		"removed", len(removed), "bytes", freed, "before", before, "after", before-freed, "limit", c.maxBytes, "target", target)
}

// plural spells n things: 1 entry, 2 entries.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

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

// Verify checks every entry as a load does (format, lengths, checksums,
// and that the file's name and content belong to the same call) and
// reports each one that fails, and each temporary file older than a few
// minutes. With fix, it removes them.
func (c *Cache) Verify(ctx context.Context, fix bool) (VerifyReport, error) {
	if fix {
		if err := c.writable(); err != nil {
			return VerifyReport{}, err
		}
	}
	now := c.now()
	var problems []Problem
	checked := 0
	report := func(name string, p Problem) error {
		problems = append(problems, p)
		if fix {
			remove := c.disk.Remove
			if disk.KindOf(path.Base(name)) == disk.KindEntry {
				remove = c.disk.RemoveEntry
			}
			if err := remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	err := c.disk.Walk(ctx, func(name string, kind disk.FileKind) error {
		where := c.disk.Abs(name)
		switch kind {
		case disk.KindLock:
			return nil
		case disk.KindOdd:
			// Never read; reported, and removed by fix.
			return report(name, Problem{Path: where, Key: disk.KeyOfName(name), Err: fmt.Errorf("%w: not a regular file", entry.ErrCorrupt)})
		}
		if kind == disk.KindTemp {
			fi, err := c.disk.Stat(name)
			if err != nil || now.Sub(fi.ModTime()) <= tempMaxAge {
				return nil
			}
			return report(name, Problem{Path: where, Err: errors.New("temporary file left by an interrupted write")})
		}
		key := strings.TrimSuffix(path.Base(name), disk.EntrySuffix)
		data, _, payCRC, err := c.disk.ReadEntry(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		checked++
		if err == nil {
			err = checkEntry(key, data, payCRC)
		}
		if err == nil {
			return nil
		}
		return report(name, Problem{Path: where, Key: key, Err: err})
	})
	return VerifyReport{Checked: checked, Problems: problems}, err
}

// checkEntry checks a whole entry file named key without knowing its call:
// the params it holds must hash to the key in its header and its name.
func checkEntry(key string, data []byte, payCRC *uint32) error {
	h, mb, _, err := entry.Parse(data, payCRC)
	if err != nil {
		return err
	}
	m, err := entry.DecodeMeta(mb)
	if err != nil {
		return err
	}
	if sha256.Sum256(m.Params) != h.Sum {
		return fmt.Errorf("%w: params do not hash to the key in the header", entry.ErrCorrupt)
	}
	if hex.EncodeToString(h.Sum[:8]) != key {
		return fmt.Errorf("%w: entry of key %x stored under the name %s", entry.ErrCorrupt, h.Sum[:8], key)
	}
	return nil
}

// DescribeResult returns the stored result of the entry of key as text for
// people: JSON-like, with large numeric slices summarised by type, length
// and first values. The entry is checked as a load checks it.
func (c *Cache) DescribeResult(ctx context.Context, key string) (string, error) {
	if !entry.ValidKey(key) {
		return "", fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	data, _, payCRC, err := c.disk.ReadEntry(disk.EntryName(key))
	if err != nil {
		return "", err
	}
	return describeEntry(data, payCRC, key, c.signKey)
}

// describeEntry checks an entry read for key and describes its result.
func describeEntry(data []byte, payCRC *uint32, key string, signKey []byte) (string, error) {
	h, mb, payload, err := entry.Parse(data, payCRC)
	if err == nil && hex.EncodeToString(h.Sum[:8]) != key {
		err = fmt.Errorf("%w: entry holds another call", entry.ErrCorrupt)
	}
	if err == nil && signKey != nil {
		err = entry.CheckMAC(signKey, h.Sum, h, data)
	}
	if err != nil {
		return "", err
	}
	m, err := entry.DecodeMeta(mb)
	if err != nil {
		return "", err
	}
	return entry.Describe(payload, m.Blocks)
}
