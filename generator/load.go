package generator

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"golang.org/x/tools/go/packages"
)

// isOurs reports whether src is a file cachegen wrote: only such a file is
// ever replaced or removed.
func isOurs(src []byte) bool { return fingerprint.IsGenerated(src) }

// load loads and type-checks the packages matching patterns. A previous
// output file of ours is read as its package clause alone, so that stale
// wrappers that no longer compile do not stop their regeneration.
func load(dir string, patterns []string, tags, output string) ([]*packages.Package, error) {
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
			packages.NeedTypesInfo | packages.NeedModule,
		Dir:   dir,
		Tests: false,
		ParseFile: func(fset *token.FileSet, filename string, src []byte) (*ast.File, error) {
			mode := parser.AllErrors | parser.ParseComments
			if filepath.Base(filename) == output && isOurs(src) {
				mode = parser.PackageClauseOnly
			}
			return parser.ParseFile(fset, filename, src, mode)
		},
	}
	if tags != "" {
		cfg.BuildFlags = []string{"-tags=" + tags}
	}
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	return packages.Load(cfg, patterns...)
}

// readFile returns the content of path, or nil if it does not exist.
func readFile(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	return b, err == nil, err
}
