package cachetest

import (
	"context"
	"os"
	"strings"
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

var call = cacheruntime.Call{Func: "example.com/sim.Run", Version: 1, Params: map[string]any{"snr": 300.0}}

func compute(context.Context) (float64, error) { return 0.5, nil }

func TestUseSwapsAndRestoresTheDefault(t *testing.T) {
	outer := Open(t)
	previous := cacheruntime.SetDefault(outer)
	t.Cleanup(func() { cacheruntime.SetDefault(previous) })

	var inner *cacheruntime.Cache
	t.Run("test", func(t *testing.T) {
		inner = Use(t)
		if cacheruntime.Default() != inner || os.Getenv("CACHEGEN_DIR") != inner.Dir() {
			t.Fatalf("Default is %s, CACHEGEN_DIR %q: want the test's cache %s", cacheruntime.Default().Dir(), os.Getenv("CACHEGEN_DIR"), inner.Dir())
		}
		if !strings.HasPrefix(inner.Dir(), os.TempDir()) {
			t.Errorf("the test's cache is in %s, outside the temporary directory", inner.Dir())
		}
		if _, err := cacheruntime.Do(context.Background(), nil, call, compute); err != nil {
			t.Fatal(err)
		}
	})
	if cacheruntime.Default() != outer {
		t.Fatal("the default cache was not restored when the test ended")
	}
	if inner.Stats().Misses != 1 || outer.Stats().Misses != 0 {
		t.Errorf("the call went to %+v / %+v: want the test's cache", inner.Stats(), outer.Stats())
	}
}

func TestUseRefusesAParallelTest(t *testing.T) {
	t.Run("parallel", func(t *testing.T) {
		t.Parallel()
		defer func() {
			r := recover()
			if msg, _ := r.(string); !strings.Contains(msg, "cachetest.Use in a parallel test") || !strings.Contains(msg, "cachetest.Context(ctx, t)") {
				t.Errorf("Use in a parallel test: panic %v; want one that names cachetest.Context", r)
			}
		}()
		Use(t)
	})
}

func TestContextCarriesAFreshCache(t *testing.T) {
	t.Parallel()
	ctx, c := Context(context.Background(), t)
	for range 2 {
		if _, err := cacheruntime.Do(ctx, nil, call, compute); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Misses != 1 || s.Hits != 1 {
		t.Errorf("stats %+v: want the calls made on the context's cache", s)
	}
}
