// Package sweep runs a grid of cached calls: the points already cached
// are served first and take no worker, the misses are computed on a
// bounded pool, and processes or machines that run the same sweep on one
// cache split the grid between them, each point computed once. Generated
// FCachedAll wrappers call Args; Run takes points built by hand.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/runtime"
)

// A Point is one call of a sweep: its Call, the computation that fills it,
// and a Name (its arguments, say) that errors and logs give it.
type Point[T any] struct {
	Call    runtime.Call
	Compute func(context.Context) (T, error)
	Name    string
}

// Progress is where a sweep stands. Done counts the points finished:
// Hits (found cached when the sweep began), Computed (here), Elsewhere
// (by another process or machine, found stored after waiting for it) and
// Failed. ETA is the time the points left should take, from the median
// compute time of the function's stored entries, divided among the
// workers; zero until some time is known.
type Progress struct {
	Total, Done                       int
	Hits, Computed, Elsewhere, Failed int
	Elapsed, ETA                      time.Duration
}

// An Option configures Run and Args.
type Option func(*config)

type config struct {
	workers       int
	failFast      bool
	index, count  int // the shard: this task's slice of the grid
	shardCount    int // a count for the index an Indexed Job gives
	progress      []func(Progress)
	quiet         bool
	out           io.Writer // where the bar or the lines go
	terminal      bool
	lineEvery     time.Duration
	retry         time.Duration // how soon a point another process holds is looked at again
	now           func() time.Time
	explicitShard bool
	shardFrom     string // where the shard came from, for the sweep's first line
	note          string // said before the progress, when not empty
}

// Workers sets how many points a sweep computes at once (default
// GOMAXPROCS).
func Workers(n int) Option { return func(c *config) { c.workers = max(n, 1) } }

// FailFast stops a sweep at its first failing point: no point starts
// after it, and the points computing get a cancelled context.
func FailFast() Option { return func(c *config) { c.failFast = true } }

// Shard makes this process task index (from 0) of count that run the same
// sweep: it starts on its own slice of the grid, then helps with the rest.
// Without it, a sweep takes its shard from Slurm's SLURM_ARRAY_TASK_ID,
// SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT when they are set.
func Shard(index, count int) Option {
	return func(c *config) { c.index, c.count, c.explicitShard = index, count, true }
}

// ShardCount makes this process one of count tasks, its index taken from
// a Kubernetes Indexed Job's JOB_COMPLETION_INDEX. Where that is not set
// (the same program on a laptop), the sweep runs the whole grid as one
// task, and says so.
func ShardCount(count int) Option { return func(c *config) { c.shardCount = count } }

// OnProgress calls fn, from one goroutine at a time, each time a point
// finishes, for a program that draws its own progress.
func OnProgress(fn func(Progress)) Option {
	return func(c *config) { c.progress = append(c.progress, fn) }
}

// Quiet silences the progress a sweep prints on stderr.
func Quiet() Option { return func(c *config) { c.quiet = true } }

// progressTo makes a sweep print its progress to w, as to a terminal or
// not; for tests.
func progressTo(w io.Writer, terminal bool, every time.Duration) Option {
	return func(c *config) { c.out, c.terminal, c.lineEvery = w, terminal, every }
}

