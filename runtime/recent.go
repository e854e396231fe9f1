package runtime

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/explain"
)

// A miss explains itself from the entries a cache holds of the function:
// not by walking the cache, but from a short record of the latest entries
// stored of each function, one JSON line each (the key, version, code and
// each argument's spelling, shortened: see explain.Spell), appended at
// each store, in dir/recent/<16 hex digits of the SHA-256 of the function's
// name>. A store appends one line; a record past maxRecentBytes is cut to
// its latest maxRecent lines. Only a verbose miss, and Cache.Why, read it.
// A record is advice for people: a line that does not parse is skipped,
// and a record lost to a race costs an explanation, never a result.
const (
	maxRecent      = 64
	maxRecentBytes = 64 << 10
	maxRecentLine  = 8 << 10
)

func recentName(fn string) string {
	sum := sha256.Sum256([]byte(fn))
	return path.Join("recent", hex.EncodeToString(sum[:8]))
}

// explained returns the call that r keys, as explanations compare it.
func (r *request[T]) explained(at time.Time) explain.Call {
	return explainedCall(r.call, r.id, at)
}

func explainedCall(call Call, id identity, at time.Time) explain.Call {
	e := explain.Call{Key: id.key, Version: call.Version, Code: call.Code, Accepted: call.Accepted, Parts: call.parts(), Args: map[string]string{}, At: at}
	for name, sp := range id.spans {
		if name != fnParam && name != versionParam {
			e.Args[name] = explain.Spell(id.canonical[sp.start:sp.end])
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

// recordStored appends e, an entry just stored, to its function's record.
func (c *Cache) recordStored(fn string, e explain.Call) {
	if !c.disk.private || c.mode == ModeReadOnly || c.mode == ModeOff {
		return
	}
	line, err := json.Marshal(e)
	if err != nil {
		return
	}
	if len(line) > maxRecentLine {
		e.Args = nil // too many or too long to keep: the rest still explains
		if line, err = json.Marshal(e); err != nil {
			return
		}
	}
	line = append(line, '\n')
	name := recentName(fn)
	r, err := c.disk.openRoot(true)
	if err != nil {
		return
	}
	f, err := c.disk.openLockFile(r, name, os.O_APPEND|os.O_CREATE)
	if errors.Is(err, fs.ErrNotExist) {
		if c.disk.fs.MkdirAll(r, path.Dir(name)) != nil {
			return
		}
		f, err = c.disk.openLockFile(r, name, os.O_APPEND|os.O_CREATE)
	}
	if err != nil {
		return
	}
	_, err = f.Write(line)
	fi, serr := f.Stat()
	f.Close()
	if err == nil && serr == nil && fi.Size() > maxRecentBytes {
		calls := c.readRecent(fn)
		var b bytes.Buffer
		for i := min(len(calls), maxRecent) - 1; i >= 0; i-- { // oldest first, as appended
			if l, err := json.Marshal(calls[i]); err == nil {
				b.Write(l)
				b.WriteByte('\n')
			}
		}
		c.disk.replace(name, path.Base(name), b.Bytes())
	}
}

// readRecent returns the latest entries recorded of fn, newest first, one
// per key.
func (c *Cache) readRecent(fn string) []explain.Call {
	if c.mode == ModeOff {
		return nil
	}
	r, err := c.disk.openRoot(false)
	if err != nil {
		return nil
	}
	f, err := c.disk.openLockFile(r, recentName(fn), 0) // a regular file of ours, opened non-blocking
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	start := max(0, fi.Size()-2*maxRecentBytes)
	sc := bufio.NewScanner(io.NewSectionReader(f, start, fi.Size()-start))
	sc.Buffer(nil, 2*maxRecentLine)
	var calls []explain.Call
	for first := true; sc.Scan(); first = false {
		var e explain.Call
		if first && start > 0 || json.Unmarshal(sc.Bytes(), &e) != nil || e.Key == "" {
			continue // the tail of a line cut, or junk
		}
		calls = append(calls, e)
	}
	explain.Sort(calls)
	seen := map[string]bool{}
	out := calls[:0]
	for _, e := range calls {
		if !seen[e.Key] {
			seen[e.Key] = true
			out = append(out, e)
		}
	}
	return out
}

// why returns the reason why r missed, from its function's record.
func (r *request[T]) why() explain.Reason {
	held := r.c.readRecent(r.call.Func)
	if r.otherCode {
		// The call's own entry is there, computed by other code: that is
		// the reason, whatever else the record holds.
		e := explain.Call{Key: r.id.key, Version: r.call.Version, Code: r.otherCodeOf}
		for _, h := range held {
			if h.Key == e.Key && h.Code == e.Code {
				e = h
				break
			}
		}
		held = []explain.Call{e}
	}
	return explain.Why(r.explained(r.c.now()), held)
}

// codeText spells a stored fingerprint: "" when none was recorded.
func codeText(code [8]byte) string {
	if code == [8]byte{} {
		return ""
	}
	return hex.EncodeToString(code[:])
}
