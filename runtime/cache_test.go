package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/testenv"
)

type mcResult struct {
	Precision, Bias float64
	Errors          []float64
}

// counter is a compute function that counts its runs.
type counter struct{ n atomic.Int64 }

func (c *counter) fn(v mcResult) func(context.Context) (mcResult, error) {
	return func(context.Context) (mcResult, error) {
		c.n.Add(1)
		return v, nil
	}
}

func open(t *testing.T, opts ...Option) (*Cache, *testenv.Buffer) {
	t.Helper()
	return openDir(t, t.TempDir(), opts...)
}

func openDir(t *testing.T, dir string, opts ...Option) (*Cache, *testenv.Buffer) {
	t.Helper()
	log := new(testenv.Buffer)
	c, err := Open(dir, append([]Option{WithLogger(slog.New(logline.New(log)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, log
}

func mcCall(snr float64) Call {
	return Call{Func: "example.com/sim.RunMonteCarlo", Version: 1, Params: map[string]any{"snr": snr, "nScenes": 1000, "seed": int64(42)}}
}

func TestDoMissThenHit(t *testing.T) {
	c, _ := open(t)
	var n counter
	want := mcResult{Precision: 0.00326, Bias: -1e-5, Errors: []float64{1, 2}}
	for i := range 3 {
		got, err := Do(context.Background(), c, mcCall(300), n.fn(want))
		if err != nil {
			t.Fatal(err)
		}
		if !deepEqualBits(got, want) {
			t.Fatalf("call %d: got %+v, want %+v", i, got, want)
		}
	}
	if n.n.Load() != 1 {
		t.Errorf("computed %d times, want 1", n.n.Load())
	}
	s := c.Stats()
	if s.Hits != 2 || s.Misses != 1 || s.Computations != 1 || s.BytesWritten == 0 || s.BytesRead == 0 {
		t.Errorf("stats %+v, want 2 hits, 1 miss, 1 computation, bytes read and written", s)
	}
}

// The reference guide's fatal bug: a cache that ignores its inputs serves
// the snr=300 result for snr=500.
func TestDoDifferentInputsDifferentEntries(t *testing.T) {
	c, _ := open(t)
	var n counter
	r300 := do(t, c, mcCall(300), n.fn(mcResult{Precision: 1.0 / 300}))
	r500 := do(t, c, mcCall(500), n.fn(mcResult{Precision: 1.0 / 500}))
	if r300.Precision == r500.Precision || n.n.Load() != 2 {
		t.Fatalf("snr=500 served %v after snr=300 gave %v, computed %d times", r500.Precision, r300.Precision, n.n.Load())
	}
}

func TestDoVersionBumpRecomputes(t *testing.T) {
	c, _ := open(t)
	var n counter
	call := mcCall(300)
	do(t, c, call, n.fn(mcResult{Bias: 1}))
	call.Version = 2
	got := do(t, c, call, n.fn(mcResult{Bias: 2}))
	if got.Bias != 2 || n.n.Load() != 2 {
		t.Fatalf("after a version bump got bias %v, computed %d times; want a fresh computation", got.Bias, n.n.Load())
	}
}

func TestDoDifferentFunctionsDifferentEntries(t *testing.T) {
	c, _ := open(t)
	a, b := mcCall(300), mcCall(300)
	b.Func = "example.com/sim.Other"
	do(t, c, a, func(context.Context) (int, error) { return 1, nil })
	got := do(t, c, b, func(context.Context) (int, error) { return 2, nil })
	if got != 2 {
		t.Fatalf("another function with the same params got %d, want its own result 2", got)
	}
}

func TestDoComputeErrorIsReturnedAndNotStored(t *testing.T) {
	c, _ := open(t)
	boom := errors.New("boom")
	v, err := Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 7, boom })
	if !errors.Is(err, boom) || v != 7 {
		t.Fatalf("got (%v, %v), want (7, boom)", v, err)
	}
	v, err = Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 8, nil })
	if err != nil || v != 8 {
		t.Fatalf("after a failed compute got (%v, %v), want a fresh (8, nil)", v, err)
	}
}

func TestDoStoreFailureStillReturnsResult(t *testing.T) {
	dir := t.TempDir()
	c, log := openDir(t, dir)
	key, _ := mcCall(300).Key()
	// A file where the entry's fan-out directory should be makes every
	// store of this key fail, whoever runs the test.
	if err := os.WriteFile(filepath.Join(dir, key[:2]), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := Do(context.Background(), c, mcCall(300), func(context.Context) (mcResult, error) { return mcResult{Bias: 3}, nil })
		if err != nil || got.Bias != 3 {
			t.Fatalf("got (%+v, %v), want the computed result", got, err)
		}
	}
	if s := c.Stats(); s.StoreErrors != 2 {
		t.Errorf("StoreErrors = %d, want 2", s.StoreErrors)
	}
	if n := strings.Count(log.String(), "could not store"); n != 1 {
		t.Errorf("store failure logged %d times, want once:\n%s", n, log)
	}
}

func TestDoUnkeyableArgumentsComputeUncached(t *testing.T) {
	c, log := open(t)
	call := Call{Func: "f", Params: map[string]any{"cb": func() {}}}
	for range 2 {
		v, err := Do(context.Background(), c, call, func(context.Context) (int, error) { return 5, nil })
		if err != nil || v != 5 {
			t.Fatalf("got (%v, %v), want (5, nil)", v, err)
		}
	}
	if s := c.Stats(); s.KeyErrors != 2 || s.Computations != 2 {
		t.Errorf("stats %+v, want 2 key errors and 2 computations", s)
	}
	if !strings.Contains(log.String(), "parameter cb: type func() cannot be keyed") {
		t.Errorf("log does not name the parameter:\n%s", log)
	}
}

func TestDoConcurrentSameKeyComputesOnce(t *testing.T) {
	c, _ := open(t)
	release := make(chan struct{})
	var runs atomic.Int64
	compute := func(context.Context) ([]float64, error) {
		runs.Add(1)
		<-release
		return []float64{1, 2, 3}, nil
	}
	const callers = 32
	results := make([][]float64, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			v, err := Do(context.Background(), c, mcCall(300), compute)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		})
	}
	time.Sleep(50 * time.Millisecond) // let the callers pile up on the key
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("computed %d times for one key, want 1", runs.Load())
	}
	for i, r := range results {
		if !deepEqualBits(r, []float64{1, 2, 3}) {
			t.Fatalf("caller %d got %v", i, r)
		}
	}
	// Each caller owns its result: changing one changes no other.
	results[0][0] = 99
	for i, r := range results[1:] {
		if r[0] == 99 {
			t.Fatalf("caller %d shares its result slice with caller 0", i+1)
		}
	}
}

