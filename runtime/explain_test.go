package runtime

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// whyCall is a call of one function with code code, version v and
// arguments y and z.
func whyCall(v int, code, parts string, y, z int) Call {
	return Call{Func: "example.com/sim.Retrieve", Version: v, Code: code, Parts: parts,
		Params: map[string]any{"y": y, "z": z, "grid": []float64{1, 2, 3}}}
}

const (
	partsA = "Retrieve:11111111,forward:22222222,go.mod:33333333"
	partsB = "Retrieve:11111111,forward:44444444,go.mod:33333333"
)

// lastMiss returns the reason the last [MISS] line of log gives.
func lastMiss(t *testing.T, log *bytes.Buffer) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)\[MISS\] computing .* why=(.*)$`).FindAllStringSubmatch(log.String(), -1)
	if len(m) == 0 {
		t.Fatalf("no [MISS] line with a reason in:\n%s", log)
	}
	return m[len(m)-1][1]
}

// A verbose miss says why: each of the reasons, from the record of the
// function's latest entries, without walking the cache.
func TestMissSaysWhy(t *testing.T) {
	c, log := open(t, WithVerbose(true))
	miss := func(call Call, want ...string) {
		t.Helper()
		if _, err := Do(context.Background(), c, call, (&counter{}).fn(mcResult{Precision: 1})); err != nil {
			t.Fatal(err)
		}
		got := lastMiss(t, log)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("the miss of %v says %q; want %q", call.Params, got, w)
			}
		}
	}
	miss(whyCall(1, codeA, partsA, 222, 1), "the cache holds no entry of this function")
	miss(whyCall(1, codeA, partsA, 333, 1), "no entry has these arguments; the nearest (key ", ") differs in y: 222 -> 333")
	miss(whyCall(1, codeA, partsA, 333, 2), "differs in z: 1 -> 2") // the nearest: only z differs
	miss(whyCall(2, codeA, partsA, 333, 2), "the cache holds entries of an older version only (version 1): this call is version 2")
	miss(whyCall(2, codeB, partsB, 333, 2), "the entries of version 2 were computed by other code (aaaaaaaaaaaaaaaa), which this code does not accept; changed since: forward")
	miss(whyCall(2, codeB, partsB, 444, 2), "differs in y: 333 -> 444") // its own code's entry is the nearest now

	// An entry gone since it was stored.
	key, _ := whyCall(1, codeA, partsA, 222, 1).Key()
	if _, err := c.Remove(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	miss(whyCall(1, codeA, partsA, 222, 1), "an entry with these arguments (key "+key+") was computed ", "and is gone: trimmed, pruned or invalidated since")

	// Long arguments differ by their start and digest.
	long := whyCall(1, codeA, partsA, 222, 1)
	long.Params["grid"] = make([]float64, 100) // keyed by its digest: spelled whole
	long.Params["z"] = strings.Repeat("a", 300)
	miss(long, `differs in grid: [1.0, 2.0, 3.0] -> {"__type__": "[]float64", "len": 100, "sha256": "`, `z: 1 -> "aaaaaaaa`, "a… (302 bytes, sha256:")
}

// Quiet misses do not read the record; stores keep it short.
func TestRecentRecordStaysShort(t *testing.T) {
	c, log := open(t)
	const n = 3 * maxRecentBytes / 200
	for i := range n {
		if _, err := Do(context.Background(), c, whyCall(1, codeA, partsA, i, 0), (&counter{}).fn(mcResult{})); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(log.String(), "[MISS]") {
		t.Errorf("a quiet cache logged its misses:\n%s", log)
	}
	fi, err := os.Stat(filepath.Join(c.Dir(), recentName("example.com/sim.Retrieve")))
	if err != nil || fi.Size() > maxRecentBytes+maxRecentLine {
		t.Fatalf("the record: %v, %v bytes; want at most %d", err, fi, maxRecentBytes+maxRecentLine)
	}
	if got := c.readRecent("example.com/sim.Retrieve"); len(got) < maxRecent || got[0].Args["y"] != strconv.Itoa(n-1) {
		t.Errorf("the record keeps %d calls, the latest %v; want at least %d, the latest y=%d", len(got), got[0].Args, maxRecent, n-1)
	}
}

// A planted record is read within bounds, and its junk is skipped.
func TestRecentRecordJunkIsSkipped(t *testing.T) {
	c, log := open(t, WithVerbose(true))
	name := filepath.Join(c.Dir(), recentName("example.com/sim.Retrieve"))
	os.MkdirAll(filepath.Dir(name), 0o700)
	junk := append(bytes.Repeat([]byte("x"), 4*maxRecentBytes), "\n{\"key\": 7}\nnot json\n"...)
	if err := os.WriteFile(name, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Do(context.Background(), c, whyCall(1, codeA, partsA, 1, 1), (&counter{}).fn(mcResult{})); err != nil {
		t.Fatal(err)
	}
	if got := lastMiss(t, log); got != "the cache holds no entry of this function" {
		t.Errorf("a miss over a junk record says %q", got)
	}
}

// Why explains an entry from the cache itself, as cachectl why does.
func TestWhyWalksTheCache(t *testing.T) {
	c, _ := open(t)
	for _, call := range []Call{whyCall(1, codeA, partsA, 222, 1), whyCall(1, codeA, partsA, 333, 1)} {
		if _, err := Do(context.Background(), c, call, (&counter{}).fn(mcResult{})); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := whyCall(1, codeA, partsA, 333, 1).Key()
	os.RemoveAll(filepath.Join(c.Dir(), "recent")) // not from the record
	got, err := c.Why(context.Background(), key)
	if err != nil || !strings.Contains(got, "differs in y: 222 -> 333") {
		t.Errorf("Why = %q, %v; want y: 222 -> 333", got, err)
	}
	first, _ := whyCall(1, codeA, partsA, 222, 1).Key()
	if got, _ := c.Why(context.Background(), first); got != "the cache holds no entry of this function" {
		t.Errorf("Why of the first entry = %q", got)
	}
	if _, err := c.Why(context.Background(), "0123456789abcdef"); err == nil {
		t.Error("Why of a key not cached: no error")
	}
}

// Entries computed under a version by code other than that of the latest
// entries of the version, which it does not accept, are dead: marked, and
// removed by Prune with Dead. Accepted code's entries live on.
func TestDeadEntriesOfOtherCode(t *testing.T) {
	c, _ := open(t)
	clock := time.Now()
	c.now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	store := func(call Call, y int) string {
		t.Helper()
		call.Params = map[string]any{"y": y}
		if _, err := Do(context.Background(), c, call, (&counter{}).fn(mcResult{})); err != nil {
			t.Fatal(err)
		}
		key, _ := call.Key()
		return key
	}
	a := Call{Func: "example.com/sim.Retrieve", Version: 1, Code: codeA}
	b := Call{Func: "example.com/sim.Retrieve", Version: 1, Code: codeB}
	cAcceptsB := Call{Func: "example.com/sim.Retrieve", Version: 1, Code: codeC, Accepted: []string{codeB}}
	other := Call{Func: "example.com/sim.Other", Version: 1, Code: codeA}
	a1, a2, b3, o1 := store(a, 1), store(a, 2), store(b, 3), store(other, 1)
	dead := func() []string {
		t.Helper()
		es, err := c.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, e := range es {
			if e.OtherCode != e.Dead() || e.OldVersion {
				t.Errorf("%s: OtherCode %v, OldVersion %v, Dead %v", e.Key, e.OtherCode, e.OldVersion, e.Dead())
			}
			if e.Dead() {
				keys = append(keys, e.Key)
			}
		}
		slices.Sort(keys)
		return keys
	}
	want := []string{a1, a2}
	slices.Sort(want)
	if got := dead(); !slices.Equal(got, want) {
		t.Errorf("dead: %v, want code A's %v (not B's %s, nor other functions' %s)", got, want, b3, o1)
	}
	store(cAcceptsB, 4) // the latest code serves B's entries: they live
	if got := dead(); !slices.Equal(got, want) {
		t.Errorf("after code that accepts B: dead %v, want still %v", got, want)
	}
	removed, err := c.Prune(context.Background(), PruneOptions{Dead: true})
	if err != nil || len(removed) != 2 {
		t.Fatalf("Prune(Dead) removed %d entries (%v), want A's 2", len(removed), err)
	}
	es, _ := c.List(context.Background())
	if len(es) != 3 {
		t.Errorf("%d entries left, want B's, C's and the other function's", len(es))
	}
	// A version bump makes every entry of the older version dead.
	store(Call{Func: "example.com/sim.Retrieve", Version: 2, Code: codeC}, 1)
	removed, _ = c.Prune(context.Background(), PruneOptions{Dead: true})
	if len(removed) != 2 || !removed[0].OldVersion {
		t.Errorf("Prune(Dead) after a bump removed %+v, want the 2 entries of version 1", removed)
	}
}
