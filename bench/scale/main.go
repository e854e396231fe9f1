// Command scale fills a cache directory with N small entries and reports
// what the cache costs at that size: a hit at 1,000 entries and at N, the
// first store of a fresh process with and without a size limit, cachectl's
// stats and ls, and the files and disk bytes per entry.
//
//	go run ./bench/scale -n 1000000 -dir /var/tmp/scale
//
// It is a measurement, not a test: run it on the machine whose figures
// you want. A directory already filled to N is reused.
//go:build unix

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cachegen/cachegen/maintain"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// A point is the call of entry i: 30 float64s, 240 bytes, as a small
// result of a sweep.
func point(i int) cacheruntime.Call {
	return cacheruntime.Call{Func: "example.com/scale.Point", Version: 1, Params: map[string]any{"i": i}}
}

func compute(i int) func(context.Context) ([]float64, error) {
	return func(context.Context) ([]float64, error) {
		xs := make([]float64, 30)
		for j := range xs {
			xs[j] = float64(i) + float64(j)/30
		}
		return xs, nil
	}
}

func main() {
	n := flag.Int("n", 1_000_000, "entries to fill the cache with")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "cachegen-scale"), "cache directory (reused if already filled)")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "goroutines filling the cache")
	flag.Parse()
	if child := os.Getenv(childEnv); child != "" {
		firstStore(child)
		return
	}
	if err := run(os.Stdout, *dir, *n, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// childEnv holds, in a child process, the directory and the size limit
// ("plain" for none) of the first store to measure.
const childEnv = "CACHEGEN_SCALE_CHILD"

func run(w io.Writer, dir string, n, workers int) error {
	big := filepath.Join(dir, "big")
	small := filepath.Join(dir, "small")
	fmt.Fprintf(w, "machine: %d cores, %s, %s\n", runtime.NumCPU(), cpuModel(), runtime.Version())
	if err := fill(small, 1000, workers); err != nil {
		return err
	}
	start := time.Now()
	if err := fill(big, n, workers); err != nil {
		return err
	}
	fmt.Fprintf(w, "filled %d entries in %s\n", n, time.Since(start).Round(time.Second))

	hitSmall, err := hitLatency(small, 1000)
	if err != nil {
		return err
	}
	hitBig, err := hitLatency(big, n)
	if err != nil {
		return err
	}
	t, err := maintain.Open(big, maintain.Options{})
	if err != nil {
		return err
	}
	u, err := t.Usage()
	if err != nil {
		return err
	}
	limit := strconv.FormatInt(4*u.Bytes, 10) // a limit the cache is well under: no trim
	plain, err := median(7, func() (time.Duration, error) { return childStore(big, "plain") })
	if err != nil {
		return err
	}
	limited, err := median(7, func() (time.Duration, error) { return childStore(big, limit) })
	if err != nil {
		return err
	}

	ctl, err := buildCachectl()
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(ctl))
	totals, err := timeCmd(ctl, "-dir", big, "stats", "-totals")
	if err != nil {
		return err
	}
	stats, err := timeCmd(ctl, "-dir", big, "stats")
	if err != nil {
		return err
	}
	ls, err := timeCmd(ctl, "-dir", big, "ls")
	if err != nil {
		return err
	}
	files, entries, disk, err := census(big)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\n| measure (%d entries) | value |\n| --- | --- |\n", n)
	fmt.Fprintf(w, "| hit, 1,000 entries (median of 5,000) | %s |\n", hitSmall)
	fmt.Fprintf(w, "| hit, %d entries (median of 5,000) | %s (%.2fx) |\n", n, hitBig, float64(hitBig)/float64(hitSmall))
	fmt.Fprintf(w, "| first store of a fresh process, no size limit (median of 7) | %s |\n", plain)
	fmt.Fprintf(w, "| first store of a fresh process, with a size limit (median of 7) | %s (%.2fx) |\n", limited, float64(limited)/float64(plain))
	fmt.Fprintf(w, "| `cachectl stats -totals` | %s |\n", totals)
	fmt.Fprintf(w, "| `cachectl stats` (reads every entry) | %s |\n", stats)
	fmt.Fprintf(w, "| `cachectl ls` (reads every entry) | %s |\n", ls)
	fmt.Fprintf(w, "| files per entry (all files / entries; %d files) | %.4f |\n", files, float64(files)/float64(entries))
	fmt.Fprintf(w, "| disk bytes per entry (allocated blocks of files and directories) | %.0f |\n", float64(disk)/float64(entries))
	fmt.Fprintf(w, "| recorded size per entry (`stats -totals`) | %.0f |\n", float64(u.Bytes)/float64(u.Entries))
	return nil
}

