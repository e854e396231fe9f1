// Package explain tells why a call missed: what the entries of its
// function that a cache holds have that the call has not.
//
// A miss has one of five reasons, tried in this order: the cache records
// no entry of the function (NoEntry); only entries of other versions
// (OtherVersion); only entries, under the call's version, of code that the
// call's code does not accept (OtherCode, naming the declarations that
// changed when both fingerprints' parts are known); entries of the call's
// code, none with its arguments (OtherArgs, naming each argument of the
// nearest entry that differs, with both values); or an entry with its very
// arguments, since removed (Removed).
//
// Why only compares what it is given: the callers decide what the cache
// holds (a walk of it when a person asks, a short record of the latest
// entries on a verbose miss), so an explanation is never more exact than
// that list, and never costs more than reading it.
package explain

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/fingerprint"
)

// A Call is a call, or the entry it stored, as an explanation compares it.
type Call struct {
	Key      string            `json:"key"`
	Version  int               `json:"version"`
	Code     string            `json:"code,omitempty"`     // fingerprint of its code; "" when not recorded
	Accepted []string          `json:"accepted,omitempty"` // fingerprints of earlier code whose entries its code serves
	Parts    []string          `json:"parts,omitempty"`    // its fingerprint's parts, "name:digest", when recorded
	Args     map[string]string `json:"args"`               // each argument's spelling (see Spell), by parameter name
	At       time.Time         `json:"at"`                 // when it was computed
}

// serves reports whether an entry computed by code e may be served to c,
// as a load decides it.
func (c Call) serves(e Call) bool {
	return c.Code == "" || e.Code != "" && (e.Code == c.Code || slices.Contains(c.Accepted, e.Code))
}

// Kind is the reason for a miss.
type Kind int

const (
	NoEntry      Kind = iota // no entry of the function
	OtherVersion             // entries of other versions only
	OtherCode                // entries of this version computed by code this code does not accept
	OtherArgs                // entries of this code, none with these arguments
	Removed                  // an entry with these arguments was stored, and is gone
)

// A Reason says why a call missed.
type Reason struct {
	Kind     Kind
	Versions []int    // OtherVersion: the versions held, ascending
	Version  int      // the call's version
	Codes    []string // OtherCode: the fingerprints of the code held, newest first
	Changed  []string // OtherCode: the declarations that differ from the newest code held, when known
	Nearest  Call     // OtherArgs and Removed: the entry compared
	Diffs    []Diff   // OtherArgs: how the nearest entry's arguments differ, by name
}

// A Diff is an argument whose spelling differs between an entry and a
// call: Old is the entry's, New the call's; a side without the argument
// spells "(none)".
type Diff struct{ Name, Old, New string }

func (d Diff) String() string { return d.Name + ": " + d.Old + " -> " + d.New }

// Why returns the reason why call finds none of held, the entries of its
// function, to serve it.
func Why(call Call, held []Call) Reason {
	r := Reason{Kind: NoEntry, Version: call.Version}
	if len(held) == 0 {
		return r
	}
	var versions []int
	var sameVersion, sameCode []Call
	for _, e := range held {
		if !slices.Contains(versions, e.Version) {
			versions = append(versions, e.Version)
		}
		if e.Version != call.Version {
			continue
		}
		sameVersion = append(sameVersion, e)
		if call.serves(e) {
			sameCode = append(sameCode, e)
		}
	}
	if len(sameVersion) == 0 {
		slices.Sort(versions)
		r.Kind, r.Versions = OtherVersion, versions
		return r
	}
	if len(sameCode) == 0 {
		slices.SortStableFunc(sameVersion, func(a, b Call) int { return b.At.Compare(a.At) })
		for _, e := range sameVersion {
			if !slices.Contains(r.Codes, e.Code) {
				r.Codes = append(r.Codes, e.Code)
			}
		}
		newest := sameVersion[0]
		if len(newest.Parts) > 0 && len(call.Parts) > 0 {
			r.Changed = fingerprint.Changed(newest.Parts, call.Parts)
		}
		r.Kind = OtherCode
		return r
	}
	// The nearest: fewest arguments differing, then the latest.
	best, bestDiffs := Call{}, []Diff(nil)
	for _, e := range sameCode {
		d := diffs(e.Args, call.Args)
		if best.Key == "" || len(d) < len(bestDiffs) || len(d) == len(bestDiffs) && e.At.After(best.At) {
			best, bestDiffs = e, d
		}
	}
	r.Nearest = best
	if best.Key == call.Key {
		r.Kind = Removed
		return r
	}
	r.Kind, r.Diffs = OtherArgs, bestDiffs
	return r
}

// diffs returns the arguments that differ between old and new, by name.
func diffs(old, new map[string]string) []Diff {
	var out []Diff
	for _, name := range slices.Sorted(maps.Keys(union(old, new))) {
		o, inOld := old[name]
		n, inNew := new[name]
		if inOld && inNew && o == n {
			continue
		}
		if !inOld {
			o = "(none)"
		}
		if !inNew {
			n = "(none)"
		}
		out = append(out, Diff{name, o, n})
	}
	return out
}

