package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/testenv"
)

// grid returns n points of a sweep; compute(i) fills point i.
func grid(n int, compute func(ctx context.Context, i int) (float64, error)) []Point[float64] {
	ps := make([]Point[float64], n)
	for i := range ps {
		ps[i] = Point[float64]{
			Call:    cacheruntime.Call{Func: "example.com/sim.Sweep", Version: 1, Params: map[string]any{"i": i}},
			Compute: func(ctx context.Context) (float64, error) { return compute(ctx, i) },
			Name:    "i=" + strconv.Itoa(i),
		}
	}
	return ps
}

func square(_ context.Context, i int) (float64, error) { return float64(i * i), nil }

func checkSquares(t *testing.T, got []float64, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d results, want %d", len(got), n)
	}
	for i, v := range got {
		if v != float64(i*i) {
			t.Fatalf("result %d is %v, want %d", i, v, i*i)
		}
	}
}

// concurrency counts the computations running at once.
type concurrency struct {
	now, peak, total atomic.Int32
}

func (c *concurrency) run(d time.Duration) func() {
	n := c.now.Add(1)
	c.total.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(d)
	return func() { c.now.Add(-1) }
}

// Cached points are served before any computation starts, and none takes
// a worker: with one worker, every hit is reported before the first miss
// is computed.
func TestSweepServesHitsFirstWithoutWorkers(t *testing.T) {
	c, _ := open(t)
	ps := grid(10, square)
	for i := 5; i < 10; i++ { // the second half is cached
		do(t, c, ps[i].Call, ps[i].Compute)
	}
	var hitsAtFirstCompute atomic.Int32
	hitsAtFirstCompute.Store(-1)
	var hits atomic.Int32
	var cc concurrency
	ps = grid(10, func(ctx context.Context, i int) (float64, error) {
		hitsAtFirstCompute.CompareAndSwap(-1, hits.Load())
		defer cc.run(time.Millisecond)()
		return square(ctx, i)
	})
	got, err := Run(context.Background(), c, ps, Workers(1), Quiet(), OnProgress(func(p Progress) { hits.Store(int32(p.Hits)) }))
	if err != nil {
		t.Fatal(err)
	}
	checkSquares(t, got, 10)
	if n := hitsAtFirstCompute.Load(); n != 5 {
		t.Errorf("%d hits were served when the first miss was computed; want all 5", n)
	}
	if n := cc.total.Load(); n != 5 {
		t.Errorf("computed %d points, want the 5 misses", n)
	}
}

// No more points compute at once than there are workers.
func TestSweepBoundsItsWorkers(t *testing.T) {
	c, _ := open(t)
	var cc concurrency
	ps := grid(24, func(ctx context.Context, i int) (float64, error) {
		defer cc.run(10 * time.Millisecond)()
		return square(ctx, i)
	})
	got, err := Run(context.Background(), c, ps, Workers(3), Quiet())
	if err != nil {
		t.Fatal(err)
	}
	checkSquares(t, got, 24)
	if p := cc.peak.Load(); p != 3 {
		t.Errorf("%d points computed at once, want 3 workers' worth", p)
	}
}

// Two sweeps of one grid on one directory, each with a cache of its own
// (as two processes have), split the grid: each computes some points,
// every point is computed once, and both return every result.
func TestSweepsOnOneDirectorySplitTheGrid(t *testing.T) {
	dir := t.TempDir()
	var computed [20]atomic.Int32
	var wg sync.WaitGroup
	var byCache [2]atomic.Int32
	var logs [2]*testenv.Buffer
	for k := range 2 {
		c, log := openDir(t, dir, cacheruntime.WithVerbose(true))
		logs[k] = log
		wg.Go(func() {
			ps := grid(20, func(ctx context.Context, i int) (float64, error) {
				computed[i].Add(1)
				byCache[k].Add(1)
				time.Sleep(20 * time.Millisecond)
				return square(ctx, i)
			})
			got, err := Run(context.Background(), c, ps, Workers(2), Quiet())
			if err != nil {
				t.Error(err)
				return
			}
			checkSquares(t, got, 20)
		})
	}
	wg.Wait()
	for i := range computed {
		if n := computed[i].Load(); n != 1 {
			t.Errorf("point %d computed %d times, want once", i, n)
		}
	}
	if byCache[0].Load() == 0 || byCache[1].Load() == 0 {
		t.Errorf("computed %d and %d points: want both sweeps to compute some", byCache[0].Load(), byCache[1].Load())
	}
	for _, log := range logs {
		if strings.Contains(log.String(), "[WAIT]") {
			t.Errorf("a sweep waited for the other's point instead of moving on:\n%s", log)
		}
	}
}

