package sweep

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/testenv"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func open(t *testing.T, opts ...cacheruntime.Option) (*cacheruntime.Cache, *testenv.Buffer) {
	t.Helper()
	return openDir(t, t.TempDir(), opts...)
}

func openDir(t *testing.T, dir string, opts ...cacheruntime.Option) (*cacheruntime.Cache, *testenv.Buffer) {
	t.Helper()
	log := new(testenv.Buffer)
	c, err := cacheruntime.Open(dir, append([]cacheruntime.Option{cacheruntime.WithLogger(slog.New(logline.New(log)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, log
}

func do[T any](t *testing.T, c *cacheruntime.Cache, call cacheruntime.Call, compute func(context.Context) (T, error)) T {
	t.Helper()
	v, err := cacheruntime.Do(context.Background(), c, call, compute)
	if err != nil {
		t.Fatalf("Do(%s): %v", call.Func, err)
	}
	return v
}

// hold makes c compute call until the returned function is called: while
// it computes, c holds the call's lock, as another process computing it
// would.
func hold(t *testing.T, c *cacheruntime.Cache, call cacheruntime.Call) (release func()) {
	t.Helper()
	started, done, stop := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		cacheruntime.Do(context.Background(), c, call, func(context.Context) (float64, error) {
			close(started)
			<-stop
			return -1, fmt.Errorf("held, not computed") // stores nothing
		})
	}()
	<-started
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(stop)
			<-done
		})
	}
	t.Cleanup(release)
	return release
}

// childEnv makes the test binary play a role in another process.
const childEnv = "CACHEGEN_SWEEP_TEST_CHILD"

func child(t *testing.T, role string, args ...string) *exec.Cmd {
	t.Helper()
	return testenv.Child("TestChildProcess", childEnv, role, args...)
}

// TestChildProcess is the other process of the multi-process tests.
func TestChildProcess(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("runs only as a child of another test")
	}
	f := strings.Fields(spec)
	switch f[0] {
	case "sweep": // dir log start: sweep a 20-point grid from the given moment
		dir, log := f[1], f[2]
		start, _ := strconv.ParseInt(f[3], 10, 64)
		c, err := cacheruntime.Open(dir, cacheruntime.WithVerbose(true), cacheruntime.WithLogger(slog.New(logline.New(os.Stderr))))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(time.Unix(0, start)))
		var computed atomic.Int32
		got, err := Run(context.Background(), c, grid(20, func(ctx context.Context, i int) (float64, error) {
			computed.Add(1)
			appendLine(log, strconv.Itoa(i))
			time.Sleep(30 * time.Millisecond)
			return square(ctx, i)
		}), Quiet())
		for i, v := range got {
			if v != float64(i*i) || err != nil {
				fmt.Println("wrong value", i, v, err)
				os.Exit(4)
			}
		}
		fmt.Printf("%d results, %d computed\n", len(got), computed.Load())
	}
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