func TestDoWaitingCallerHonoursContext(t *testing.T) {
	c, _ := open(t)
	release := make(chan struct{})
	started := make(chan struct{})
	leaderDone := make(chan struct{})
	defer func() { close(release); <-leaderDone }()
	go func() {
		defer close(leaderDone)
		Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil
		})
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := Do(ctx, c, mcCall(1), func(context.Context) (int, error) { return 2, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting caller got %v, want its own deadline", err)
	}
}

func TestDoWaiterComputesWhenTheComputingCallerGivesUp(t *testing.T) {
	c, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := Do(ctx, c, mcCall(1), func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		})
		done <- err
	}()
	<-started
	got := make(chan int)
	go func() {
		v, err := Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 2, nil })
		if err != nil {
			v = -1
		}
		got <- v
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	if v := <-got; v != 2 {
		t.Fatalf("the other caller got %d, want its own computation's 2", v)
	}
}

func TestModeOffComputesAndTouchesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, _ := openDir(t, dir, WithMode(ModeOff))
	var n counter
	for range 2 {
		do(t, c, mcCall(1), n.fn(mcResult{}))
	}
	if n.n.Load() != 2 {
		t.Errorf("off mode computed %d times, want 2", n.n.Load())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("off mode created the cache directory (stat: %v)", err)
	}
}

func TestModeRefreshComputesAndOverwrites(t *testing.T) {
	dir := t.TempDir()
	on, _ := openDir(t, dir)
	do(t, on, mcCall(1), func(context.Context) (int, error) { return 1, nil })
	refresh, _ := openDir(t, dir, WithMode(ModeRefresh))
	v := do(t, refresh, mcCall(1), func(context.Context) (int, error) { return 2, nil })
	if v != 2 {
		t.Fatalf("refresh served %d, want a fresh 2", v)
	}
	v = do(t, on, mcCall(1), func(context.Context) (int, error) { return 3, nil })
	if v != 2 {
		t.Fatalf("after refresh the entry holds %d, want the refreshed 2", v)
	}
}