// The estimate of the time left is the median stored compute time of the
// function's entries, times the points left, divided among the workers.
func TestSweepETAUsesStoredDurations(t *testing.T) {
	c, _ := open(t)
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	ps := grid(10, square)
	for i := range 4 {
		v := do(t, c, ps[i].Call, ps[i].Compute)
		tookSeconds(t, c, ps[i].Call, v, 10) // each stored compute took 10s
	}
	var etas []time.Duration
	clock := t0
	_, err := Run(context.Background(), c, ps, Workers(2), Quiet(), sweepClock(func() time.Time { return clock }), OnProgress(func(p Progress) {
		if p.Done == 4 {
			etas = append(etas, p.ETA)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if want := 10 * time.Second * 6 / 2; len(etas) != 1 || etas[0] != want {
		t.Errorf("ETA after the hits %v, want %v (10s a point, 6 left, 2 workers)", etas, want)
	}
	// The durations measured are recorded for the next sweep of the
	// function, whose points are all new.
	if ds := loadDurations(c.SweepHost(context.Background()), ps[0].Call.Func, ps[0].Call.Version); len(ds) != 6 {
		t.Errorf("recorded %d durations, want the 6 computed", len(ds))
	}
	var first Progress
	fresh := grid(3, square)
	for i := range fresh {
		fresh[i].Call.Params["i"] = 100 + i
	}
	Run(context.Background(), c, fresh, Workers(1), Quiet(), OnProgress(func(p Progress) {
		if p.Done == 1 {
			first = p
		}
	}))
	if first.ETA <= 0 {
		t.Errorf("a sweep of new points had no estimate from the recorded durations: %+v", first)
	}
}

// A task of an array job starts on its own slice of the grid: Slurm's
// variables, or an Indexed Job's index with the count given.
func TestSweepShardsFromTheScheduler(t *testing.T) {
	firstComputed := func(opts ...Option) (int, error) {
		c, _ := open(t)
		first := -1
		var mu sync.Mutex
		ps := grid(20, func(ctx context.Context, i int) (float64, error) {
			mu.Lock()
			if first < 0 {
				first = i
			}
			mu.Unlock()
			return square(ctx, i)
		})
		got, err := Run(context.Background(), c, ps, append(opts, Workers(1), Quiet())...)
		if err == nil {
			checkSquares(t, got, 20)
		}
		return first, err
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "3")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "1")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "4")
	if got, err := firstComputed(); err != nil || got != 10 {
		t.Errorf("Slurm task 3 of 1…4 started at point %d (%v), want 10", got, err)
	}
	if got, err := firstComputed(Shard(1, 4)); err != nil || got != 5 {
		t.Errorf("Shard(1, 4) started at point %d (%v), want 5", got, err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "3")
	if got, err := firstComputed(ShardCount(4)); err != nil || got != 15 {
		t.Errorf("Indexed Job index 3 of 4 started at point %d (%v), want 15", got, err)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "nine")
	if _, err := firstComputed(ShardCount(4)); err == nil || !strings.Contains(err.Error(), "JOB_COMPLETION_INDEX") {
		t.Errorf("a bad index: %v", err)
	}
	// Hostile values: the shard's arithmetic in 128 bits, and an index
	// below the array's first an error naming the variables, never a panic.
	t.Setenv("SLURM_ARRAY_TASK_ID", strconv.Itoa(1<<62))
	t.Setenv("SLURM_ARRAY_TASK_MIN", "0")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", strconv.Itoa(1<<62+1))
	if got, err := firstComputed(); err != nil || got != 19 {
		t.Errorf("Slurm task 2^62 of 2^62+1 started at point %d (%v), want 19", got, err)
	}
	if got, err := firstComputed(Shard(1<<62, 1<<62+1)); err != nil || got != 19 {
		t.Errorf("Shard(2^62, 2^62+1) started at point %d (%v), want 19", got, err)
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", strconv.Itoa(-1<<63))
	t.Setenv("SLURM_ARRAY_TASK_MIN", "1")
	if _, err := firstComputed(); err == nil || !strings.Contains(err.Error(), "SLURM_ARRAY_TASK_ID") {
		t.Errorf("a task ID below the array's first: %v", err)
	}
	// Values that are no integer, or no count, are errors naming their
	// variable, not a quiet run of the whole grid on every task.
	for _, bad := range []struct{ name, value string }{
		{"SLURM_ARRAY_TASK_ID", "99999999999999999999"},
		{"SLURM_ARRAY_TASK_ID", "3\x1b[2J"},
		{"SLURM_ARRAY_TASK_COUNT", "-4"},
		{"SLURM_ARRAY_TASK_COUNT", "four"},
		{"SLURM_ARRAY_TASK_MIN", "1e3"},
	} {
		t.Setenv("SLURM_ARRAY_TASK_ID", "3")
		t.Setenv("SLURM_ARRAY_TASK_MIN", "1")
		t.Setenv("SLURM_ARRAY_TASK_COUNT", "4")
		t.Setenv(bad.name, bad.value)
		if _, err := firstComputed(); err == nil || !strings.Contains(err.Error(), bad.name) {
			t.Errorf("%s=%q: %v, want an error naming it", bad.name, bad.value, err)
		}
	}
}

// Off a terminal, progress is plain lines; on one, a bar; silent with
// Quiet, and with the cache off.
func TestSweepProgressOutput(t *testing.T) {
	c, _ := open(t)
	var plain testenv.Buffer
	if _, err := Run(context.Background(), c, grid(5, square), Workers(1), progressTo(&plain, false, 0)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(plain.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "cachegen: sim.Sweep: 1/5 done (0 hits, 1 computed here, 0 elsewhere, 0 failed)") ||
		!strings.HasPrefix(lines[4], "cachegen: sim.Sweep: 5/5 done") || strings.Count(plain.String(), "5/5 done") != 1 ||
		strings.ContainsAny(plain.String(), "\r\x1b") {
		t.Errorf("plain progress: want a line for each point, the last once:\n%q", plain.String())
	}
	var bar testenv.Buffer
	c2, _ := open(t)
	if _, err := Run(context.Background(), c2, grid(5, square), Workers(1), progressTo(&bar, true, 0)); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`sim\.Sweep 5/5 \[=+\] 0 hits, 5 computed here`).MatchString(bar.String()) || !strings.Contains(bar.String(), "cachegen: sim.Sweep: 5/5 done") {
		t.Errorf("terminal progress has no bar:\n%q", bar.String())
	}
	var quiet testenv.Buffer
	c3, _ := open(t)
	Run(context.Background(), c3, grid(5, square), progressTo(&quiet, false, 0), Quiet())
	off, _ := open(t, cacheruntime.WithMode(cacheruntime.ModeOff))
	Run(context.Background(), off, grid(5, square), progressTo(&quiet, false, 0))
	if quiet.Len() != 0 {
		t.Errorf("Quiet, or the cache off, printed:\n%s", quiet.String())
	}
}

var errPoint = errors.New("diverged")

// A failing point does not stop the others; its error names it. With
// FailFast, no point starts after a failure.
func TestSweepFailures(t *testing.T) {
	c, _ := open(t)
	failing := func(ctx context.Context, i int) (float64, error) {
		if i == 3 || i == 7 {
			return 0, errPoint
		}
		return square(ctx, i)
	}
	got, err := Run(context.Background(), c, grid(10, failing), Workers(2), Quiet())
	if !errors.Is(err, errPoint) || !strings.Contains(err.Error(), "point 3 (i=3): diverged") || !strings.Contains(err.Error(), "point 7 (i=7): diverged") {
		t.Errorf("error %v: want both failures, each naming its point", err)
	}
	for i, v := range got {
		if want := float64(i * i); i != 3 && i != 7 && v != want {
			t.Errorf("result %d is %v, want %v", i, v, want)
		}
	}
	c2, _ := open(t)
	var started []int
	var mu sync.Mutex
	_, err = Run(context.Background(), c2, grid(10, func(ctx context.Context, i int) (float64, error) {
		mu.Lock()
		started = append(started, i)
		mu.Unlock()
		return failing(ctx, i)
	}), Workers(1), FailFast(), Quiet())
	if !errors.Is(err, errPoint) || !slices.Equal(started, []int{0, 1, 2, 3}) {
		t.Errorf("FailFast: started %v (%v), want 0 to 3 and the failure", started, err)
	}
}

// When ctx ends, no point starts, and what finished is returned.
func TestSweepCancellation(t *testing.T) {
	c, _ := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started atomic.Int32
	got, err := Run(ctx, c, grid(10, func(ctx context.Context, i int) (float64, error) {
		if started.Add(1) == 3 {
			cancel()
		}
		return square(ctx, i)
	}), Workers(1), Quiet())
	if !errors.Is(err, context.Canceled) || started.Load() != 3 {
		t.Errorf("started %d points (%v), want 3 and the cancellation", started.Load(), err)
	}
	if got[0] != 0 || got[1] != 1 || got[2] != 4 {
		t.Errorf("results %v: want the three finished", got[:3])
	}
}

// Two processes sweep the same grid on one directory.
func TestSweepProcessesSplitTheGrid(t *testing.T) {
	dir := t.TempDir()
	log := t.TempDir() + "/log"
	var outs, errs [2]bytes.Buffer
	var cmds []*exec.Cmd
	start := time.Now().Add(500 * time.Millisecond).UnixNano() // both begin at once
	for k := range 2 {
		cmd := child(t, "sweep", dir, log, strconv.FormatInt(start, 10))
		cmd.Stdout, cmd.Stderr = &outs[k], &errs[k]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	b, _ := os.ReadFile(log)
	lines := strings.Fields(string(b))
	slices.Sort(lines)
	if len(lines) != 20 || len(slices.Compact(lines)) != 20 {
		t.Errorf("computed %v: want each of the 20 points once", lines)
	}
	for k, out := range outs {
		var n, computed int
		if _, err := fmt.Sscanf(out.String(), "%d results, %d computed", &n, &computed); err != nil || n != 20 || computed == 0 {
			t.Errorf("process %d: %q: want all 20 results, some computed there", k, out.String())
		}
		if strings.Contains(errs[k].String(), "[WAIT]") {
			t.Errorf("process %d waited for the other's point instead of moving on:\n%s", k, errs[k].String())
		}
	}
}

// A point's own cached calls wait for another process's computation as
// any call does: the sweep's leave-it-for-later is the sweep's alone.
func TestSweepPointsNestedCallsWait(t *testing.T) {
	dir := t.TempDir()
	c, _ := openDir(t, dir)
	holder, _ := openDir(t, dir)
	inner := cacheruntime.Call{Func: "example.com/sim.Inner", Version: 1, Params: map[string]any{"x": 1}}
	unlock := hold(t, holder, inner)
	time.AfterFunc(50*time.Millisecond, unlock)
	var runs atomic.Int32
	got, err := Run(context.Background(), c, grid(1, func(ctx context.Context, i int) (float64, error) {
		runs.Add(1)
		return cacheruntime.Do(ctx, c, inner, func(context.Context) (float64, error) { return 7, nil })
	}), Quiet())
	if err != nil || got[0] != 7 || runs.Load() != 1 {
		t.Errorf("a point whose inner call another process held: %v, %v, run %d times; want it run once, its inner call waiting", got, err, runs.Load())
	}
}

// The first line of a sharded sweep names its shard; ShardCount outside
// an Indexed Job (no JOB_COMPLETION_INDEX) runs the whole grid, and says
// so.
func TestSweepSaysWhatShardItRuns(t *testing.T) {
	run := func(opts ...Option) (string, int) {
		t.Helper()
		c, _ := open(t)
		var out testenv.Buffer
		first := -1
		var mu sync.Mutex
		got, err := Run(context.Background(), c, grid(24, func(ctx context.Context, i int) (float64, error) {
			mu.Lock()
			if first < 0 {
				first = i
			}
			mu.Unlock()
			return square(ctx, i)
		}), append(opts, Workers(1), progressTo(&out, false, time.Hour))...)
		if err != nil {
			t.Fatal(err)
		}
		checkSquares(t, got, 24)
		return out.String(), first
	}
	out, first := run(Shard(1, 3))
	if want := "cachegen: sim.Sweep: shard 2 of 3 (Shard(1, 3)): 8 of 24 points, from point 8; then the rest, as other tasks leave them\n"; !strings.HasPrefix(out, want) || first != 8 {
		t.Errorf("Shard(1, 3) started at point %d and printed:\n%s\nwant it to start at 8, and first:\n%s", first, out, want)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "2")
	if out, first := run(ShardCount(3)); !strings.HasPrefix(out, "cachegen: sim.Sweep: shard 3 of 3 (JOB_COMPLETION_INDEX=2): 8 of 24 points, from point 16;") || first != 16 {
		t.Errorf("ShardCount(3) with index 2 started at point %d and printed:\n%s", first, out)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "")
	out, first = run(ShardCount(3))
	if !strings.HasPrefix(out, "cachegen: sim.Sweep: ShardCount(3), and JOB_COMPLETION_INDEX is not set: this is no Indexed Job's task, so it runs the whole grid\n") ||
		strings.Contains(out, "shard ") || first != 0 || !strings.Contains(out, "24/24 done (0 hits, 24 computed here") {
		t.Errorf("ShardCount(3) without an index started at point %d and printed:\n%s\nwant the whole grid, from point 0, and a note", first, out)
	}
	if out, _ := run(); strings.Contains(out, "shard") || strings.Count(out, "\n") != 1 {
		t.Errorf("an unsharded sweep printed:\n%s\nwant its final line alone", out)
	}
}

// While no point finishes, a sweep still prints a line at its interval,
// saying what it waits for; its final line is printed once.
func TestSweepReportsWhileItWaits(t *testing.T) {
	dir := t.TempDir()
	c, _ := openDir(t, dir)
	holder, _ := openDir(t, dir)
	ps := grid(3, square)
	release := hold(t, holder, ps[1].Call)
	var out testenv.Buffer
	done := make(chan error, 1)
	go func() {
		got, err := Run(context.Background(), c, ps, Workers(2), progressTo(&out, false, 50*time.Millisecond))
		if err == nil {
			checkSquares(t, got, 3)
		}
		done <- err
	}()
	waiting := regexp.MustCompile(`(?m)^cachegen: sim\.Sweep: 2/3 done \(0 hits, 2 computed here, 0 elsewhere, 0 failed\), .*; waiting for 1 point another process is computing \(its lock in the cache directory\)$`)
	for deadline := time.Now().Add(10 * time.Second); len(waiting.FindAllString(out.String(), -1)) < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no three lines saying what the sweep waits for while another process holds a point:\n%s", out.String())
		}
	}
	release() // stores nothing: the sweep computes the point itself
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); strings.Count(got, "3/3 done") != 1 || !regexp.MustCompile(`3/3 done \(0 hits, 3 computed here, 0 elsewhere, 0 failed\), \d+s elapsed\n$`).MatchString(got) {
		t.Errorf("want one final line, last:\n%s", got)
	}
}

// A point another machine computes, under its lease on the remote tier,
// is said to be so while the sweep waits for it.
func TestSweepSaysWhenAnotherMachineHoldsAPoint(t *testing.T) {
	tier, err := remote.Open(context.Background(), "file://"+t.TempDir(), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := open(t, cacheruntime.WithRemote(tier))
	c, _ := open(t, cacheruntime.WithRemote(tier))
	ps := grid(3, square)
	release := hold(t, other, ps[1].Call)
	var out testenv.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), c, ps, Workers(2), progressTo(&out, false, 50*time.Millisecond))
		done <- err
	}()
	waiting := "; waiting for 1 point another machine is computing (its lease on the remote)"
	for deadline := time.Now().Add(10 * time.Second); strings.Count(out.String(), waiting) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no lines saying the sweep waits for another machine:\n%s", out.String())
		}
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A point held in a shared directory by a process that never finishes is
// computed here once cacheruntime.Do would stop waiting for it, as cacheruntime.Do does.
func TestSweepGivesUpOnAStuckHolder(t *testing.T) {
	old := callctx.SharedLockWait
	callctx.SharedLockWait = 100 * time.Millisecond
	defer func() { callctx.SharedLockWait = old }()
	dir := t.TempDir()
	c, _ := openDir(t, dir, cacheruntime.WithSharedDir())
	holder, _ := openDir(t, dir, cacheruntime.WithSharedDir())
	ps := grid(3, square)
	defer hold(t, holder, ps[1].Call)()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := Run(ctx, c, ps, Quiet())
	if err != nil {
		t.Fatalf("a sweep with a point a stuck process holds: %v", err)
	}
	checkSquares(t, got, 3)
}

