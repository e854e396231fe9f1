package runtime_test

import (
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/storetest"
)

func TestDirStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cacheruntime.Store {
		s, err := cacheruntime.DirStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
