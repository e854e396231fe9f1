package generator

import (
	"os"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/cachegen/cachegen/internal/reach"
	"golang.org/x/tools/go/packages"
)

// isOurs reports whether src is a file cachegen wrote: only such a file is
// ever replaced or removed.
func isOurs(src []byte) bool { return fingerprint.IsGenerated(src) }

// load loads the packages matching patterns, with their syntax and types,
// and the build they are part of, whose code the fingerprints read. A
// previous output file of ours is read as its package clause alone, so
// that stale wrappers that no longer compile do not stop their
// regeneration.
func load(dir string, patterns []string, tags, output string) ([]*packages.Package, *reach.Program, error) {
	prog, err := reach.Load(dir, patterns, tags, output)
	if err != nil {
		return nil, nil, err
	}
	return prog.Roots(), prog, nil
}

// readFile returns the content of path, or nil if it does not exist.
func readFile(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	return b, err == nil, err
}
