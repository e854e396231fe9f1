package runtime

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/explain"
)

// A miss explains itself from the entries a cache holds of the function:
// not by walking the cache, but from a short record of the latest entries
// stored of each function, one JSON line each (the key, version, code and
// each argument's spelling, shortened: see explain.Spell), appended at
// each store, in dir/recent/<16 hex digits of the SHA-256 of the function's
// name>. A record past maxRecentBytes is cut to its latest lines, to half
// that. The parts of each code's fingerprint, which name what changed, are
// kept once per code beside it (…-<code>.parts), not on every line; Clear
// removes them all. Only a
// verbose miss, and Cache.Why, read them. A record is advice for people: a
// line that does not parse is skipped, and a record lost to a race costs
// an explanation, never a result.
const (
	maxRecentBytes = 64 << 10
	maxRecentLine  = 8 << 10
	maxParts       = 64 << 10 // a code's parts file; longer parts are not kept
)

func recentName(fn string) string {
	sum := sha256.Sum256([]byte(fn))
	return path.Join("recent", hex.EncodeToString(sum[:8]))
}

// partsName is where the parts of code's fingerprint are kept, for fn.
func partsName(fn, code string) string { return recentName(fn) + "-" + code + ".parts" }

// explained returns the call that r keys, as explanations compare it.
func (r *request[T]) explained(at time.Time) explain.Call {
	e := explain.Call{Key: r.id.key, Version: r.call.Version, Code: r.call.Code, Accepted: r.call.Accepted, Parts: r.call.parts(), Args: map[string]string{}, At: at}
	for name, sp := range r.id.Spans {
		if name != fnParam && name != versionParam {
			e.Args[name] = explain.Spell(r.id.Text[sp.Start:sp.End])
		}
	}
	return e
}

// parts returns call.Parts as a list.
func (call Call) parts() []string {
	if call.Parts == "" {
		return nil
	}
	return strings.Split(call.Parts, ",")
}

// recordStored appends e, an entry of fn just stored, to fn's record, and
// keeps the parts of its code's fingerprint once.
func (c *Cache) recordStored(fn string, e explain.Call) {
	if c.mode == ModeReadOnly || c.mode == ModeOff {
		return
	}
	if parts := strings.Join(e.Parts, "\n"); parts != "" && len(parts) <= maxParts && len(e.Code) == 16 && isHex(e.Code) {
		if _, done := c.partsKept.LoadOrStore(fn+"\x00"+e.Code, true); !done {
			if _, err := c.disk.Stat(partsName(fn, e.Code)); errors.Is(err, fs.ErrNotExist) {
				name := partsName(fn, e.Code)
				c.disk.Replace(name, path.Base(name), []byte(parts))
			}
		}
	}
	e.Parts, e.Accepted = nil, nil // the parts are kept once, above; what a code accepts is its entries' to say
	line, err := json.Marshal(e)
	if err == nil && len(line) > maxRecentLine {
		e.Args = nil // too many or too long to keep: the rest still explains
		line, err = json.Marshal(e)
	}
	if err != nil {
		return
	}
	line = append(line, '\n')
	name := recentName(fn)
	f, err := c.disk.OpenLockIn(name, os.O_APPEND)
	if err != nil {
		return
	}
	_, err = f.Write(line)
	fi, serr := f.Stat()
	f.Close()
	if err == nil && serr == nil && fi.Size() > maxRecentBytes {
		// Keep the latest lines, half the bound of them, oldest first.
		lines := c.recentLines(fn)
		first, n := len(lines), 0
		for first > 0 && n+len(lines[first-1])+1 <= maxRecentBytes/2 {
			first--
			n += len(lines[first]) + 1
		}
		b := make([]byte, 0, n)
		for _, l := range lines[first:] {
			b = append(append(b, l...), '\n')
		}
		c.disk.Replace(name, path.Base(name), b)
	}
}

// recentLines returns the whole lines of the tail of fn's record, oldest
// first.
func (c *Cache) recentLines(fn string) [][]byte {
	f, fi, err := c.disk.OpenRegular(recentName(fn))
	if err != nil {
		return nil
	}
	defer f.Close()
	start := max(0, fi.Size()-2*maxRecentBytes)
	data, err := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	if err != nil {
		return nil
	}
	lines := bytes.Split(data, []byte("\n"))
	if start > 0 && len(lines) > 0 {
		lines = lines[1:] // the tail of a line cut
	}
	return slices.DeleteFunc(lines, func(l []byte) bool { return len(l) == 0 || len(l) > maxRecentLine })
}

// readRecent returns the entries recorded of fn, newest first: every line
// with all, else the latest line of each key.
func (c *Cache) readRecent(fn string, all bool) []explain.Call {
	if c.mode == ModeOff {
		return nil
	}
	var calls []explain.Call
	for _, l := range c.recentLines(fn) {
		var e explain.Call
		if json.Unmarshal(l, &e) == nil && e.Key != "" {
			calls = append(calls, e)
		}
	}
	explain.Sort(calls)
	if all {
		return calls
	}
	seen := map[string]bool{}
	return slices.DeleteFunc(calls, func(e explain.Call) bool {
		dup := seen[e.Key]
		seen[e.Key] = true
		return dup
	})
}

// withParts fills in the parts of the fingerprints of held's code that fn's
// record keeps.
func (c *Cache) withParts(fn string, held []explain.Call) {
	known := map[string][]string{}
	for i, e := range held {
		if len(e.Parts) > 0 || len(e.Code) != 16 || !isHex(e.Code) {
			continue
		}
		ps, ok := known[e.Code]
		if !ok {
			if b, err := c.disk.ReadSmall(partsName(fn, e.Code), maxParts); err == nil && len(b) > 0 {
				ps = strings.Split(string(b), "\n")
			}
			known[e.Code] = ps
		}
		held[i].Parts = ps
	}
}

// why returns the reason why r missed, from its function's record.
func (r *request[T]) why() string {
	switch {
	case r.rejectedWhy != "":
		return r.rejectedWhy
	case r.otherCode:
		// The call's own entry is there, computed by other code: that is
		// the reason, whatever else the record holds.
		held := []explain.Call{{Key: r.id.key, Version: r.call.Version, Code: r.otherCodeOf}}
		r.c.withParts(r.call.Func, held)
		return explain.Why(r.explained(r.c.now()), held).String()
	}
	held := r.c.readRecent(r.call.Func, false)
	r.c.withParts(r.call.Func, held)
	return explain.Why(r.explained(r.c.now()), held).String()
}

// codeText spells a stored fingerprint: "" when none was recorded.
func codeText(code [8]byte) string {
	if code == [8]byte{} {
		return ""
	}
	return hex.EncodeToString(code[:])
}
