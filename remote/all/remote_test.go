package all_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/internal/testredis"
	"github.com/cachegen/cachegen/remote"
	_ "github.com/cachegen/cachegen/remote/all" // every store, under test
	"github.com/cachegen/cachegen/remote/storetest"
	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/sweep"
	"gocloud.dev/blob"
)

func TestStores(t *testing.T) {
	ctx := context.Background()
	open := func(rawURL func(t *testing.T) string) func(t *testing.T) remote.Store {
		return func(t *testing.T) remote.Store {
			r, err := remote.Open(ctx, rawURL(t), remote.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return r.Store()
		}
	}
	t.Run("redis", func(t *testing.T) {
		t.Parallel() // each its own store: their lease tests wait out a lease time at once
		storetest.Run(t, open(func(t *testing.T) string { return testredis.Start(t).URL }))
	})
	t.Run("s3", func(t *testing.T) { // not in parallel: it sets the environment
		storetest.Run(t, open(func(t *testing.T) string { return startS3(t, "team", "cache/v1") }))
	})
	t.Run("file", func(t *testing.T) {
		t.Parallel() // each its own store: their lease tests wait out a lease time at once
		storetest.Run(t, open(func(t *testing.T) string { return "file://" + t.TempDir() }))
	})
	t.Run("mem", func(t *testing.T) {
		t.Parallel() // each its own store: their lease tests wait out a lease time at once
		storetest.Run(t, open(func(t *testing.T) string { return "mem://" }))
	})
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	t.Run("s3 path is a prefix", func(t *testing.T) {
		r, err := remote.Open(ctx, startS3(t, "team", "cache/v1"), remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.Store().Put(ctx, "0123456789abcdef", []byte("x")); err != nil {
			t.Fatal(err)
		}
		whole, err := blob.OpenBucket(ctx, strings.Replace(r.String(), "/cache/v1?", "?", 1))
		if err != nil {
			t.Fatal(err)
		}
		defer whole.Close()
		if ok, err := whole.Exists(ctx, "cache/v1/entries/0123456789abcdef"); !ok || err != nil {
			t.Errorf("no object cache/v1/entries/0123456789abcdef in the bucket (%v): the URL's path must be a key prefix", err)
		}
	})
	t.Run("bad redis URL", func(t *testing.T) {
		_, err := remote.Open(ctx, "redis://u:hunter2hunter2@h:notaport/0", remote.Options{})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open of a bad redis URL: %v; want an error without the password", err)
		}
	})
	t.Run("redis prefix", func(t *testing.T) {
		srv := testredis.Start(t)
		r, err := remote.Open(ctx, srv.URL+"?prefix=team1/", remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.Store().Put(ctx, "0123456789abcdef", []byte("x"))
		d, err := remote.Open(ctx, srv.URL, remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.Store().Put(ctx, "0123456789abcdef", []byte("x"))
		keys := srv.Client(t).Keys(ctx, "*").Val()
		slices.Sort(keys)
		want := []string{"cachegen:e:0123456789abcdef", "cachegen:u:0123456789abcdef", "team1/e:0123456789abcdef", "team1/u:0123456789abcdef"}
		if !slices.Equal(keys, want) {
			t.Errorf("keys %v, want %v: the entries and their records of use under their prefixes", keys, want)
		}
	})
}

// The scenarios below run caches in child processes: this test binary,
// run again with childEnv set, performs one call and prints what happened.
const childEnv = "CACHEGEN_REMOTE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// childResult is what a child prints.
type childResult struct {
	Value []float64
	Stats cacheruntime.Stats
	Err   string
}

// simulate is the slow computation the children share: it appends
// "start ID" to the file CHILD_LOG, sleeps CHILD_SLEEP, and returns a
// result derived from n.
func simulate(n int) func(context.Context) ([]float64, error) {
	return func(ctx context.Context) ([]float64, error) {
		f, err := os.OpenFile(os.Getenv("CHILD_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(f, "start %s\n", os.Getenv("CHILD_ID"))
		f.Close()
		d, _ := time.ParseDuration(os.Getenv("CHILD_SLEEP"))
		time.Sleep(d)
		return []float64{float64(n), float64(n) / 3, -float64(n)}, nil
	}
}

func simCall(n int) cacheruntime.Call {
	return cacheruntime.Call{Func: "github.com/cachegen/cachegen/remote.Simulate", Version: 1, Params: map[string]any{"n": n}}
}

// child runs one call: with CHILD_ENV=1 on the cache that the CACHEGEN_
// variables configure, as a generated wrapper would; otherwise on a cache
// in CHILD_DIR in front of CHILD_REMOTE, with lease time CHILD_LEASE.
func child() int {
	ctx := context.Background()
	c := cacheruntime.Default()
	if os.Getenv("CHILD_ENV") != "1" {
		lease, _ := time.ParseDuration(os.Getenv("CHILD_LEASE"))
		r, err := remote.Open(ctx, os.Getenv("CHILD_REMOTE"), remote.Options{LeaseTTL: lease})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer r.Close()
		if c, err = cacheruntime.Open(os.Getenv("CHILD_DIR"), cacheruntime.WithRemote(r)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	n, _ := strconv.Atoi(os.Getenv("CHILD_N"))
	v, err := cacheruntime.Do(ctx, c, simCall(n), simulate(n))
	res := childResult{Value: v, Stats: c.Stats()}
	if err != nil {
		res.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// scenario holds what the children of one test share.
type scenario struct {
	t      *testing.T
	remote string
	log    string // the computations' log
}

func newScenario(t *testing.T, remote string) *scenario {
	return &scenario{t: t, remote: remote, log: filepath.Join(t.TempDir(), "computations")}
}

// start starts a child with its own cache directory.
func (s *scenario) start(id string, n int, sleep, lease time.Duration, env ...string) (*exec.Cmd, *bytes.Buffer) {
	s.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	dir := s.t.TempDir()
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_ID="+id, "CHILD_N="+strconv.Itoa(n),
		"CHILD_SLEEP="+sleep.String(), "CHILD_LEASE="+lease.String(), "CHILD_LOG="+s.log,
		"CHILD_DIR="+dir, "CHILD_REMOTE="+s.remote, "CACHEGEN_DIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	return cmd, &out
}

// wait waits for a child and returns what it printed.
func (s *scenario) wait(cmd *exec.Cmd, out *bytes.Buffer) childResult {
	s.t.Helper()
	if err := cmd.Wait(); err != nil {
		s.t.Fatalf("child: %v\n%s", err, out)
	}
	var res childResult
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Err != "" {
		s.t.Fatalf("child printed %q (%v)", out, err)
	}
	return res
}

func (s *scenario) run(id string, n int, env ...string) childResult {
	s.t.Helper()
	return s.wait(s.start(id, n, 0, time.Second, env...))
}

// starts returns the IDs of the children that started computing.
func (s *scenario) starts() []string {
	b, _ := os.ReadFile(s.log)
	var ids []string
	for _, line := range strings.Fields(string(b)) {
		if line != "start" {
			ids = append(ids, line)
		}
	}
	return ids
}

func wantValue(n int) []float64 { return []float64{float64(n), float64(n) / 3, -float64(n)} }

func TestTwoProcessesShareRedis(t *testing.T) {
	srv := testredis.Start(t)
	s := newScenario(t, srv.URL)
	// Configured as a user would: CACHEGEN_REMOTE, read by Default.
	env := []string{"CHILD_ENV=1", "CACHEGEN_REMOTE=" + srv.URL}
	first := s.run("first", 7, env...)
	second := s.run("second", 7, env...)
	if !slices.Equal(first.Value, wantValue(7)) || !slices.Equal(second.Value, wantValue(7)) {
		t.Fatalf("values %v and %v, want %v", first.Value, second.Value, wantValue(7))
	}
	if st := second.Stats; st.RemoteHits != 1 || st.Computations != 0 {
		t.Errorf("second process: %+v; want a remote hit and no computation", st)
	}
	if ids := s.starts(); !slices.Equal(ids, []string{"first"}) {
		t.Errorf("computed by %v, want only the first process", ids)
	}
}

func TestFourProcessesOneKeyComputeOnce(t *testing.T) {
	testenv.Slow(t) // four processes, computing a second each
	srv := testredis.Start(t)
	s := newScenario(t, srv.URL)
	type proc struct {
		cmd *exec.Cmd
		out *bytes.Buffer
	}
	var procs []proc
	for i := range 4 {
		cmd, out := s.start(fmt.Sprint("p", i), 11, time.Second, 3*time.Second)
		procs = append(procs, proc{cmd, out})
	}
	var computed int64
	for _, p := range procs {
		res := s.wait(p.cmd, p.out)
		if !slices.Equal(res.Value, wantValue(11)) {
			t.Errorf("a process got %v, want %v", res.Value, wantValue(11))
		}
		computed += res.Stats.Computations
	}
	if ids := s.starts(); len(ids) != 1 || computed != 1 {
		t.Errorf("four processes on one key computed %d times (%v), want once", computed, ids)
	}
}

func TestKilledLeaseHolderIsTakenOver(t *testing.T) {
	testenv.Slow(t) // waits out two lease times
	srv := testredis.Start(t)
	s := newScenario(t, srv.URL)
	const lease = 2 * time.Second
	holder, holderOut := s.start("holder", 13, time.Hour, lease)
	waitFor(t, func() bool { return slices.Contains(s.starts(), "holder") }, "the holder to start computing", holderOut)

	waiter, waiterOut := s.start("waiter", 13, 0, lease)
	// Over two lease times, the holder's renewals keep the waiter waiting.
	time.Sleep(2 * lease)
	if ids := s.starts(); !slices.Equal(ids, []string{"holder"}) {
		t.Fatalf("computing: %v; want the waiter to wait while the holder's lease is renewed", ids)
	}
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	holder.Wait()

	res := s.wait(waiter, waiterOut)
	if !slices.Equal(res.Value, wantValue(13)) || res.Stats.Computations != 1 {
		t.Errorf("waiter: %v, %+v; want it to compute the value once the dead holder's lease expired", res.Value, res.Stats)
	}
	if ids := s.starts(); !slices.Equal(ids, []string{"holder", "waiter"}) {
		t.Errorf("computing: %v", ids)
	}
}

func waitFor(t *testing.T, cond func() bool, what string, out *bytes.Buffer) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s:\n%s", what, out)
		}
	}
}

// openCache opens a cache in a fresh directory in front of remote.
func openCache(t *testing.T, url string, o remote.Options, opts ...cacheruntime.Option) (*cacheruntime.Cache, *testenv.Buffer) {
	t.Helper()
	r, err := remote.Open(context.Background(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	log := &testenv.Buffer{}
	logger := slog.New(slog.NewTextHandler(log, nil))
	c, err := cacheruntime.Open(t.TempDir(), append([]cacheruntime.Option{cacheruntime.WithRemote(r), cacheruntime.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, log
}

func compute(n int, count *int) func(context.Context) ([]float64, error) {
	return func(context.Context) ([]float64, error) {
		*count++
		return wantValue(n), nil
	}
}

func TestRedisStoppedMidRun(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	o := remote.Options{Timeout: 2 * time.Second, FailureLimit: 3, Cooldown: time.Hour}
	a, _ := openCache(t, srv.URL, o)
	var computed int
	for n := range 10 {
		if v, err := cacheruntime.Do(ctx, a, simCall(n), compute(n, &computed)); err != nil || !slices.Equal(v, wantValue(n)) {
			t.Fatalf("call %d: %v, %v", n, v, err)
		}
	}
	// A second machine reads some of them, then Redis stops.
	b, log := openCache(t, srv.URL, o)
	for n := range 5 {
		cacheruntime.Do(ctx, b, simCall(n), compute(n, &computed))
	}
	if st := b.Stats(); st.RemoteHits != 5 {
		t.Fatalf("before the outage: %+v, want 5 remote hits", st)
	}
	srv.Stop()
	computed = 0
	for n := range 20 {
		v, err := cacheruntime.Do(ctx, b, simCall(n), compute(n, &computed))
		if err != nil || !slices.Equal(v, wantValue(n)) {
			t.Fatalf("call %d with Redis stopped: %v, %v; want the right value", n, v, err)
		}
	}
	if computed != 15 {
		t.Errorf("computed %d calls with Redis stopped, want 15 (5 were local hits)", computed)
	}
	if st := b.Stats(); st.RemoteErrors != 3 {
		t.Errorf("RemoteErrors %d, want 3: the breaker stops asking after three failures", st.RemoteErrors)
	}
	if n := strings.Count(log.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings, want the outage logged once:\n%s", n, log)
	}
}

func TestReadOnlyRemoteSendsNoWrites(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	var computed int
	w, _ := openCache(t, srv.URL, remote.Options{})
	cacheruntime.Do(ctx, w, simCall(1), compute(1, &computed))

	rdb := srv.Client(t)
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	c, _ := openCache(t, srv.URL, remote.Options{ReadOnly: true})
	for _, n := range []int{1, 2, 2} { // a remote hit, a miss, a local hit
		if v, err := cacheruntime.Do(ctx, c, simCall(n), compute(n, &computed)); err != nil || !slices.Equal(v, wantValue(n)) {
			t.Fatalf("%v, %v", v, err)
		}
	}
	c.Invalidate(context.Background(), simCall(1))
	if st := c.Stats(); st.RemoteHits != 1 {
		t.Errorf("stats %+v, want one remote hit", st)
	}
	stats := rdb.Info(ctx, "commandstats").Val()
	var cmds []string
	for _, line := range strings.Split(stats, "\n") {
		if name, _, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":"); ok && strings.HasPrefix(line, "cmdstat_") {
			cmds = append(cmds, name)
		}
	}
	for _, cmd := range cmds {
		if !slices.Contains([]string{"getrange", "exists", "config|resetstat", "info", "hello", "client|setinfo", "ping"}, cmd) {
			t.Errorf("a read-only remote sent %q (all: %v)", cmd, cmds)
		}
	}
	if !slices.Contains(cmds, "getrange") {
		t.Errorf("commands %v: the read-only remote was not asked at all", cmds)
	}
}

func TestS3SharedCache(t *testing.T) {
	ctx := context.Background()
	url := startS3(t, "team", "results")
	var computed int
	a, _ := openCache(t, url, remote.Options{})
	b, _ := openCache(t, url, remote.Options{})
	cacheruntime.Do(ctx, a, simCall(3), compute(3, &computed))
	v, err := cacheruntime.Do(ctx, b, simCall(3), compute(3, &computed))
	if err != nil || !slices.Equal(v, wantValue(3)) || computed != 1 || b.Stats().RemoteHits != 1 {
		t.Fatalf("through S3: %v, %v, computed %d, %+v; want a remote hit", v, err, computed, b.Stats())
	}

	// Three caches on one key compute once: the lease is an object
	// created only if absent.
	var mu sync.Mutex
	var wg sync.WaitGroup
	n := 0
	for range 3 {
		c, _ := openCache(t, url, remote.Options{LeaseTTL: 2 * time.Second})
		wg.Go(func() {
			v, err := cacheruntime.Do(ctx, c, simCall(4), func(context.Context) ([]float64, error) {
				mu.Lock()
				n++
				mu.Unlock()
				time.Sleep(300 * time.Millisecond)
				return wantValue(4), nil
			})
			if err != nil || !slices.Equal(v, wantValue(4)) {
				t.Errorf("%v, %v", v, err)
			}
		})
	}
	wg.Wait()
	if n != 1 {
		t.Errorf("three caches sharing an S3 bucket computed %d times, want 1", n)
	}
}

// TestS3BadBodiesAreMisses serves entries cut short (the connection closes
// before the promised length) and empty: each is a miss and the call
// computes, never a hit on what arrived.
func TestS3BadBodiesAreMisses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name          string
		body          func([]byte) []byte
		corrupt, errs int64
	}{
		// A failed get is counted at the lookup and again at the look
		// after the lease; a bad body is counted once, since the same
		// bytes are not checked twice.
		{"cut short", func(b []byte) []byte { return b[:len(b)/2] }, 0, 2},
		{"empty", func([]byte) []byte { return nil }, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bad atomic.Bool
			url := startS3Through(t, "team", "cache", func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !bad.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/entries/") {
						h.ServeHTTP(w, r)
						return
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					body := tc.body(rec.Body.Bytes())
					maps.Copy(w.Header(), rec.Header())
					// As from a server that sends no checksum: the
					// client has only the cache's own checks.
					for k := range w.Header() {
						if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum") {
							w.Header().Del(k)
						}
					}
					if len(body) == 0 {
						w.Header().Set("Content-Length", "0")
					}
					w.WriteHeader(rec.Code)
					w.Write(body) // cut short: fewer bytes than Content-Length promised
				})
			})
			var computed int
			a, _ := openCache(t, url, remote.Options{})
			cacheruntime.Do(ctx, a, simCall(5), compute(5, &computed))
			bad.Store(true)
			b, _ := openCache(t, url, remote.Options{})
			v, err := cacheruntime.Do(ctx, b, simCall(5), compute(5, &computed))
			if err != nil || !slices.Equal(v, wantValue(5)) || computed != 2 {
				t.Fatalf("got %v, %v, computed %d; want the value computed again", v, err, computed)
			}
			if st := b.Stats(); st.RemoteHits != 0 || st.Corrupt != tc.corrupt || st.RemoteErrors != tc.errs {
				t.Errorf("stats %+v: want no remote hit, %d corrupt, %d remote errors", st, tc.corrupt, tc.errs)
			}
		})
	}
}

// TestRedisSlowIsAMiss pauses Redis for longer than the request timeout:
// calls get their results, computed here, and the slowness is counted.
func TestRedisSlowIsAMiss(t *testing.T) {
	ctx := context.Background()
	srv := testredis.Start(t)
	c, log := openCache(t, srv.URL, remote.Options{Timeout: 200 * time.Millisecond})
	if err := srv.Client(t).ClientPause(ctx, 5*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	var computed int
	for n := range 3 {
		v, err := cacheruntime.Do(ctx, c, simCall(n), compute(n, &computed))
		if err != nil || !slices.Equal(v, wantValue(n)) {
			t.Fatalf("call %d with Redis paused: %v, %v", n, v, err)
		}
	}
	if st := c.Stats(); computed != 3 || st.RemoteErrors != 3 || st.RemoteHits != 0 {
		t.Errorf("computed %d, stats %+v: want each call computed, and the breaker open after 3 timeouts", computed, st)
	}
	if !strings.Contains(log.String(), "deadline exceeded") && !strings.Contains(log.String(), "i/o timeout") {
		t.Errorf("log does not say the request timed out:\n%s", log)
	}
}

// TestReachMissingBucket checks that a remote whose bucket does not
// exist is reported as not answering, though a read of any one entry
// answers "none" as for an empty bucket.
func TestReachMissingBucket(t *testing.T) {
	ctx := context.Background()
	url := startS3(t, "team", "cache")
	for bucket, ok := range map[string]bool{"team": true, "nosuchbucket": false} {
		r, err := remote.Open(ctx, strings.Replace(url, "s3://team/", "s3://"+bucket+"/", 1), remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.Reach(ctx); (err == nil) != ok {
			t.Errorf("bucket %s: Reach returned %v", bucket, err)
		}
	}
}

// Two machines (caches in directories of their own) sweeping one grid
// through one Redis split it: each computes some points, every point is
// computed once, and both return every result, neither waiting for the
// other's points.
func TestSweepsThroughRedisSplitTheGrid(t *testing.T) {
	url := testredis.Start(t).URL
	ctx := context.Background()
	var computed [20]atomic.Int32
	var byMachine [2]atomic.Int32
	var wg sync.WaitGroup
	for k := range 2 {
		r, err := remote.Open(ctx, url, remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var log bytes.Buffer
		var mu sync.Mutex
		c, err := cacheruntime.Open(t.TempDir(), cacheruntime.WithRemote(r), cacheruntime.WithVerbose(true),
			cacheruntime.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, nil))))
		if err != nil {
			t.Fatal(err)
		}
		points := make([]sweep.Point[int], 20)
		for i := range points {
			points[i] = sweep.Point[int]{
				Call: cacheruntime.Call{Func: "example.com/sim.Sweep", Version: 1, Params: map[string]any{"i": i}},
				Compute: func(context.Context) (int, error) {
					computed[i].Add(1)
					byMachine[k].Add(1)
					time.Sleep(20 * time.Millisecond)
					return i * i, nil
				},
			}
		}
		wg.Go(func() {
			got, err := sweep.Run(ctx, c, points, sweep.Workers(2), sweep.Quiet())
			if err != nil {
				t.Error(err)
			}
			for i, v := range got {
				if v != i*i {
					t.Errorf("machine %d: result %d is %d", k, i, v)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(log.String(), "[WAIT]") {
				t.Errorf("machine %d waited for the other's point:\n%s", k, log.String())
			}
		})
	}
	wg.Wait()
	for i := range computed {
		if n := computed[i].Load(); n != 1 {
			t.Errorf("point %d computed %d times, want once", i, n)
		}
	}
	if byMachine[0].Load() == 0 || byMachine[1].Load() == 0 {
		t.Errorf("computed %d and %d points: want both machines to compute some", byMachine[0].Load(), byMachine[1].Load())
	}
}

// lockedWriter is a writer that two goroutines may share.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