// fill stores entries 0…n-1 in dir, on workers goroutines, skipping a
// directory already filled.
func fill(dir string, n, workers int) error {
	c, err := cacheruntime.Open(dir, cacheruntime.WithLogger(discard()))
	if err != nil {
		return err
	}
	if t, err := maintain.Open(dir, maintain.Options{}); err != nil {
		return err
	} else if u, err := t.Usage(); err == nil && u.Entries >= int64(n) {
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if _, err := cacheruntime.Do(context.Background(), c, point(i), compute(i)); err != nil {
					errs <- err
					return
				}
				if i > 0 && i%100_000 == 0 {
					fmt.Fprintf(os.Stderr, "%s: %d entries, %s\n", dir, i, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if s := c.Stats(); s.StoreErrors > 0 {
		return fmt.Errorf("%d stores failed", s.StoreErrors)
	}
	return nil
}

// hitLatency is the median time of 5,000 hits on random entries of a cache
// of n.
func hitLatency(dir string, n int) (time.Duration, error) {
	c, err := cacheruntime.Open(dir, cacheruntime.WithLogger(discard()))
	if err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(1, uint64(n)))
	times := make([]time.Duration, 5000)
	for k := range times {
		i := r.IntN(n)
		start := time.Now()
		if _, err := cacheruntime.Do(context.Background(), c, point(i), compute(i)); err != nil {
			return 0, err
		}
		times[k] = time.Since(start)
	}
	if s := c.Stats(); s.Misses > 0 {
		return 0, fmt.Errorf("%s: %d of the hits missed", dir, s.Misses)
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// childStore runs a fresh process that opens the cache (with a size limit
// unless limit is "plain") and stores one new entry, and returns how long
// that first store took.
func childStore(dir, limit string) (time.Duration, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+limit+" "+dir)
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("child: %w", err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	return time.Duration(ns), err
}

// firstStore is the child: it prints the nanoseconds its first store took,
// a miss on a new key, from the call to its return.
func firstStore(spec string) {
	limit, dir, _ := strings.Cut(spec, " ")
	opts := []cacheruntime.Option{cacheruntime.WithLogger(discard())}
	if limit != "plain" {
		n, err := strconv.ParseInt(limit, 10, 64)
		if err != nil {
			panic(err)
		}
		opts = append(opts, cacheruntime.WithMaxBytes(n))
	}
	c, err := cacheruntime.Open(filepath.Join(dir), opts...)
	if err != nil {
		panic(err)
	}
	i := -1 - int(time.Now().UnixNano()%1_000_000_000) // a new key, below the filled ones
	start := time.Now()
	if _, err := cacheruntime.Do(context.Background(), c, point(i), compute(i)); err != nil {
		panic(err)
	}
	took := time.Since(start)
	c.Invalidate(context.Background(), point(i))
	fmt.Println(int64(took))
}

func median(k int, f func() (time.Duration, error)) (time.Duration, error) {
	var ds []time.Duration
	for range k {
		d, err := f()
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

func buildCachectl() (string, error) {
	tmp, err := os.MkdirTemp("", "cachectl")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, "cachectl")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/cachegen/cachegen/cmd/cachectl")
	cmd.Stderr = os.Stderr
	return bin, cmd.Run()
}

func timeCmd(name string, args ...string) (time.Duration, error) {
	start := time.Now()
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	err := cmd.Run() // stdout is discarded
	return time.Since(start).Round(time.Millisecond), err
}

// census counts the regular files under dir, the entries among them, and
// the disk bytes its files and directories occupy.
func census(dir string) (files, entries, disk int64, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		disk += st.Blocks * 512
		if d.Type().IsRegular() {
			files++
			if strings.HasSuffix(p, ".entry") {
				entries++
			}
		}
		return nil
	})
	return files, entries, disk, err
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimLeft(name, " \t:"))
		}
	}
	return runtime.GOARCH
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
