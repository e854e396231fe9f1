package runtime_test

import (
	"context"
	"testing"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/storetest"
)

func TestDirStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cacheruntime.Store {
		r, err := cacheruntime.OpenRemote(context.Background(), "file://"+t.TempDir(), cacheruntime.RemoteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Store()
	})
}
