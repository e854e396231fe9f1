package sweep

import (
	"context"
	"path/filepath"
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// No setting of the environment crashes a cached call or a sweep: a cache
// that cannot be opened as configured computes every call, and every path
// of Do, Run and Args works with it, whole and sharded.
func TestMisconfiguredEnvironmentNeverCrashes(t *testing.T) {
	for _, bad := range []struct{ name, value string }{
		{"CACHEGEN_SIGNING_KEY", ""}, // an unset CI secret
		{"CACHEGEN_SIGNING_KEY", "short"},
		{"CACHEGEN_MODE", "bogus"},
		{"CACHEGEN_MAX_SIZE", "lots"},
		{"CACHEGEN_SHARED_DIR", "maybe"},
		{"CACHEGEN_DIR", "/proc/nope"},
		{"CACHEGEN_MODE", "off"}, // not a mistake: off on purpose
	} {
		t.Run(bad.name+"="+bad.value, func(t *testing.T) {
			t.Setenv("CACHEGEN_DIR", filepath.Join(t.TempDir(), "cache"))
			t.Setenv(bad.name, bad.value)
			t.Cleanup(func() { cacheruntime.SetDefault(cacheruntime.SetDefault(nil)) })
			cacheruntime.SetDefault(nil) // the next Default reads the environment
			if m := cacheruntime.Default().Mode(); m != cacheruntime.ModeOff {
				t.Fatalf("the default cache is %v, want off", m)
			}
			ctx := context.Background()
			// FCached: one call.
			ps := grid(12, square)
			v, err := cacheruntime.Do(ctx, nil, ps[5].Call, ps[5].Compute)
			if err != nil || v != 25 {
				t.Fatalf("Do = %v, %v; want 25", v, err)
			}
			// FCachedAll: a sweep over arguments.
			args := make([]int, 12)
			for i := range args {
				args[i] = i
			}
			got, err := Args(ctx, args, func(i int) (cacheruntime.Call, func(context.Context) (float64, error)) {
				return ps[i].Call, ps[i].Compute
			})
			if err != nil {
				t.Fatal(err)
			}
			checkSquares(t, got, 12)
			// A sharded sweep, with a progress callback.
			var last Progress
			got, err = Run(ctx, nil, ps, Shard(1, 3), Workers(2), OnProgress(func(p Progress) { last = p }))
			if err != nil {
				t.Fatal(err)
			}
			checkSquares(t, got, 12)
			if last.Computed != 12 {
				t.Errorf("the sharded sweep computed %d points, want all 12 (the cache is off): %+v", last.Computed, last)
			}
		})
	}
}

// Every method of a cache that a bad setting turned off works, whatever
// the setting: none crashes.
func TestMisconfiguredCacheMethodsNeverCrash(t *testing.T) {
	for _, bad := range []struct{ name, value string }{
		{"CACHEGEN_SIGNING_KEY", "short"},
		{"CACHEGEN_MODE", "bogus"},
		{"CACHEGEN_REMOTE", "redis://127.0.0.1:1/0"},
		{"CACHEGEN_REMOTE", "bogus"},
		{"CACHEGEN_REMOTE", "file:///proc/nope"},
		{"CACHEGEN_REMOTE_MODE", "bogus"},
		{"CACHEGEN_VERBOSE", "bogus"},
	} {
		t.Run(bad.name+"="+bad.value, func(t *testing.T) {
			t.Setenv("CACHEGEN_DIR", filepath.Join(t.TempDir(), "cache"))
			if bad.name == "CACHEGEN_REMOTE_MODE" {
				t.Setenv("CACHEGEN_REMOTE", "file://"+t.TempDir())
			}
			t.Setenv(bad.name, bad.value)
			t.Cleanup(func() { cacheruntime.SetDefault(cacheruntime.SetDefault(nil)) })
			cacheruntime.SetDefault(nil)
			c := cacheruntime.Default()
			ctx := context.Background()
			ps := grid(12, square)
			c.Stats()
			c.Invalidate(ctx, ps[1].Call)
			c.Remove(ctx, "0123456789abcdef")
			v, err := cacheruntime.Do(ctx, nil, ps[5].Call, ps[5].Compute)
			if err != nil || v != 25 {
				t.Fatalf("Do = %v, %v", v, err)
			}
			if _, err := Run(ctx, nil, ps, Shard(1, 3), Workers(2)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