func TestModeReadOnlyServesHitsAndNeverWrites(t *testing.T) {
	dir := t.TempDir()
	on, _ := openDir(t, dir)
	do(t, on, mcCall(1), func(context.Context) (int, error) { return 1, nil })
	ro, _ := openDir(t, dir, WithMode(ModeReadOnly))
	if v := do(t, ro, mcCall(1), func(context.Context) (int, error) { return 9, nil }); v != 1 {
		t.Errorf("readonly did not serve the hit: got %d", v)
	}
	var n counter
	for range 2 {
		do(t, ro, mcCall(2), n.fn(mcResult{}))
	}
	if n.n.Load() != 2 {
		t.Errorf("readonly miss computed %d times over two calls, want 2 (nothing stored)", n.n.Load())
	}
	if es, _ := tierOf(on).List(context.Background()); len(es) != 1 {
		t.Errorf("readonly wrote: %d entries, want 1", len(es))
	}
	if _, err := ro.Invalidate(context.Background(), mcCall(1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Invalidate on readonly: %v, want ErrReadOnly", err)
	}
}

func TestInvalidateRemovesOneEntry(t *testing.T) {
	c, _ := open(t)
	var n counter
	do(t, c, mcCall(300), n.fn(mcResult{}))
	do(t, c, mcCall(500), n.fn(mcResult{}))
	if ok, err := c.Invalidate(context.Background(), mcCall(300)); !ok || err != nil {
		t.Fatalf("Invalidate = (%v, %v), want (true, nil)", ok, err)
	}
	if ok, _ := c.Invalidate(context.Background(), mcCall(300)); ok {
		t.Error("second Invalidate reported an entry")
	}
	do(t, c, mcCall(300), n.fn(mcResult{}))
	do(t, c, mcCall(500), n.fn(mcResult{}))
	if n.n.Load() != 3 {
		t.Errorf("computed %d times, want 3 (only the invalidated call again)", n.n.Load())
	}
}

func TestRemoveRejectsMalformedKeys(t *testing.T) {
	c, _ := open(t)
	for _, k := range []string{"", "../../etc/passwd", "C66F1DE772E87E1F", "c66f1de772e87e1", "c66f1de772e87e1f0"} {
		if _, err := c.Remove(context.Background(), k); !errors.Is(err, ErrBadKey) {
			t.Errorf("Remove(%q) = %v, want ErrBadKey", k, err)
		}
	}
}

func TestEntriesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, _ := openDir(t, dir)
	do(t, c, mcCall(1), func(context.Context) (int, error) { return 1, nil })
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	key, _ := mcCall(1).Key()
	fi, err = os.Stat(c.disk.Path(key))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("entry mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

func TestTTLRecomputesStaleEntries(t *testing.T) {
	c, _ := open(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	call := mcCall(1)
	call.TTL = time.Hour
	var n counter
	do(t, c, call, n.fn(mcResult{}))
	now = now.Add(59 * time.Minute)
	do(t, c, call, n.fn(mcResult{}))
	if n.n.Load() != 1 {
		t.Fatalf("a fresh entry was recomputed")
	}
	now = now.Add(2 * time.Minute)
	do(t, c, call, n.fn(mcResult{}))
	if n.n.Load() != 2 {
		t.Fatalf("an entry older than its TTL was served")
	}
}

func TestResultTypeChangeIsAMiss(t *testing.T) {
	c, _ := open(t)
	type v1 struct{ A float64 }
	type v2 struct {
		A float64
		B float64
	}
	do(t, c, mcCall(1), func(context.Context) (v1, error) { return v1{A: 1}, nil })
	got := do(t, c, mcCall(1), func(context.Context) (v2, error) { return v2{A: 1, B: 2}, nil })
	if got.B != 2 {
		t.Fatalf("an entry of the old result type decoded into the new one: %+v", got)
	}
	if c.Stats().Corrupt != 1 {
		t.Errorf("Corrupt = %d, want the mismatch counted", c.Stats().Corrupt)
	}
}

func TestVerboseLogsHitsAndMisses(t *testing.T) {
	c, log := open(t, WithVerbose(true))
	c.now = func() time.Time { return time.Date(2026, 3, 31, 7, 8, 26, 0, time.Local) }
	key, _ := mcCall(300).Key()
	for range 2 {
		do(t, c, mcCall(300), func(context.Context) (int, error) { return 1, nil })
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	wantMiss := fmt.Sprintf("cachegen: [MISS] computing key=%s fn=example.com/sim.RunMonteCarlo version=1 why=the cache records no entry of this function", key)
	wantHit := fmt.Sprintf("cachegen: [HIT] key=%s fn=example.com/sim.RunMonteCarlo version=1 computed=2026-03-31T07:08:26", key)
	if len(lines) != 2 || lines[0] != wantMiss || !strings.HasPrefix(lines[1], wantHit) || !strings.HasSuffix(lines[1], " took=0s bytes=256 tier=local") {
		t.Fatalf("log:\n%s\nwant lines like:\n%s\n%s… took=0s bytes=256 tier=local", log, wantMiss, wantHit)
	}
}

// TestLogsAreRecords checks that a handler a user gives gets each hit as
// a record with attributes to filter and count on, not only text.
func TestLogsAreRecords(t *testing.T) {
	var buf bytes.Buffer
	c, err := Open(t.TempDir(), WithVerbose(true), WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := Do(context.Background(), c, mcCall(300), func(context.Context) (int, error) { return 1, nil }); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := mcCall(300).Key()
	var hit map[string]any
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if rec["msg"] == "[HIT]" {
			hit = rec
		}
	}
	for k, want := range map[string]any{"key": key, "fn": "example.com/sim.RunMonteCarlo", "version": 1.0, "tier": "local"} {
		if hit[k] != want {
			t.Errorf("hit record %v: %s = %v, want %v", hit, k, hit[k], want)
		}
	}
	if _, ok := hit["bytes"].(float64); !ok {
		t.Errorf("hit record %v has no bytes", hit)
	}
	if _, ok := hit["took"]; !ok {
		t.Errorf("hit record %v has no took", hit)
	}
}

func TestOpenRejectsBadConfiguration(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(filepath.Join(file, "cache")); err == nil {
		t.Error("Open under a regular file succeeded")
	}
	if _, err := Open(""); err == nil {
		t.Error("Open of an empty path succeeded")
	}
	if _, err := Open(t.TempDir(), WithMode(Mode(42))); err == nil {
		t.Error("Open with an invalid mode succeeded")
	}
}

func TestDefaultFromEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	cases := []struct {
		name, dir, mode, verbose string
		wantMode                 Mode
		wantLog                  string
	}{
		{"defaults", "DIR", "", "", ModeOn, ""},
		{"readonly", "DIR", "readonly", "1", ModeReadOnly, ""},
		{"refresh", "DIR", "refresh", "", ModeRefresh, ""},
		{"bad mode", "DIR", "sometimes", "", ModeOff, `CACHEGEN_MODE="sometimes" is not a mode: set it to on, off, refresh, readonly or verify`},
		{"unmakeable dir", filepath.Join(file, "cache"), "", "", ModeOff, "set CACHEGEN_DIR to a directory you can write"},
		{"bad verbose", "DIR", "", "loud", ModeOn, `CACHEGEN_VERBOSE="loud" is not a boolean`},
		{"case", "DIR", "ReadOnly", "TRUE", ModeReadOnly, ""},
		{"off in capitals", "DIR", " OFF", "", ModeOff, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "DIR" {
				dir = t.TempDir()
			}
			t.Setenv(envDir, dir)
			t.Setenv(envMode, tc.mode)
			t.Setenv(envVerbose, tc.verbose)
			var log bytes.Buffer
			c := fromEnv(slog.New(logline.New(&log)))
			if c.Mode() != tc.wantMode {
				t.Errorf("mode %v, want %v", c.Mode(), tc.wantMode)
			}
			if wantVerbose := strings.EqualFold(tc.verbose, "true") || tc.verbose == "1"; c.verbose != wantVerbose {
				t.Errorf("verbose %v, want %v", c.verbose, wantVerbose)
			}
			if tc.wantMode != ModeOff && c.Dir() != dir {
				t.Errorf("dir %q, want %q", c.Dir(), dir)
			}
			if tc.wantLog == "" && log.Len() > 0 || !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log %q, want %q", log.String(), tc.wantLog)
			}
			if v, err := Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 4, nil }); v != 4 || err != nil {
				t.Errorf("Do = (%v, %v), want (4, nil) whatever the configuration", v, err)
			}
		})
	}
}