// The estimate counts rounds of workers: one point left takes a whole
// compute time, however many workers there are; a huge recorded time does
// not overflow it.
func TestSweepETACountsRounds(t *testing.T) {
	s := &sweep[float64]{cfg: config{workers: 8, now: time.Now}, start: time.Now()}
	s.addDuration(10*time.Second, false)
	s.progress = Progress{Total: 10, Done: 9}
	if eta := s.snapshot().ETA; eta != 10*time.Second {
		t.Errorf("one point left on 8 workers: ETA %v, want 10s", eta)
	}
	s.progress = Progress{Total: 10, Done: 0}
	if eta := s.snapshot().ETA; eta != 20*time.Second {
		t.Errorf("10 points left on 8 workers: ETA %v, want two rounds, 20s", eta)
	}
	s.median = maxDuration
	s.progress = Progress{Total: 1 << 40}
	if eta := s.snapshot().ETA; eta <= 0 {
		t.Errorf("a huge estimate overflowed: %v", eta)
	}
}

// Many quick points, a bar and a callback: every report arrives, in
// order, and the sweep ends.
func TestSweepProgressUnderLoad(t *testing.T) {
	testenv.Slow(t) // thousands of points
	c, _ := open(t)
	var bar testenv.Buffer
	last := 0
	inOrder := true
	got, err := Run(context.Background(), c, grid(2000, square), Workers(4), progressTo(&bar, true, 0), OnProgress(func(p Progress) {
		inOrder = inOrder && p.Done == last+1
		last = p.Done
	}))
	if err != nil {
		t.Fatal(err)
	}
	checkSquares(t, got, 2000)
	if !inOrder || last != 2000 {
		t.Errorf("reports out of order, or missing: last %d", last)
	}
}