// sweepClock makes a sweep read the time from now; for tests.
func sweepClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Run returns the results of points, in their order. Points cached in
// either tier are served first, and take no worker; the misses are
// computed on a bounded number of workers. A point that another process
// or machine is computing (its lock or lease is held) is left for later,
// and served from its entry once stored, so processes that run the same
// sweep on one directory, or machines on one shared tier, split the grid
// between them, and each point is computed once.
//
// A failing point does not stop the others (unless FailFast): the error is
// errors.Join of the failures, each naming its point, and the results hold
// every success (the zero value at a failure). When ctx ends, no point
// starts; Run returns what finished, and ctx's error.
//
// On a terminal, Run draws a progress bar on stderr; elsewhere it prints
// a line every few seconds. It is silent with Quiet, when the cache is
// off, and in a test binary unless the cache is verbose. A nil c means the
// cache ctx carries, or runtime.Default().
func Run[T any](ctx context.Context, c *runtime.Cache, points []Point[T], opts ...Option) ([]T, error) {
	host := c.SweepHost(ctx)
	cfg := config{workers: goruntime.GOMAXPROCS(0), out: os.Stderr, terminal: isTerminal(os.Stderr), lineEvery: 5 * time.Second, retry: 50 * time.Millisecond, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.resolveShard(); err != nil {
		return nil, err
	}
	s := &sweep[T]{c: c, host: host, cfg: cfg, points: points, results: make([]T, len(points)), counted: make([]bool, len(points)), start: cfg.now(),
		busySince: map[int]time.Time{}, held: map[int]bool{}}
	s.progress.Total = len(points)
	// In a test binary, progress lines would be printed among the tests'
	// output: only a verbose cache prints them there.
	inTest := testing.Testing() && cfg.out == os.Stderr && !host.Verbose
	if !cfg.quiet && !inTest && !host.Off {
		s.view = newProgressView(cfg.out, cfg.terminal, cfg.lineEvery, cfg.now, points)
		if cfg.note != "" {
			s.view.note(cfg.note)
		}
		if cfg.count > 1 {
			first, end := shardBounds(len(points), cfg.index, cfg.count)
			s.view.note(fmt.Sprintf("shard %d of %d%s: %d of %d points, from point %d; then the rest, as other tasks leave them",
				cfg.index+1, cfg.count, cfg.shardFrom, end-first, len(points), first))
		}
		if cfg.lineEvery > 0 {
			defer s.keepReporting()() // before finish: deferred after it
		}
	}
	if len(points) > 0 {
		for _, d := range loadDurations(host, points[0].Call.Func, points[0].Call.Version) {
			s.addDuration(d, true)
		}
	}
	defer s.finish()
	order := shardOrder(len(points), cfg.index, cfg.count)
	misses := s.hits(ctx, order)
	return s.results, errors.Join(append(s.run(ctx, misses), ctx.Err())...)
}

// hits serves the points of order that either tier holds, on this
// goroutine: they take no worker. It looks in the local tier first, then
// reads the remote tier's entries of the points the local one lacks in
// batches, a few round trips for a whole batch rather than one a point,
// and returns the points neither tier served, in order.
func (s *sweep[T]) hits(ctx context.Context, order []int) (misses []int) {
	hit := make([]bool, len(s.points))
	// look serves point i if l finds it. Each tier is looked at once
	// here, and what it holds that is not served counted then.
	look := func(i int, l *callctx.Lookup) {
		v, err := runtime.Do(callctx.WithLookup(ctx, l), s.c, s.points[i].Call, s.points[i].Compute)
		s.counted[i] = s.counted[i] || l.OtherCode || l.Rejected
		if err == nil && l.Hit {
			hit[i] = true
			s.results[i] = v
			s.event(&s.progress.Hits, l.Took)
		}
	}
	batched := s.host.FetchRemote != nil
	var remote []int // the local misses, to look up in the remote tier
	keys := map[int]string{}
	for _, i := range order {
		if ctx.Err() != nil {
			return nil
		}
		l := callctx.Lookup{LocalOnly: batched}
		look(i, &l)
		if !hit[i] && batched && l.Key != "" {
			remote = append(remote, i)
			keys[i] = l.Key
		}
	}
	for len(remote) > 0 {
		batch := remote[:min(len(remote), max(s.host.BatchSize, 1))]
		remote = remote[len(batch):]
		ks := make([]string, len(batch))
		for k, i := range batch {
			ks[k] = keys[i]
		}
		fetched := s.host.FetchRemote(ctx, ks)
		for _, i := range batch {
			if ctx.Err() != nil {
				return nil
			}
			look(i, &callctx.Lookup{RemoteOnly: true, Remote: fetched})
		}
	}
	for _, i := range order {
		if !hit[i] {
			misses = append(misses, i)
		}
	}
	return misses
}

// sweep is one run of Run.
type sweep[T any] struct {
	c         *runtime.Cache // nil: the one ctx carries
	host      callctx.Host
	cfg       config
	points    []Point[T]
	results   []T
	counted   []bool // whether the first looks at each point found an entry not served (of other code, corrupt, badly signed), and counted it
	start     time.Time
	view      *progressView
	reportMu  sync.Mutex // reports go out one at a time, in order
	mu        sync.Mutex // guards what follows
	progress  Progress
	durations []duration    // the latest compute times known: recorded by earlier sweeps, then seen in this one
	longest   time.Duration // of the compute times seen in this sweep (entries served, points computed)
	median    time.Duration // of durations, as of fresh additions ago
	fresh     int
	computed  []time.Duration   // those measured here, to record
	busySince map[int]time.Time // when each point was first found held by another
	held      map[int]bool      // the points another holds now: true where another machine (a lease), false another process (a lock)
	computing int               // the points computing here now
	errs      []pointError
}

// A pointError is the failure of one point of a sweep.
type pointError struct {
	i   int
	err error
}

// maxKnown bounds the compute times a sweep keeps for its estimate.
const maxKnown = 255

// A duration is a compute time, and whether an earlier sweep recorded it.
type duration struct {
	d        time.Duration
	recorded bool
}

// plausible is how many times the longest compute time this sweep has seen
// a recorded one may be: records beyond it (planted, or of a function since
// made faster) are left out of the estimate.
const plausible = 10

// addDuration notes a compute time, recorded by an earlier sweep or seen
// in this one; s.mu is held.
func (s *sweep[T]) addDuration(d time.Duration, recorded bool) {
	if d < 0 || d > maxDuration {
		return // a junk record
	}
	s.durations = append(s.durations, duration{d, recorded})
	if len(s.durations) > maxKnown {
		s.durations = s.durations[len(s.durations)-maxKnown:]
	}
	newLongest := !recorded && d > s.longest
	if !recorded {
		s.longest = max(s.longest, d)
	}
	if s.fresh++; s.median == 0 || s.fresh >= 16 || newLongest {
		var known []time.Duration
		for _, x := range s.durations {
			if !x.recorded || s.longest == 0 || x.d <= plausible*s.longest {
				known = append(known, x.d)
			}
		}
		if len(known) > 0 {
			slices.Sort(known)
			s.median, s.fresh = known[len(known)/2], 0
		}
	}
}

// maxDuration is the longest compute time an estimate believes: a year.
const maxDuration = 365 * 24 * time.Hour

// run computes the misses on the workers, coming back later to those
// another process holds, and returns the failures.
func (s *sweep[T]) run(ctx context.Context, misses []int) []error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type later struct {
		i  int
		at time.Time
	}
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		queue   = misses
		waiting []later
		running int
	)
	// next returns the next point to fill, or false when none is left.
	next := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		for {
			if ctx.Err() != nil {
				return 0, false
			}
			if len(queue) > 0 {
				i := queue[0]
				queue = queue[1:]
				running++
				return i, true
			}
			if len(waiting) > 0 && !time.Now().Before(waiting[0].at) {
				i := waiting[0].i
				waiting = waiting[1:]
				running++
				return i, true
			}
			if len(waiting) == 0 && running == 0 {
				return 0, false
			}
			if len(waiting) > 0 {
				// Sleep until the first held point is due.
				d := time.Until(waiting[0].at)
				mu.Unlock()
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
				mu.Lock()
				continue
			}
			cond.Wait() // points are running, and may come back held
		}
	}
	done := func(i int, busy bool) {
		mu.Lock()
		defer mu.Unlock()
		running--
		if busy {
			waiting = append(waiting, later{i, time.Now().Add(s.cfg.retry)})
		}
		cond.Broadcast()
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		cond.Broadcast()
		mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	for range min(s.cfg.workers, max(len(misses), 1)) {
		wg.Go(func() {
			for {
				i, ok := next()
				if !ok {
					return
				}
				busy := s.fill(ctx, i)
				if !busy && s.cfg.failFast && s.failed() {
					cancel()
				}
				done(i, busy)
			}
		})
	}
	wg.Wait()
	// In point order, whatever order the workers finished in.
	slices.SortFunc(s.errs, func(a, b pointError) int { return a.i - b.i })
	errs := make([]error, len(s.errs))
	for k, e := range s.errs {
		errs[k] = e.err
	}
	return errs
}

