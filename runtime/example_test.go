package runtime_test

import (
	"context"
	"fmt"
	"log"
	"os"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// The key of the README's first call: RunMonteCarlo at snr=300.
func ExampleCall_Key() {
	call := cacheruntime.Call{
		Func:    "github.com/cachegen/cachegen/examples/montecarlo.RunMonteCarlo",
		Version: 1,
		Params:  map[string]any{"snr": 300.0, "nScenes": 1000, "seed": int64(42)},
	}
	key, err := call.Key()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(key)
	// Output: ca151f24d93c9c07
}

func ExampleDo() {
	dir, _ := os.MkdirTemp("", "cache")
	defer os.RemoveAll(dir)
	c, err := cacheruntime.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	call := cacheruntime.Call{Func: "example.com/sim.Square", Version: 1, Params: map[string]any{"x": 12}}
	for range 2 {
		v, _ := cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) {
			fmt.Println("computing")
			return 12 * 12, nil
		})
		fmt.Println(v)
	}
	// Output:
	// computing
	// 144
	// 144
}
