// Package cachetest gives tests a cache of their own, so that a test of
// code with cached functions neither reads results another run left in
// the user's cache nor leaves its own there.
//
// A test of a function without a context points the default cache, which
// the generated FCached wrappers use, at a fresh directory:
//
//	func TestRetrieval(t *testing.T) {
//		c := cachetest.Use(t)
//		got, err := RetrieveCached(scene) // computes, in t.TempDir()
//		...
//		if c.Stats().Hits != 0 { ... }
//	}
//
// The default cache belongs to the whole test process, so Use refuses a
// test that runs in parallel (it fails as t.Setenv does). A parallel test
// carries its own cache in the context that the wrappers of functions
// taking one use (Context), or passes it to FCachedIn.
package cachetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// Open returns a fresh, empty cache in a directory of t.TempDir(), opened
// with opts.
func Open(t testing.TB, opts ...cacheruntime.Option) *cacheruntime.Cache {
	t.Helper()
	c, err := cacheruntime.Open(t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("cachetest: %v", err)
	}
	return c
}

// Use makes a fresh cache (Open) the default cache for the rest of the
// test, sets CACHEGEN_DIR to its directory for any process the test
// starts, and restores both when the test ends. It panics in a test that
// has called t.Parallel, or whose parent has.
func Use(t testing.TB, opts ...cacheruntime.Option) *cacheruntime.Cache {
	t.Helper()
	c := Open(t, opts...)
	setenv(t, c.Dir())
	previous := cacheruntime.SetDefault(c)
	t.Cleanup(func() { cacheruntime.SetDefault(previous) })
	return c
}

// setenv sets CACHEGEN_DIR for the rest of the test, refusing a parallel
// test, as t.Setenv does, with a message that says what to use instead.
func setenv(t testing.TB, dir string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if msg, _ := r.(string); !strings.Contains(msg, "t.Parallel") {
				panic(r) // not the parallel test's refusal
			}
			panic(fmt.Sprintf("cachetest.Use in a parallel test (%v): the default cache belongs to the whole test process; "+
				"use ctx, c := cachetest.Context(ctx, t) for functions that take a context, or pass cachetest.Open(t) to FCachedIn", r))
		}
	}()
	t.Setenv("CACHEGEN_DIR", dir)
}

// Context returns ctx carrying a fresh cache (Open), for the wrappers of
// functions that take a context: safe in parallel tests. It isolates only
// the calls given the returned context or one derived from it; the
// wrappers of functions without a context, and calls given another
// context, still use the default cache (see Use and FCachedIn).
func Context(ctx context.Context, t testing.TB, opts ...cacheruntime.Option) (context.Context, *cacheruntime.Cache) {
	t.Helper()
	c := Open(t, opts...)
	return cacheruntime.WithCache(ctx, c), c
}