// fill fills point i without waiting for another process, and reports
// whether another holds it.
func (s *sweep[T]) fill(ctx context.Context, i int) (busy bool) {
	p := s.points[i]
	var took time.Duration
	computed := false
	compute := func(ctx context.Context) (T, error) {
		computed = true
		s.mu.Lock()
		delete(s.held, i)
		s.computing++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.computing--
			s.mu.Unlock()
		}()
		start := time.Now()
		// The computation's own cached calls wait for others as any do.
		v, err := p.Compute(callctx.WithCounted(callctx.WithNoWait(ctx, false), false))
		took = time.Since(start)
		return v, err
	}
	fillCtx := callctx.WithNoWait(ctx, true)
	if s.heldTooLong(i) {
		fillCtx = ctx // wait, as Do does, then compute it here
	}
	if s.counted[i] {
		fillCtx = callctx.WithCounted(fillCtx, true)
	}
	v, err := runtime.Do(fillCtx, s.c, p.Call, compute)
	s.mu.Lock()
	if errors.Is(err, callctx.ErrBusy) {
		if _, ok := s.busySince[i]; !ok {
			s.busySince[i] = time.Now()
		}
		s.held[i] = errors.Is(err, callctx.ErrLeased)
	} else {
		delete(s.held, i)
	}
	s.mu.Unlock()
	switch {
	case errors.Is(err, callctx.ErrBusy):
		return true
	case err != nil && ctx.Err() != nil && isContextErr(err):
		return false // cancelled: not a failure of the point
	case err != nil:
		name := p.Name
		if name == "" {
			name = "#" + strconv.Itoa(i)
		}
		s.mu.Lock()
		s.errs = append(s.errs, pointError{i, fmt.Errorf("point %d (%s): %w", i, name, err)})
		s.mu.Unlock()
		s.event(&s.progress.Failed, -1)
	case computed:
		s.results[i] = v
		s.mu.Lock()
		s.computed = append(s.computed, took)
		s.mu.Unlock()
		s.event(&s.progress.Computed, took)
	default:
		s.results[i] = v
		s.event(&s.progress.Elsewhere, -1)
	}
	return false
}