func TestSetDefault(t *testing.T) {
	c, _ := open(t)
	old := SetDefault(c)
	t.Cleanup(func() { SetDefault(old) })
	if Default() != c {
		t.Fatal("Default did not return the cache given to SetDefault")
	}
	var n counter
	if _, err := Do(context.Background(), nil, mcCall(1), n.fn(want)); err != nil || c.Stats().Misses != 1 {
		t.Fatalf("Do with a nil cache: %v, stats %+v: want the call made on the cache given to SetDefault", err, c.Stats())
	}
	if prev := SetDefault(nil); prev != c {
		t.Fatalf("SetDefault returned %p, want the cache it replaced, %p", prev, c)
	}
	dir := t.TempDir()
	t.Setenv("CACHEGEN_DIR", dir)
	if d := Default(); d == c || d.Dir() != dir {
		t.Fatalf("after SetDefault(nil), Default is %s, want a cache opened from the environment in %s", d.Dir(), dir)
	}
}

// A cache carried by the context wins over the default for Do with a nil
// cache, and for the calls its computation makes; an explicit cache wins
// over both.
func TestWithCache(t *testing.T) {
	def, _ := open(t)
	old := SetDefault(def)
	t.Cleanup(func() { SetDefault(old) })
	carried, _ := open(t)
	explicit, _ := open(t)
	ctx := WithCache(context.Background(), carried)
	var n counter
	if _, err := Do(ctx, nil, mcCall(1), func(ctx context.Context) (mcResult, error) {
		return Do(ctx, nil, mcCall(2), n.fn(want)) // a nested cached call
	}); err != nil {
		t.Fatal(err)
	}
	if s := carried.Stats(); s.Misses != 2 || def.Stats().Misses != 0 {
		t.Errorf("carried %+v, default %+v: want both calls on the carried cache", s, def.Stats())
	}
	if _, err := Do(ctx, explicit, mcCall(3), n.fn(want)); err != nil || explicit.Stats().Misses != 1 {
		t.Errorf("an explicit cache: %v, %+v: want it used", err, explicit.Stats())
	}
	if _, err := Do(WithCache(context.Background(), nil), nil, mcCall(4), n.fn(want)); err != nil || def.Stats().Misses != 1 {
		t.Errorf("a nil carried cache: %v, default %+v: want the default", err, def.Stats())
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ModeOn, ModeOff, ModeRefresh, ModeReadOnly, ModeVerify} {
		if got, err := parseMode(m.String()); got != m || err != nil {
			t.Errorf("parseMode(%q) = (%v, %v)", m.String(), got, err)
		}
	}
	if _, err := parseMode("ON"); err == nil {
		t.Error("parseMode accepted ON")
	}
}