func union(a, b map[string]string) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// String says the reason in a sentence.
func (r Reason) String() string {
	switch r.Kind {
	case OtherVersion:
		held := make([]string, len(r.Versions))
		for i, v := range r.Versions {
			held[i] = strconv.Itoa(v)
		}
		which := "an older version"
		if r.Versions[len(r.Versions)-1] > r.Version {
			which = "another version"
		}
		return fmt.Sprintf("the cache holds entries of %s only (version %s): this call is version %d, and entries of other versions are never served",
			which, strings.Join(held, ", "), r.Version)
	case OtherCode:
		codes := make([]string, len(r.Codes))
		for i, c := range r.Codes {
			codes[i] = cmp.Or(c, "not recorded")
		}
		s := fmt.Sprintf("the entries of version %d were computed by other code (%s), which this code does not accept", r.Version, strings.Join(codes, ", "))
		if len(r.Changed) > 0 {
			s += "; changed since: " + strings.Join(r.Changed, ", ")
		}
		return s
	case OtherArgs:
		ds := make([]string, len(r.Diffs))
		for i, d := range r.Diffs {
			ds[i] = d.String()
		}
		if len(ds) == 0 {
			// Spelled alike as far as the spellings go: past a long
			// value's start and digest, or of arguments not kept.
			return fmt.Sprintf("no entry has these arguments; the nearest (key %s, computed %s) differs past what the record keeps of them",
				r.Nearest.Key, r.Nearest.At.Format(time.RFC3339))
		}
		return fmt.Sprintf("no entry has these arguments; the nearest (key %s, computed %s) differs in %s",
			r.Nearest.Key, r.Nearest.At.Format(time.RFC3339), strings.Join(ds, ", "))
	case Removed:
		return fmt.Sprintf("an entry with these arguments (key %s) was computed %s and is gone: trimmed, pruned or invalidated since",
			r.Nearest.Key, r.Nearest.At.Format(time.RFC3339))
	}
	return "the cache records no entry of this function"
}

// Sort orders calls newest first, as Why's callers list them.
func Sort(calls []Call) {
	slices.SortStableFunc(calls, func(a, b Call) int { return cmp.Compare(b.At.UnixNano(), a.At.UnixNano()) })
}

// maxSpelling is the longest spelling an argument keeps whole; a longer
// one keeps its start and the digest of the whole.
const maxSpelling = 128

// Spell returns an argument's spelling as Call.Args holds it: its
// canonical text, or, past maxSpelling bytes, its start and the SHA-256 of
// the whole, so that two long values that differ still spell apart.
func Spell(canonical []byte) string {
	if len(canonical) <= maxSpelling {
		return string(canonical)
	}
	sum := sha256.Sum256(canonical)
	cut := maxSpelling - 48 // room for the suffix
	for cut > 0 && canonical[cut]&0xC0 == 0x80 {
		cut-- // not inside a UTF-8 sequence
	}
	return fmt.Sprintf("%s… (%d bytes, sha256:%s)", canonical[:cut], len(canonical), hex.EncodeToString(sum[:6]))
}

// ArgsOf returns the spellings of the arguments in canonical params, a
// JSON object as the key hashes it (which may hold NaN and Infinity),
// leaving out the names in skip.
func ArgsOf(params []byte, skip ...string) (map[string]string, error) {
	bad := fmt.Errorf("params are not a canonical JSON object")
	p := bytes.TrimSpace(params)
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, bad
	}
	args := map[string]string{}
	rest := bytes.TrimSpace(p[1 : len(p)-1])
	for len(rest) > 0 {
		end := stringEnd(rest)
		if end < 0 {
			return nil, bad
		}
		var name string
		if err := json.Unmarshal(rest[:end], &name); err != nil {
			return nil, bad
		}
		rest = bytes.TrimSpace(rest[end:])
		if len(rest) == 0 || rest[0] != ':' {
			return nil, bad
		}
		rest = bytes.TrimSpace(rest[1:])
		n := valueEnd(rest)
		if n <= 0 || !oneValue(bytes.TrimSpace(rest[:n])) {
			return nil, bad
		}
		if !slices.Contains(skip, name) {
			args[name] = Spell(bytes.TrimSpace(rest[:n]))
		}
		rest = bytes.TrimSpace(rest[n:])
		if len(rest) > 0 {
			if rest[0] != ',' {
				return nil, bad
			}
			rest = bytes.TrimSpace(rest[1:])
		}
	}
	return args, nil
}

// stringEnd returns the length of the JSON string that b starts with, or
// -1.
func stringEnd(b []byte) int {
	if len(b) == 0 || b[0] != '"' {
		return -1
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// valueEnd returns the length of the JSON value that b starts with: up to
// the first comma outside any string, array or object; or -1.
func valueEnd(b []byte) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			n := stringEnd(b[i:])
			if n < 0 {
				return -1
			}
			i += n - 1
		case '[', '{':
			depth++
		case ']', '}':
			if depth--; depth < 0 {
				return -1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	if depth != 0 {
		return -1
	}
	return len(b)
}

// oneValue reports whether v, which valueEnd delimited, is one value: a
// string, an array or object closed at its end, or a bare word (a number,
// true, false, null, NaN, Infinity).
func oneValue(v []byte) bool {
	switch v[0] {
	case '"':
		return stringEnd(v) == len(v)
	case '[', '{':
		depth := 0
		for i := 0; i < len(v); i++ {
			switch v[i] {
			case '"':
				i += stringEnd(v[i:]) - 1
			case '[', '{':
				depth++
			case ']', '}':
				if depth--; depth == 0 {
					return i == len(v)-1
				}
			}
		}
		return false
	}
	for _, b := range v {
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '+' || b == '.') {
			return false
		}
	}
	return true
}