// heldTooLong reports whether point i has been held by another for longer
// than Do waits for a holder (a lock in a shared directory, a remote
// lease): a holder alive but stuck. A private directory's holder is the
// user's own, and is waited for as Do waits for it.
func (s *sweep[T]) heldTooLong(i int) bool {
	s.mu.Lock()
	since, ok := s.busySince[i]
	s.mu.Unlock()
	if !ok {
		return false
	}
	bound := s.host.HolderWait
	return bound > 0 && time.Since(since) > bound
}

func (s *sweep[T]) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progress.Failed > 0
}

// event counts a finished point in counter, notes its compute time (if
// not negative), and reports the progress, in order.
func (s *sweep[T]) event(counter *int, took time.Duration) {
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	s.mu.Lock()
	*counter++
	s.progress.Done++
	if took >= 0 {
		s.addDuration(took, false)
	}
	p, doing := s.snapshot(), s.doing()
	s.mu.Unlock()
	s.report(p, doing)
}

// doing says what the sweep does besides finishing points: computing
// some, waiting for those another holds; s.mu is held.
func (s *sweep[T]) doing() string {
	var parts []string
	if s.computing > 0 {
		parts = append(parts, fmt.Sprintf("computing %d here", s.computing))
	}
	machines := 0
	for _, remote := range s.held {
		if remote {
			machines++
		}
	}
	if machines > 0 {
		parts = append(parts, fmt.Sprintf("waiting for %s another machine is computing (its lease on the remote)", points(machines)))
	}
	if processes := len(s.held) - machines; processes > 0 {
		parts = append(parts, fmt.Sprintf("waiting for %s another process is computing (its lock in the cache directory)", points(processes)))
	}
	return strings.Join(parts, ", ")
}

func points(n int) string {
	if n == 1 {
		return "1 point"
	}
	return strconv.Itoa(n) + " points"
}