// deepEqualBits is reflect.DeepEqual, except that floats are equal when
// their bits are: NaN equals the same NaN, and 0.0 differs from -0.0.
func deepEqualBits(a, b any) bool {
	return equalValues(valueOf(a), valueOf(b))
}

func discardLogger() *slog.Logger { return slog.New(logline.New(io.Discard)) }

func TestOpenRefusesADirectoryOthersCanWrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "writable by other users") || !strings.Contains(err.Error(), "chmod go-w") {
		t.Fatalf("Open of a 0777 directory: %v, want a refusal saying why and how to fix it", err)
	}
	if _, err := Open(dir, WithSharedDir()); err != nil {
		t.Fatalf("Open WithSharedDir: %v", err)
	}
	// A shared system directory, sticky like /tmp, gets no advice to
	// change its mode; the environment's way out is named, once.
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir)
	if err == nil || strings.Contains(err.Error(), "chmod") || !strings.Contains(err.Error(), "CACHEGEN_SHARED_DIR=1") || strings.Contains(err.Error(), "cachegen:") {
		t.Fatalf("Open of a sticky 0777 directory: %v", err)
	}
}

func TestVerifyModeCatchesNonDeterministicFunctions(t *testing.T) {
	dir := t.TempDir()
	on, _ := openDir(t, dir)
	n := 0
	noisy := func(context.Context) (mcResult, error) { n++; return mcResult{Bias: float64(n)}, nil }
	do(t, on, mcCall(1), noisy)
	c, log := openDir(t, dir, WithMode(ModeVerify))
	got, err := Do(context.Background(), c, mcCall(1), noisy)
	if err != nil || got.Bias != 2 {
		t.Fatalf("verify returned (%+v, %v), want the fresh computation", got, err)
	}
	key, _ := mcCall(1).Key()
	if c.Stats().VerifyMismatches != 1 || !strings.Contains(log.String(), "ERROR: [VERIFY] a fresh computation differs") || !strings.Contains(log.String(), "key="+key+" fn=example.com/sim.RunMonteCarlo") {
		t.Fatalf("mismatch not reported: %+v\n%s", c.Stats(), log)
	}
}

