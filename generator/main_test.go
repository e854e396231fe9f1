package generator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cachegen/cachegen/internal/reach"
)

// TestMain keeps the parts that runs of the tests save in a directory of
// their own, not in the user's cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cachegen-parts-")
	if err != nil {
		panic(err)
	}
	defaultParts = func() reach.PartStore { return reach.PartStore{Dir: filepath.Join(dir, "parts")} }
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