// keepReporting reports the progress, with what the sweep is doing, at
// least every line interval while no point finishes (a line is printed
// only when one is due), until the returned function is called.
func (s *sweep[T]) keepReporting() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(s.cfg.lineEvery/4, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			s.reportMu.Lock()
			s.mu.Lock()
			p, doing := s.snapshot(), s.doing()
			s.mu.Unlock()
			s.view.show(p, doing, false)
			s.reportMu.Unlock()
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// snapshot returns the progress, with its ETA: the median compute time
// times the rounds of workers the points left need; s.mu is held.
func (s *sweep[T]) snapshot() Progress {
	p := s.progress
	p.Elapsed = s.cfg.now().Sub(s.start)
	if left := p.Total - p.Done; s.median > 0 && left > 0 {
		rounds := (left + s.cfg.workers - 1) / s.cfg.workers
		p.ETA = maxDuration
		if s.median < maxDuration/time.Duration(rounds) {
			p.ETA = s.median * time.Duration(rounds)
		}
	}
	return p
}

// report hands p to the callbacks and the view; s.reportMu is held.
func (s *sweep[T]) report(p Progress, doing string) {
	for _, fn := range s.cfg.progress {
		fn(p)
	}
	if s.view != nil {
		s.view.show(p, doing, false)
	}
}

// finish reports the final progress and records the compute times
// measured, for the next sweep's estimate.
func (s *sweep[T]) finish() {
	s.reportMu.Lock()
	defer s.reportMu.Unlock()
	s.mu.Lock()
	p := s.snapshot()
	p.ETA = 0 // done, or stopped
	computed := s.computed
	s.mu.Unlock()
	if s.view != nil {
		s.view.show(p, "", true)
	}
	if len(s.points) > 0 && len(computed) > 0 {
		recordDurations(s.host, s.points[0].Call.Func, s.points[0].Call.Version, computed)
	}
}

// shardBounds returns where shard index of count's slice of n points
// begins and ends.
func shardBounds(n, index, count int) (first, end int) {
	if count <= 1 {
		return 0, n
	}
	return shardStart(n, index, count), shardStart(n, index+1, count)
}

// shardStart returns index*n/count, in 128 bits: a count from the
// environment may be as large as an int. index <= count.
func shardStart(n, index, count int) int {
	if index >= count {
		return n
	}
	hi, lo := bits.Mul64(uint64(index), uint64(n))
	q, _ := bits.Div64(hi, lo, uint64(count)) // hi < count, since index < count
	return int(q)
}

// shardOrder returns 0…n-1 starting with shard index of count's slice,
// then the slices after it, wrapping around.
func shardOrder(n, index, count int) []int {
	order := make([]int, 0, n)
	start, _ := shardBounds(n, index, count)
	for k := range n {
		order = append(order, (start+k)%n)
	}
	return order
}

// resolveShard takes the shard from the scheduler's environment when no
// option gave it.
func (c *config) resolveShard() error {
	if c.explicitShard {
		if c.count < 1 || c.index < 0 || c.index >= c.count {
			return fmt.Errorf("shard %d of %d: want 0 <= index < count", c.index, c.count)
		}
		c.shardFrom = fmt.Sprintf(" (Shard(%d, %d))", c.index, c.count)
		return nil
	}
	if c.shardCount > 0 {
		s := os.Getenv("JOB_COMPLETION_INDEX")
		if s == "" {
			c.note = fmt.Sprintf("ShardCount(%d), and JOB_COMPLETION_INDEX is not set: this is no Indexed Job's task, so it runs the whole grid", c.shardCount)
			return nil
		}
		idx, err := strconv.Atoi(s)
		if err != nil || idx < 0 || idx >= c.shardCount {
			return fmt.Errorf("ShardCount(%d) takes the index from JOB_COMPLETION_INDEX, which is %q: want 0 to %d", c.shardCount, s, c.shardCount-1)
		}
		c.index, c.count = idx, c.shardCount
		c.shardFrom = " (JOB_COMPLETION_INDEX=" + s + ")"
		return nil
	}
	// A variable set to what is no number is an error that names it,
	// never a quiet run of the whole grid on every task.
	vars := map[string]int{}
	for _, name := range []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN"} {
		s, ok := os.LookupEnv(name)
		if !ok || s == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%s is %q, which is no integer this machine holds: unset it, or set it as Slurm does", name, s)
		}
		vars[name] = n
	}
	id, hasID := vars["SLURM_ARRAY_TASK_ID"]
	count, hasCount := vars["SLURM_ARRAY_TASK_COUNT"]
	if !hasID || !hasCount {
		return nil // not an array job: one task
	}
	if count < 1 {
		return fmt.Errorf("SLURM_ARRAY_TASK_COUNT is %d: want 1 or more", count)
	}
	minID := vars["SLURM_ARRAY_TASK_MIN"]
	if id < 0 || minID < 0 || id < minID {
		return fmt.Errorf("SLURM_ARRAY_TASK_ID is %d and SLURM_ARRAY_TASK_MIN %d: want 0 <= SLURM_ARRAY_TASK_MIN <= SLURM_ARRAY_TASK_ID", id, minID)
	}
	c.index, c.count = (id-minID)%count, count
	c.shardFrom = fmt.Sprintf(" (SLURM_ARRAY_TASK_ID=%d)", id)
	return nil
}

// Args is Run with one point for each element of args, named by
// its fields (%+v): point returns an element's Call and computation. The
// generated FCachedAll wrappers call it, with the cache ctx carries, or
// else runtime.Default().
func Args[A, T any](ctx context.Context, args []A, point func(A) (runtime.Call, func(context.Context) (T, error)), opts ...Option) ([]T, error) {
	points := make([]Point[T], len(args))
	for i, a := range args {
		call, compute := point(a)
		points[i] = Point[T]{Call: call, Compute: compute, Name: fmt.Sprintf("%+v", a)}
	}
	return Run(ctx, nil, points, opts...)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