func TestVerifyModeCatchesAChangedBodyServedFromAnOldEntry(t *testing.T) {
	dir := t.TempDir()
	on, _ := openDir(t, dir)
	do(t, on, mcCall(1), func(context.Context) (float64, error) { return 1.0 / 300, nil })
	// The body changed, the version did not: ModeOn serves the old result.
	changed := func(context.Context) (float64, error) { return 1.0 / 500, nil }
	if v := do(t, on, mcCall(1), changed); v != 1.0/300 {
		t.Fatal("expected the old entry to be served")
	}
	c, _ := openDir(t, dir, WithMode(ModeVerify))
	if v := do(t, c, mcCall(1), changed); v != 1.0/500 || c.Stats().VerifyMismatches != 1 {
		t.Fatalf("verify returned %v with %d mismatches", v, c.Stats().VerifyMismatches)
	}
}

func TestVerifyModeAcceptsDeterministicResults(t *testing.T) {
	dir := t.TempDir()
	on, _ := openDir(t, dir)
	// Maps encode in a deterministic order, so equal results compare equal.
	compute := func(context.Context) (map[string][]float64, error) {
		m := map[string][]float64{}
		for i := range 50 {
			m[fmt.Sprint("k", i)] = []float64{float64(i), math.NaN()}
		}
		return m, nil
	}
	do(t, on, mcCall(1), compute)
	c, _ := openDir(t, dir, WithMode(ModeVerify))
	for range 3 {
		do(t, c, mcCall(1), compute)
	}
	if s := c.Stats(); s.VerifyMismatches != 0 || s.Hits != 3 || s.Computations != 3 {
		t.Fatalf("stats %+v: want 3 verified hits and no mismatch", s)
	}
}

// do calls Do on c and fails the test on an error, which no call in these
// tests expects.
func do[T any](t *testing.T, c *Cache, call Call, compute func(context.Context) (T, error)) T {
	t.Helper()
	v, err := Do(context.Background(), c, call, compute)
	if err != nil {
		t.Fatalf("Do(%s): %v", call.Func, err)
	}
	return v
}

// Verbose lines say why a call computes: a refresh, an expired entry, or a
// wait for another process's computation.
func TestVerboseSaysWhyACallComputes(t *testing.T) {
	one := func(context.Context) (int, error) { return 1, nil }
	dir := t.TempDir()
	c, log := openDir(t, dir, WithMode(ModeRefresh), WithVerbose(true))
	do(t, c, mcCall(1), one)
	if !strings.Contains(log.String(), "[REFRESH] computing") || strings.Contains(log.String(), "[MISS]") {
		t.Errorf("refresh mode:\n%s", log)
	}

	c, log = openDir(t, dir, WithVerbose(true))
	call := mcCall(1)
	call.TTL = time.Hour
	do(t, c, call, one)
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	do(t, c, call, one)
	if !strings.Contains(log.String(), "[EXPIRED] computing again: the stored result is older than its ttl") {
		t.Errorf("an expired entry:\n%s", log)
	}

	holder, _ := openDir(t, dir)
	key := keyOf(t, mcCall(2))
	unlock, _, err := holder.lockKey(context.Background(), key, func() {})
	if err != nil {
		t.Fatal(err)
	}
	var sb testenv.Buffer
	c, _ = openDir(t, dir, WithVerbose(true), WithLogger(slog.New(logline.New(&sb))))
	text := sb.String
	done := make(chan struct{})
	go func() {
		defer close(done)
		Do(context.Background(), c, mcCall(2), one)
	}()
	for !strings.Contains(text(), "[WAIT]") {
		time.Sleep(time.Millisecond)
	}
	unlock()
	<-done
	if !strings.Contains(text(), "[WAIT] another process is computing this call: waiting for its result key="+key) {
		t.Errorf("a wait:\n%s", text())
	}
}

