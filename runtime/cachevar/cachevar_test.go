package cachevar

import (
	"context"
	"encoding/json"
	"expvar"
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/cachetest"
)

func TestPublish(t *testing.T) {
	c := cachetest.Use(t)
	call := cacheruntime.Call{Func: "example.com/sim.Run", Version: 1, Params: map[string]any{"x": 1}}
	for range 2 {
		if _, err := cacheruntime.Do(context.Background(), nil, call, func(context.Context) (int, error) { return 1, nil }); err != nil {
			t.Fatal(err)
		}
	}
	v := expvar.Get(Name)
	if v == nil {
		t.Fatalf("nothing published as %q", Name)
	}
	var got cacheruntime.Stats
	if err := json.Unmarshal([]byte(v.String()), &got); err != nil {
		t.Fatalf("%s is not the JSON of Stats: %v\n%s", Name, err, v)
	}
	if got != c.Stats() || got.Hits != 1 || got.Misses != 1 {
		t.Errorf("published %+v, want the default cache's %+v", got, c.Stats())
	}
}