// Recorded compute times that the sweep's own cannot have come near
// (planted, or of a function since made faster) leave the estimate once a
// point is served or computed.
func TestSweepETAIgnoresImplausibleRecords(t *testing.T) {
	s := &sweep[float64]{cfg: config{workers: 1, now: time.Now}, start: time.Now()}
	for range 100 {
		s.addDuration(maxDuration-time.Hour, true)
	}
	s.addDuration(150*time.Millisecond, false)
	s.progress = Progress{Total: 10, Done: 1}
	if eta := s.snapshot().ETA; eta > 2*time.Second {
		t.Errorf("ETA %v after a 0.15 s point, with a year-long record planted", eta)
	}
	// Records near what this sweep sees still count.
	s = &sweep[float64]{cfg: config{workers: 1, now: time.Now}, start: time.Now()}
	for range 100 {
		s.addDuration(time.Second, true)
	}
	s.addDuration(500*time.Millisecond, false)
	s.progress = Progress{Total: 2, Done: 1}
	if eta := s.snapshot().ETA; eta != time.Second {
		t.Errorf("ETA %v, want the recorded median, 1s", eta)
	}
}

// The failures a sweep joins come in point order, whatever order its
// workers finished them in: here the later points fail first.
func TestSweepErrorsInPointOrder(t *testing.T) {
	c, _ := open(t)
	const n = 8
	var gate [n]chan struct{}
	for i := range gate {
		gate[i] = make(chan struct{})
	}
	close(gate[n-1])
	_, err := Run(context.Background(), c, grid(n, func(ctx context.Context, i int) (float64, error) {
		<-gate[i] // point i fails only after point i+1 has
		if i > 0 {
			defer close(gate[i-1])
		}
		return 0, fmt.Errorf("diverged at %d", i)
	}), Workers(n), Quiet())
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("point %d (i=%d): diverged at %d", i, i, i))
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%v\nwant, in point order:\n%s", err, strings.Join(want, "\n"))
	}
}

