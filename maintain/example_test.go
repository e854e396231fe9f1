package maintain_test

import (
	"context"
	"fmt"
	"os"

	"github.com/cachegen/cachegen/maintain"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// A program stores results; a person lists the cache and prunes what a
// version bump left behind.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "cache")
	defer os.RemoveAll(dir)
	c, _ := cacheruntime.Open(dir)
	for version := 1; version <= 2; version++ {
		call := cacheruntime.Call{Func: "example.com/sim.Square", Version: version, Params: map[string]any{"x": 3}}
		cacheruntime.Do(ctx, c, call, func(context.Context) (int, error) { return 9, nil })
	}

	t, err := maintain.Open(dir, maintain.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	es, _ := t.List(ctx)
	for _, e := range es {
		fmt.Println(e.Func, "version", e.Version, string(e.Args), "old:", e.OldVersion)
	}
	gone, _ := t.Prune(ctx, maintain.PruneOptions{OldVersions: true})
	fmt.Println("pruned", len(gone), "entry of version", gone[0].Version)
	// Output:
	// example.com/sim.Square version 2 {"x": 3} old: false
	// example.com/sim.Square version 1 {"x": 3} old: true
	// pruned 1 entry of version 1
}
