package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/maintain"
)

// Tests in this file re-run the test binary as child processes (the role
// in CACHEGEN_TEST_CHILD), so that processes can share a cache directory
// and be killed at chosen moments.

const childEnv = "CACHEGEN_TEST_CHILD"

// child starts the test binary in role with args.
func child(t *testing.T, role string, args ...string) *exec.Cmd {
	t.Helper()
	return testenv.Child("TestChildProcess", childEnv, role, args...)
}

// appendLine appends a line to path, atomically for lines this short.
func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	f.WriteString(line + "\n")
	f.Close()
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// payloadOf is the self-checking result stored for key number i.
func payloadOf(i int) []int {
	xs := make([]int, 1000+i%7*3000)
	for j := range xs {
		xs[j] = i
	}
	return xs
}

func intactPayload(i int, xs []int) bool {
	if len(xs) != len(payloadOf(i)) {
		return false
	}
	for _, x := range xs {
		if x != i {
			return false
		}
	}
	return true
}

// TestChildProcess is not a test: it is the body of the child processes.
func TestChildProcess(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("only runs as a child process of the tests in process_test.go")
	}
	f := strings.Fields(spec)
	role, dir := f[0], f[1]
	c, err := Open(dir, WithLogger(discardLogger()))
	if err != nil {
		fmt.Println(err)
		os.Exit(3)
	}
	switch role {
	case "exact": // dir: the cases of exact_test.go
		exactChild(c)
	case "compute": // dir log goroutines
		log := f[2]
		n, _ := strconv.Atoi(f[3])
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				v, err := Do(context.Background(), c, mcCall(1), func(context.Context) ([]int, error) {
					appendLine(log, "computed")
					time.Sleep(300 * time.Millisecond)
					return payloadOf(1), nil
				})
				if err != nil || !intactPayload(1, v) {
					fmt.Println("wrong value", err)
					os.Exit(4)
				}
			})
		}
		wg.Wait()
	case "hold": // dir log: compute, and be killed while at it
		Do(context.Background(), c, mcCall(1), func(context.Context) ([]int, error) {
			appendLine(f[2], "computing")
			time.Sleep(time.Minute)
			return nil, nil
		})
	case "fill-limit": // dir limit base n: store n small entries under a size limit
		limit, _ := strconv.ParseInt(f[2], 10, 64)
		base, _ := strconv.Atoi(f[3])
		n, _ := strconv.Atoi(f[4])
		shardCleanMin = 2
		c, err := Open(dir, WithLogger(discardLogger()), WithMaxBytes(limit))
		if err != nil {
			fmt.Println(err)
			os.Exit(3)
		}
		for i := range n {
			if _, err := Do(context.Background(), c, mcCall(float64(base+i)), func(context.Context) ([]byte, error) { return make([]byte, 100), nil }); err != nil {
				fmt.Println(err)
				os.Exit(4)
			}
		}
	case "store-loop": // dir: store entries until killed
		for i := 0; ; i++ {
			Do(context.Background(), c, mcCall(float64(i%50)), func(context.Context) ([]int, error) { return payloadOf(i % 50), nil })
			if i%50 == 49 {
				tierOf(c).Clear(context.Background())
			}
		}
	}
	os.Exit(0)
}

// Scenario 2: four processes of eight goroutines call one key at once:
// the function runs once in all, every caller gets the right value, one
// valid entry remains and no temporary file.
func TestManyProcessesOneKeyComputeOnce(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "log")
	var cmds []*exec.Cmd
	for range 4 {
		cmd := child(t, "compute", dir, log, "8")
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
	if n := countLines(log); n != 1 {
		t.Fatalf("computed %d times across 4 processes, want once", n)
	}
	c, _ := openDir(t, dir)
	if es, _ := tierOf(c).List(context.Background()); len(es) != 1 {
		t.Fatalf("%d entries, want 1", len(es))
	}
	if rep, _ := tierOf(c).Verify(context.Background(), false); len(rep.Problems) != 0 {
		t.Fatalf("problems: %+v", rep.Problems)
	}
	c.disk.Walk(context.Background(), func(path string, kind disk.FileKind) error {
		if kind == disk.KindTemp || kind == disk.KindLock {
			t.Errorf("file left: %s", path)
		}
		return nil
	})
}

