package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/explain"
	"github.com/cachegen/cachegen/internal/testenv"
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
func lastMiss(t *testing.T, log *testenv.Buffer) string {
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
	miss(whyCall(1, codeA, partsA, 222, 1), "the cache records no entry of this function")
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

// Quiet misses do not read the record; stores keep it short, and keep a
// code's long fingerprint parts once, not on every line.
func TestRecentRecordStaysShort(t *testing.T) {
	c, log := open(t)
	var parts []string
	for i := range 150 {
		parts = append(parts, fmt.Sprintf("example.com/dep%d@v1.0.%d", i, i))
	}
	const n = 3 * explain.MaxRecentBytes / 200
	for i := range n {
		call := whyCall(1, codeA, strings.Join(parts, ","), i, 0)
		if _, err := Do(context.Background(), c, call, (&counter{}).fn(mcResult{})); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(log.String(), "[MISS]") {
		t.Errorf("a quiet cache logged its misses:\n%s", log)
	}
	fi, err := os.Stat(filepath.Join(c.Dir(), explain.RecentName("example.com/sim.Retrieve")))
	if err != nil || fi.Size() > explain.MaxRecentBytes+explain.MaxRecentLine {
		t.Fatalf("the record: %v, %v bytes; want at most %d", err, fi, explain.MaxRecentBytes+explain.MaxRecentLine)
	}
	got := explain.Recent(c.disk, "example.com/sim.Retrieve", false)
	if len(got) < 100 || got[0].Args["y"] != strconv.Itoa(n-1) {
		t.Errorf("the record keeps %d calls, the latest %v; want at least 100, the latest y=%d", len(got), got[0].Args, n-1)
	}
	kept, err := os.ReadFile(filepath.Join(c.Dir(), explain.PartsName("example.com/sim.Retrieve", codeA)))
	if err != nil || string(kept) != strings.Join(parts, "\n") {
		t.Errorf("the parts of code A kept: %v, %q", err, kept)
	}
}

// A record lives in a shared directory too, and a rejected entry is said
// to be rejected, not gone.
func TestMissSaysWhyInASharedDir(t *testing.T) {
	c, log := open(t, WithVerbose(true), WithSharedDir())
	do := func(call Call, compute func(context.Context) (mcResult, error)) {
		t.Helper()
		if _, err := Do(context.Background(), c, call, compute); err != nil {
			t.Fatal(err)
		}
	}
	do(whyCall(1, codeA, partsA, 222, 1), (&counter{}).fn(mcResult{}))
	do(whyCall(1, codeA, partsA, 333, 1), (&counter{}).fn(mcResult{}))
	if got := lastMiss(t, log); !strings.Contains(got, "differs in y: 222 -> 333") {
		t.Errorf("a miss in a shared directory says %q", got)
	}
	if _, err := Do(context.Background(), c, whyCall(1, codeA, partsA, 333, 1), func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	if got := lastMiss(t, log); !strings.Contains(got, "its entry (") || !strings.Contains(got, "was found and rejected: ") || !strings.Contains(got, "another type") {
		t.Errorf("a miss on an entry of another result type says %q", got)
	}
}

// A line too long for the record, planted or cut, is skipped, and the
// lines after it are read.
func TestRecentRecordSkipsLongLines(t *testing.T) {
	c, log := open(t, WithVerbose(true))
	if _, err := Do(context.Background(), c, whyCall(1, codeA, partsA, 222, 1), (&counter{}).fn(mcResult{})); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(c.Dir(), explain.RecentName("example.com/sim.Retrieve"))
	good, _ := os.ReadFile(name)
	planted := append(append([]byte("{\"key\": \""), bytes.Repeat([]byte("x"), 3*explain.MaxRecentLine)...), "\"}\n"...)
	os.WriteFile(name, append(planted, good...), 0o600)
	if _, err := Do(context.Background(), c, whyCall(1, codeA, partsA, 333, 1), (&counter{}).fn(mcResult{})); err != nil {
		t.Fatal(err)
	}
	if got := lastMiss(t, log); !strings.Contains(got, "differs in y: 222 -> 333") {
		t.Errorf("after a long line, a miss says %q", got)
	}
}

// A planted record is read within bounds, and its junk is skipped.
func TestRecentRecordJunkIsSkipped(t *testing.T) {
	c, log := open(t, WithVerbose(true))
	name := filepath.Join(c.Dir(), explain.RecentName("example.com/sim.Retrieve"))
	os.MkdirAll(filepath.Dir(name), 0o700)
	junk := append(bytes.Repeat([]byte("x"), 4*explain.MaxRecentBytes), "\n{\"key\": 7}\nnot json\n"...)
	if err := os.WriteFile(name, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Do(context.Background(), c, whyCall(1, codeA, partsA, 1, 1), (&counter{}).fn(mcResult{})); err != nil {
		t.Fatal(err)
	}
	if got := lastMiss(t, log); got != "the cache records no entry of this function" {
		t.Errorf("a miss over a junk record says %q", got)
	}
}

// A code's parts are kept however long.
func TestRecordOfLongParts(t *testing.T) {
	c, log := open(t, WithVerbose(true))
	var parts []string
	for i := range 600 {
		parts = append(parts, fmt.Sprintf("example.com/dep%d@v1.0.%d", i, i))
	}
	long := strings.Join(parts, ",")
	if _, err := Do(context.Background(), c, whyCall(1, codeA, long, 1, 1), (&counter{}).fn(mcResult{})); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(long, "dep7@v1.0.7", "dep7@v1.0.8", 1)
	if _, err := Do(context.Background(), c, whyCall(1, codeB, changed, 2, 1), (&counter{}).fn(mcResult{})); err != nil {
		t.Fatal(err)
	}
	if got := lastMiss(t, log); !strings.Contains(got, "changed since: example.com/dep7@v1.0.7, example.com/dep7@v1.0.8") {
		t.Errorf("with %d bytes of parts, a miss says %q", len(long), got)
	}
}

// The record of recent entries keeps the first store of a new cache, and
// every store after a Clear removed its directory.
func TestRecentRecordSurvivesClear(t *testing.T) {
	c, _ := open(t)
	store := func(y int) {
		t.Helper()
		if _, err := Do(context.Background(), c, whyCall(1, codeA, partsA, y, 0), (&counter{}).fn(mcResult{})); err != nil {
			t.Fatal(err)
		}
	}
	store(1)
	if got := len(explain.RecentLines(c.disk, "example.com/sim.Retrieve")); got != 1 {
		t.Fatalf("the first store of a new cache left %d lines in the record, want 1", got)
	}
	if err := tierOf(c).Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	for y := 2; y <= 4; y++ {
		store(y)
	}
	if got := len(explain.RecentLines(c.disk, "example.com/sim.Retrieve")); got != 3 {
		t.Errorf("after a Clear, 3 stores left %d lines in the record, want 3", got)
	}
}
