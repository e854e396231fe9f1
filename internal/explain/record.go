package explain

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
	"sync"

	"github.com/cachegen/cachegen/internal/disk"
)

// A miss explains itself from the entries a cache holds of the function:
// not by walking the cache, but from a short record of the latest entries
// stored of each function, one JSON line each (the key, version, code and
// each argument's spelling, shortened: see Spell), appended at each store,
// in dir/recent/<16 hex digits of the SHA-256 of the function's name>. A
// record past MaxRecentBytes is cut to its latest lines, to half that. The
// parts of each code's fingerprint, which name what changed, are kept once
// per code beside it (…-<code>.parts), not on every line; clearing a cache
// removes them all. Only a verbose miss, and a person asking why an entry
// was computed, read them. A record is advice for people: a line that does
// not parse is skipped, and a record lost to a race costs an explanation,
// never a result.
const (
	RecentDir      = "recent"
	MaxRecentBytes = 64 << 10
	MaxRecentLine  = 8 << 10
	maxParts       = 64 << 10 // a code's parts file; longer parts are not kept
)

// RecentName is the name of fn's record in a cache directory.
func RecentName(fn string) string {
	sum := sha256.Sum256([]byte(fn))
	return path.Join(RecentDir, hex.EncodeToString(sum[:8]))
}

// PartsName is where the parts of code's fingerprint are kept, for fn.
func PartsName(fn, code string) string { return RecentName(fn) + "-" + code + ".parts" }

// Record appends e, an entry of fn just stored, to fn's record in d, and
// keeps the parts of its code's fingerprint once; kept remembers, for the
// process, the codes whose parts are kept.
func Record(d *disk.Store, fn string, e Call, kept *sync.Map) {
	if parts := strings.Join(e.Parts, "\n"); parts != "" && len(parts) <= maxParts && IsCode(e.Code) {
		if _, done := kept.LoadOrStore(fn+"\x00"+e.Code, true); !done {
			if _, err := d.Stat(PartsName(fn, e.Code)); errors.Is(err, fs.ErrNotExist) {
				name := PartsName(fn, e.Code)
				d.Replace(name, path.Base(name), []byte(parts))
			}
		}
	}
	e.Parts, e.Accepted = nil, nil // the parts are kept once, above; what a code accepts is its entries' to say
	line, err := json.Marshal(e)
	if err == nil && len(line) > MaxRecentLine {
		e.Args = nil // too many or too long to keep: the rest still explains
		line, err = json.Marshal(e)
	}
	if err != nil {
		return
	}
	line = append(line, '\n')
	name := RecentName(fn)
	f, err := d.OpenLockIn(name, os.O_APPEND)
	if err != nil {
		return
	}
	_, err = f.Write(line)
	fi, serr := f.Stat()
	f.Close()
	if err == nil && serr == nil && fi.Size() > MaxRecentBytes {
		// Keep the latest lines, half the bound of them, oldest first.
		lines := RecentLines(d, fn)
		first, n := len(lines), 0
		for first > 0 && n+len(lines[first-1])+1 <= MaxRecentBytes/2 {
			first--
			n += len(lines[first]) + 1
		}
		b := make([]byte, 0, n)
		for _, l := range lines[first:] {
			b = append(append(b, l...), '\n')
		}
		d.Replace(name, path.Base(name), b)
	}
}

// RecentLines returns the whole lines of the tail of fn's record in d,
// oldest first.
func RecentLines(d *disk.Store, fn string) [][]byte {
	f, fi, err := d.OpenRegular(RecentName(fn))
	if err != nil {
		return nil
	}
	defer f.Close()
	start := max(0, fi.Size()-2*MaxRecentBytes)
	data, err := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	if err != nil {
		return nil
	}
	lines := bytes.Split(data, []byte("\n"))
	if start > 0 && len(lines) > 0 {
		lines = lines[1:] // the tail of a line cut
	}
	return slices.DeleteFunc(lines, func(l []byte) bool { return len(l) == 0 || len(l) > MaxRecentLine })
}

// Recent returns the entries of fn that d's record holds, newest first:
// every line with all, else the latest line of each key.
func Recent(d *disk.Store, fn string, all bool) []Call {
	var calls []Call
	for _, l := range RecentLines(d, fn) {
		var e Call
		if json.Unmarshal(l, &e) == nil && e.Key != "" {
			calls = append(calls, e)
		}
	}
	Sort(calls)
	if all {
		return calls
	}
	seen := map[string]bool{}
	return slices.DeleteFunc(calls, func(e Call) bool {
		dup := seen[e.Key]
		seen[e.Key] = true
		return dup
	})
}

// WithParts fills in the parts of the fingerprints of held's code that
// fn's record in d keeps.
func WithParts(d *disk.Store, fn string, held []Call) {
	known := map[string][]string{}
	for i, e := range held {
		if len(e.Parts) > 0 || !IsCode(e.Code) {
			continue
		}
		ps, ok := known[e.Code]
		if !ok {
			if b, err := d.ReadSmall(PartsName(fn, e.Code), maxParts); err == nil && len(b) > 0 {
				ps = strings.Split(string(b), "\n")
			}
			known[e.Code] = ps
		}
		held[i].Parts = ps
	}
}

// IsCode reports whether s spells a code's fingerprint: 16 lower-case hex
// digits, which may name a file.
func IsCode(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 16 && err == nil && strings.ToLower(s) == s
}