// Many callers, each with a cache of its own on one directory (each a
// process, as far as its locks go), call the same keys at once, with
// computations short enough that lock files come and go while others
// open them: each key is computed once, and only the entries remain.
// (internal/disk's TestLocksComputeOnceAsFilesComeAndGo checks the same
// of its locks, the per-key lock files of other systems among them.)
func TestLockFilesComeAndGoComputeOnce(t *testing.T) {
	dir := t.TempDir()
	const callers, keys = 8, 40
	var computed [keys]atomic.Int32
	var wg sync.WaitGroup
	for range callers {
		c, _ := openDir(t, dir)
		wg.Go(func() {
			for k := range keys {
				v, err := Do(context.Background(), c, mcCall(float64(k)), func(context.Context) ([]int, error) {
					computed[k].Add(1)
					time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
					return payloadOf(k), nil
				})
				if err != nil || !intactPayload(k, v) {
					t.Errorf("key %d: (%d values, %v)", k, len(v), err)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if n := computed[k].Load(); n != 1 {
			t.Errorf("key %d computed %d times, want once", k, n)
		}
	}
	c, _ := openDir(t, dir)
	var files int
	c.disk.Walk(context.Background(), func(path string, kind disk.FileKind) error {
		files++
		if kind != disk.KindEntry {
			t.Errorf("file left: %s", path)
		}
		return nil
	})
	if files != keys {
		t.Errorf("%d files for %d entries", files, keys)
	}
}

// Scenario 2: a process that dies while it holds a key's lock blocks
// nobody: the kernel releases the lock, and the next caller computes.
func TestKilledLockHolderBlocksNobody(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "log")
	holder := child(t, "hold", dir, log)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	for countLines(log) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	holder.Process.Kill()
	holder.Wait()
	c, _ := openDir(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := Do(ctx, c, mcCall(1), func(context.Context) ([]int, error) { return payloadOf(1), nil })
	if err != nil || !intactPayload(1, v) {
		t.Fatalf("after the lock holder died: (%v, %v)", len(v), err)
	}
}

// Scenario 2: a caller waiting for another process's computation returns
// when its context ends.
func TestWaitingForAnotherProcessHonoursContext(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "log")
	holder := child(t, "hold", dir, log)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	for countLines(log) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	c, _ := openDir(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ran := false
	_, err := Do(ctx, c, mcCall(1), func(context.Context) ([]int, error) { ran = true; return nil, nil })
	if err != context.DeadlineExceeded || ran {
		t.Fatalf("got %v (computed: %v), want the caller's deadline while the other process computes", err, ran)
	}
}

// checkAfterKill checks a cache a killed writer left: every call returns
// the exact value, no load ever fails a check, and cleaning removes the
// temporary files.
func checkAfterKill(t *testing.T, dir string, keys int) {
	t.Helper()
	c, _ := openDir(t, dir)
	for i := range keys {
		v, err := Do(context.Background(), c, mcCall(float64(i)), func(context.Context) ([]int, error) { return payloadOf(i), nil })
		if err != nil || !intactPayload(i, v) {
			t.Fatalf("key %d after a kill: (%d values, %v)", i, len(v), err)
		}
	}
	if s := c.Stats(); s.Corrupt != 0 {
		t.Fatalf("%d loads saw a partial entry", s.Corrupt)
	}
	c.now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := tierOf(c).Prune(context.Background(), maintain.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	c.disk.Walk(context.Background(), func(path string, kind disk.FileKind) error {
		if kind == disk.KindTemp {
			t.Errorf("trimming left a temporary file: %s", path)
		}
		return nil
	})
}

// Scenario 1: a writer SIGKILLed at any step of a store leaves its entry
// whole or absent, and at most its temporary file (internal/disk's
// TestKilledWriterLeavesWholeEntries kills one at each step). A cache
// holding what it leaves at each step, planted here, serves every call
// its exact value, never fails a load's check, and a prune removes the
// temporary file.
func TestCacheAfterAKilledWriter(t *testing.T) {
	src := t.TempDir()
	w, _ := openDir(t, src)
	if _, err := Do(context.Background(), w, mcCall(1), func(context.Context) ([]int, error) { return payloadOf(1), nil }); err != nil {
		t.Fatal(err)
	}
	key := keyOf(t, mcCall(1))
	data, err := os.ReadFile(w.disk.Path(key))
	if err != nil {
		t.Fatal(err)
	}
	temp := disk.ShardOf(key) + "/" + disk.TempPrefix + key + "-KILLEDWRITER"
	entry := string(data)
	for step, left := range map[string]map[string]string{
		"created":      {temp: ""},
		"half-written": {temp: entry[:len(entry)/2]},
		"written":      {temp: entry},                                             // and closed
		"renamed":      {disk.EntryName(key): entry, disk.UsagePath(key[:2]): ""}, // its usage record not yet updated
	} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			testenv.WriteFiles(t, dir, left)
			checkAfterKill(t, dir, 2)
		})
	}
}

// Scenario 1: writers SIGKILLed at random moments while storing and
// clearing entries. CACHEGEN_STRESS=1 runs 200 kills instead of 25.
func TestKilledWriterAtRandomMoments(t *testing.T) {
	testenv.Slow(t) // kills writer processes at random moments
	kills := 25
	if os.Getenv("CACHEGEN_STRESS") != "" {
		kills = 200
	}
	dir := t.TempDir()
	for range kills {
		cmd := child(t, "store-loop", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rand.IntN(60)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
	}
	checkAfterKill(t, dir, 50)
}
