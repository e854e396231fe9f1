// Command freshhit measures what a hit on a large []float64 costs in a new
// process, as a scientist's script meets it when run again, against the
// floor: a new process that reads the same entry file with os.ReadFile.
// Both make one pass over the values (their sum). It runs the two in
// turn, each as a process of its own, and prints their medians and the
// median of the ratios, pair by pair.
//
//	go run ./bench/freshhit -mib 64 -runs 9
//	go run ./bench/freshhit -mib 1024 -runs 5
//	go run ./bench/freshhit -mib 1024 -runs 5 -mmap
//
// With -mmap the hit maps its entry (the call's Map, as the directive's
// mmap sets it).
//
// It is a measurement, not a test: run it on an idle machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
	"unsafe"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

var mapped = flag.Bool("mmap", false, "map the entry on a hit")

func call(n int) cacheruntime.Call {
	return cacheruntime.Call{Func: "github.com/cachegen/cachegen/bench/freshhit.Values", Version: 1, Params: map[string]any{"n": n}, Map: *mapped}
}

func main() {
	mib := flag.Int("mib", 64, "the result's size, in MiB")
	runs := flag.Int("runs", 9, "runs of each process")
	dir := flag.String("dir", "", "the cache directory (default: a new temporary one)")
	child := flag.String("child", "", "internal: hit or read")
	flag.Parse()
	n := *mib << 20 / 8
	if *child != "" {
		os.Exit(run(*child, *dir, n))
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "freshhit")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	c, err := cacheruntime.Open(*dir)
	if err != nil {
		fail(err)
	}
	if _, err := cacheruntime.Do(context.Background(), c, call(n), func(context.Context) ([]float64, error) {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i)
		}
		return v, nil
	}); err != nil {
		fail(err)
	}
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	time1 := func(mode string) time.Duration {
		start := time.Now()
		cmd := exec.Command(self, "-child", mode, "-dir", *dir, "-mib", fmt.Sprint(*mib), fmt.Sprintf("-mmap=%v", *mapped))
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("%s: %w", mode, err))
		}
		return time.Since(start)
	}
	time1("hit") // warm the page cache and the binary
	time1("read")
	var hits, reads []time.Duration
	var ratios []float64
	for range *runs {
		h, r := time1("hit"), time1("read")
		hits, reads = append(hits, h), append(reads, r)
		ratios = append(ratios, float64(h)/float64(r))
	}
	how := "read"
	if *mapped {
		how = "mapped"
	}
	fmt.Printf("%d MiB []float64, %s, %d runs each, whole processes, with one pass over the values\n", *mib, how, *runs)
	fmt.Printf("hit in a new process        median %v\n", median(hits).Round(time.Millisecond))
	fmt.Printf("os.ReadFile in a new process median %v\n", median(reads).Round(time.Millisecond))
	slices.Sort(ratios)
	fmt.Printf("hit/ReadFile, pair by pair  median %.2fx (min %.2fx, max %.2fx)\n", ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
}

// run is a child: a hit, or a read of the entry file, then a pass.
func run(mode, dir string, n int) int {
	var v []float64
	switch mode {
	case "hit":
		c, err := cacheruntime.Open(dir)
		if err != nil {
			fail(err)
		}
		v, err = cacheruntime.Do(context.Background(), c, call(n), func(context.Context) ([]float64, error) {
			return nil, fmt.Errorf("a miss: the parent stored the result")
		})
		if err != nil {
			fail(err)
		}
	case "read":
		key, err := call(n).Key()
		if err != nil {
			fail(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, key[:2], key+".entry"))
		if err != nil {
			fail(err)
		}
		// The values are the last 8n bytes but the trailer's 8: a pass
		// over n float64s of the file, as the hit's caller makes.
		off := len(b) - 8 - 8*n
		v = unsafe.Slice((*float64)(unsafe.Pointer(&b[off])), n)
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	if s < 0 {
		fmt.Println(s)
	}
	return 0
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "freshhit:", err)
	os.Exit(1)
}
