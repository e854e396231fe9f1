package maintain

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/explain"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/internal/units"
	"github.com/cachegen/cachegen/remote"
	"golang.org/x/sync/errgroup"
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
	Size       int64         // what it occupies: allocated blocks on a local disk, its length in a shared store
	LastUsed   time.Time     // when it was last stored or loaded, to within an hour (in a shared store that records reads; else when it was stored)
	TTL        time.Duration // how long it stays fresh; 0 means for ever
	Stale      bool          // older than its TTL: the next call recomputes it
	Code       string        // fingerprint of the code that computed it; "" if not recorded
	Inputs     []Input       // the files and directories it was keyed by, by content
	// OldVersion is set, by List and Prune, on an entry of a function that
	// has entries of a higher version in the same tier, computed since the
	// entry was last used (which a hit records to within an hour): after a
	// version bump no call finds it again. An entry used again after a
	// rollback to its version is not old.
	OldVersion bool
	// OtherCode is set, by MarkOtherCode and by Prune given the current
	// code, on an entry that the function's current code does not serve:
	// computed under the current version by other code (neither the
	// current code nor one it accepts), or under a higher version (on
	// another branch, say).
	OtherCode bool
	// BadSignature is set, by List on a tier given a signing key, on an
	// entry whose MAC that key does not verify: unsigned, signed with
	// another key, or changed. No cache with the key serves it.
	BadSignature bool

	accepted []string // the fingerprints of earlier code that its code serves, when recorded
	parts    []string // the parts of its code's fingerprint, when recorded
}

// Dead reports whether no call of the current code can be served e: it is
// of an old version, or of other code (see OldVersion and OtherCode).
func (e Entry) Dead() bool { return e.OldVersion || e.OtherCode }

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
		size = units.Count(in.Files, "file", "files") + ", " + size
	}
	return fmt.Sprintf("%s (%s, sha256:%.12s)", in.Path, size, in.SHA256)
}

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

// List returns the metadata of every valid entry, newest first. Entries
// that fail their checks are left out. With a signing key, each entry is
// read whole, and one that the key does not verify is marked BadSignature.
func (t *Tier) List(ctx context.Context) ([]Entry, error) {
	es, err := t.list(ctx, false)
	markOldVersions(es)
	slices.SortStableFunc(es, func(a, b Entry) int {
		return cmp.Or(b.ComputedAt.Compare(a.ComputedAt), strings.Compare(a.Key, b.Key))
	})
	return es, err
}

// list reads the head of every entry. With withCorrupt, an entry that
// fails its checks is included with only its key and size, and when it
// was last used zero: the first to prune.
func (t *Tier) list(ctx context.Context, withCorrupt bool) ([]Entry, error) {
	now := t.now()
	if t.dir == nil {
		return t.listShared(ctx, withCorrupt, now)
	}
	var out []Entry
	err := t.dir.Walk(ctx, func(name string, kind disk.FileKind) error {
		if kind != disk.KindEntry {
			return nil
		}
		h, m, fi, err := t.dir.ReadMeta(name)
		switch {
		case err != nil && withCorrupt && fi != nil && !errors.Is(err, fs.ErrNotExist):
			out = append(out, Entry{Key: strings.TrimSuffix(path.Base(name), disk.EntrySuffix), Size: disk.Allocated(fi)})
			return nil
		case err != nil:
			return nil // removed meanwhile, or corrupt: not an entry
		}
		e := entryOf(h, m, disk.Allocated(fi), fi.ModTime(), now)
		if t.signKey != nil {
			data, _, _, err := t.dir.ReadEntry(name)
			e.BadSignature = errors.Is(err, entry.ErrBadSignature) || err == nil && entry.CheckMAC(t.signKey, h.Sum, h, data) != nil
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// listShared is list for a shared store: its heads are read a few at a
// time.
func (t *Tier) listShared(ctx context.Context, withCorrupt bool, now time.Time) ([]Entry, error) {
	var infos []remote.StoreEntry
	err := t.shared.Store().List(ctx, func(e remote.StoreEntry) error {
		if entry.ValidKey(e.Key) {
			infos = append(infos, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing remote %s: %w", t.name, err)
	}
	found := make([]*Entry, len(infos))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, info := range infos {
		g.Go(func() error {
			h, m, err := entry.ReadHead(t.shared.ReaderAt(gctx, info.Key), info.Size)
			if err == nil && hex.EncodeToString(h.Sum[:8]) != info.Key {
				err = fmt.Errorf("%w: entry holds another call", entry.ErrCorrupt)
			}
			switch {
			case err == nil:
				e := entryOf(h, m, info.Size, info.LastUsed, now)
				if t.signKey != nil {
					// Read whole, a few MiB at a time.
					err := t.shared.CheckSigned(gctx, info.Key, t.signKey)
					if errors.Is(err, fs.ErrNotExist) {
						return nil // removed meanwhile
					}
					if err != nil && !errors.Is(err, entry.ErrBadSignature) && !errors.Is(err, entry.ErrCorrupt) {
						return fmt.Errorf("reading entry %s of remote %s: %w", info.Key, t.name, err)
					}
					e.BadSignature = err != nil
				}
				found[i] = &e
			case errors.Is(err, entry.ErrCorrupt) && withCorrupt:
				found[i] = &Entry{Key: info.Key, Size: info.Size}
			case errors.Is(err, entry.ErrCorrupt), errors.Is(err, fs.ErrNotExist):
			default:
				return fmt.Errorf("reading entry %s of remote %s: %w", info.Key, t.name, err)
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

// entryOf builds an Entry from a checked header and metadata, the entry's
// size and when it was last used.
func entryOf(h entry.Header, m entry.Meta, size int64, lastUsed, now time.Time) Entry {
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
		Code:       entry.CodeText(h.Code),
		parts:      m.Parts,
	}
	for _, in := range m.Inputs {
		e.Inputs = append(e.Inputs, inputOf(in))
	}
	for _, a := range m.Accepted {
		if explain.IsCode(a) {
			e.accepted = append(e.accepted, a)
		}
	}
	e.Stale = e.TTL > 0 && now.Sub(e.ComputedAt) > e.TTL
	return e
}

// argsOf returns the params of an entry without the two names the key
// adds, spelled as they are spelled among the params.
func argsOf(m entry.Meta) json.RawMessage {
	text := string(m.Params)
	for name, v := range map[string]any{keying.FnParam: m.Func, keying.VersionParam: m.Version} {
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
