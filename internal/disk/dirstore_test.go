package disk_test

import (
	"context"
	"testing"

	_ "github.com/cachegen/cachegen/internal/disk" // registers file://
	"github.com/cachegen/cachegen/remote"
	"github.com/cachegen/cachegen/runtime/storetest"
)

// A file:// URL opens a directory as a shared store that passes every
// check a Store must.
func TestDirStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) remote.Store {
		r, err := remote.Open(context.Background(), "file://"+t.TempDir(), remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Store()
	})
}