func TestStatsSavedAndString(t *testing.T) {
	c, _ := open(t)
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	ticks := 0
	c.now = func() time.Time { ticks++; return t0.Add(time.Duration(ticks) * 1500 * time.Millisecond) }
	for range 3 {
		do(t, c, mcCall(1), func(context.Context) (int, error) { return 1, nil })
	}
	s := c.Stats()
	if s.Saved != 3*time.Second {
		t.Errorf("Saved %v, want two hits of a 1.5s computation", s.Saved)
	}
	want := "cachegen: 2 hits, 1 miss (1 computed); 1.0 KiB read, 512 B written; saved 3s of computing"
	if got := s.String(); !strings.HasPrefix(got, "cachegen: 2 hits, 1 miss (1 computed); ") || !strings.HasSuffix(got, "written; saved 3s of computing") {
		t.Errorf("String() = %q, want one line like %q", got, want)
	}
	s.StoreErrors, s.RemoteHits = 2, 1
	if got := s.String(); !strings.HasSuffix(got, "; 1 from the remote; 2 store errors") {
		t.Errorf("String() = %q, want the remote hits and the problems at the end", got)
	}
}

// A test binary that opens the default cache in the user's cache directory
// is told how to give its tests a cache of their own.
func TestDefaultInATestWarnsOfTheUserCache(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	t.Setenv(envDir, "")
	var log bytes.Buffer
	c := fromEnv(slog.New(logline.New(&log)))
	if !strings.HasPrefix(c.Dir(), home) || !strings.Contains(log.String(), "a test is using the default cache, in the user's cache directory: give the test a cache of its own with cachetest.Use(t)") {
		t.Errorf("dir %s, log:\n%s", c.Dir(), log.String())
	}
	log.Reset()
	t.Setenv(envDir, t.TempDir())
	fromEnv(slog.New(logline.New(&log)))
	if log.Len() != 0 {
		t.Errorf("a test that chose its directory was warned:\n%s", log.String())
	}
}

// A call marked to look up only (a sweep's first look at its points)
// serves an entry either tier holds and computes nothing: a miss, and
// every mode that does not serve entries as they are, are ErrNotCached,
// with nothing computed, stored or locked.
func TestLookupOnlyNeverComputes(t *testing.T) {
	c, _ := open(t)
	computed := 0
	compute := func(context.Context) (mcResult, error) { computed++; return want, nil }
	var l callctx.Lookup
	if _, err := Do(callctx.WithLookup(context.Background(), &l), c, mcCall(1), compute); !errors.Is(err, callctx.ErrNotCached) || l.Hit {
		t.Errorf("a lookup of a miss: %v, %+v; want ErrNotCached", err, l)
	}
	if es, _ := tierOf(c).List(context.Background()); computed != 0 || len(es) != 0 {
		t.Fatalf("a lookup of a miss computed %d times and left %d entries", computed, len(es))
	}
	do(t, c, mcCall(1), compute)
	computed = 0
	l = callctx.Lookup{}
	got, err := Do(callctx.WithLookup(context.Background(), &l), c, mcCall(1), compute)
	if err != nil || !equalResult(got, want) || !l.Hit || computed != 0 {
		t.Errorf("a lookup of a hit: %+v, %v, %+v, computed %d", got, err, l, computed)
	}
	for _, m := range []Mode{ModeRefresh, ModeVerify, ModeOff} {
		cm, _ := openDir(t, c.Dir(), WithMode(m))
		l = callctx.Lookup{}
		if _, err := Do(callctx.WithLookup(context.Background(), &l), cm, mcCall(1), compute); !errors.Is(err, callctx.ErrNotCached) || l.Hit || computed != 0 {
			t.Errorf("a lookup in mode %v: %v, %+v, computed %d; want ErrNotCached and nothing computed", m, err, l, computed)
		}
	}
}

// tierOf returns c's directory as a person manages it (see package
// maintain), with c's signing key, privacy, mode and clock.
func tierOf(c *Cache) *maintain.Tier {
	t, err := maintain.Open(c.dir, maintain.Options{SigningKey: c.signKey, Shared: !c.disk.Private(), ReadOnly: c.mode == ModeReadOnly, Now: func() time.Time { return c.now() }})
	if err != nil {
		panic(err)
	}
	return t
}