// A sweep over entries of other code counts each of them once in
// Stats.OtherCode, though it looks at each point twice (once to serve the
// hits first, once to compute the misses).
func TestSweepCountsOtherCodeOnce(t *testing.T) {
	c, _ := open(t)
	const n = 20
	withCode := func(code string) []Point[float64] {
		ps := grid(n, square)
		for i := range ps {
			ps[i].Call.Code = code
		}
		return ps
	}
	if _, err := Run(context.Background(), c, withCode("aaaaaaaaaaaaaaaa"), Workers(2), Quiet()); err != nil {
		t.Fatal(err)
	}
	got, err := Run(context.Background(), c, withCode("bbbbbbbbbbbbbbbb"), Workers(2), Quiet())
	if err != nil {
		t.Fatal(err)
	}
	checkSquares(t, got, n)
	if s := c.Stats(); s.OtherCode != n || s.Misses != 2*n {
		t.Errorf("OtherCode %d, Misses %d: want %d entries of other code, each counted once, and %d misses", s.OtherCode, s.Misses, n, 2*n)
	}
}

// In a test binary, a sweep prints no progress among the tests' output,
// unless its cache is verbose.
func TestSweepIsQuietInTests(t *testing.T) {
	stderr := func(c *cacheruntime.Cache) string {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		saved := os.Stderr
		os.Stderr = w
		_, err = Run(context.Background(), c, grid(3, square))
		os.Stderr = saved
		w.Close()
		out, _ := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	quiet, _ := open(t)
	if out := stderr(quiet); out != "" {
		t.Errorf("a sweep in a test printed:\n%s", out)
	}
	verbose, _ := open(t, cacheruntime.WithVerbose(true))
	if out := stderr(verbose); !strings.Contains(out, "3/3 done (0 hits, 3 computed here, 0 elsewhere, 0 failed)") {
		t.Errorf("a verbose cache's sweep printed %q, want its progress", out)
	}
}

// tookSeconds rewrites the entry of call in c, whose result is v, as if
// computing it had taken secs seconds.
func tookSeconds[T any](t *testing.T, c *cacheruntime.Cache, call cacheruntime.Call, v T, secs int) {
	t.Helper()
	key, err := call.Key()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.Dir(), key[:2], key+disk.EntrySuffix)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, mb, _, err := entry.Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := entry.DecodeMeta(mb)
	if err != nil {
		t.Fatal(err)
	}
	h = entry.Header{ComputedAt: h.ComputedAt, Duration: int64(time.Duration(secs) * time.Second), TypeSum: h.TypeSum, Sum: h.Sum, Code: h.Code}
	payload, err := entry.EncodeResult(v)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := entry.Encode(h, m, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Join(parts, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}
