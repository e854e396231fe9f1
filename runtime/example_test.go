package runtime_test

import (
	"context"
	"fmt"
	"log"
	"os"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func ExampleKey() {
	key, err := cacheruntime.Key(map[string]any{"snr": 300, "n_scenes": 100, "seed": 42, "version": 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(key)
	// Output: c66f1de772e87e1f
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
