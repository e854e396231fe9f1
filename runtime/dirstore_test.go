package runtime_test

import (
	"context"
	"testing"

	"github.com/cachegen/cachegen/remote"
	_ "github.com/cachegen/cachegen/runtime" // registers file://
	"github.com/cachegen/cachegen/runtime/storetest"
)

func TestDirStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) remote.Store {
		r, err := remote.Open(context.Background(), "file://"+t.TempDir(), remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Store()
	})
}
