package fingerprint

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAcceptCommand(t *testing.T) {
	for _, tc := range []struct {
		name, gomod, generate string
		flags                 []string
		want                  string
	}{
		{"go run by default", "module m\n", "", nil, "go run github.com/cachegen/cachegen/cmd/cachegen -accept Run ./sim"},
		{"a tool directive", "module m\n\ngo 1.26\n\ntool github.com/cachegen/cachegen/cmd/cachegen\n", "", nil, "go tool cachegen -accept Run ./sim"},
		{"the go:generate line", "module m\n\ngo 1.26\n\ntool github.com/cachegen/cachegen/cmd/cachegen\n",
			"//go:generate cachegen -output x_gen.go\n", []string{"-output", "x_gen.go"}, "cachegen -accept Run -output x_gen.go ./sim"},
		{"a go:generate go run line", "module m\n", "//go:generate go run github.com/cachegen/cachegen/cmd/cachegen\n", []string{"-tags", "fast"},
			"go run github.com/cachegen/cachegen/cmd/cachegen -accept Run -tags fast ./sim"},
		{"another generator's line", "module m\n", "//go:generate stringer -type=Mode\n", nil, "go run github.com/cachegen/cachegen/cmd/cachegen -accept Run ./sim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			pkg := filepath.Join(root, "sim")
			os.MkdirAll(pkg, 0o755)
			os.WriteFile(filepath.Join(root, "go.mod"), []byte(tc.gomod), 0o644)
			os.WriteFile(filepath.Join(pkg, "sim.go"), []byte("package sim\n\n"+tc.generate), 0o644)
			if got := AcceptCommand(pkg, root, "Run", tc.flags...); got != tc.want {
				t.Errorf("from the module root: %q, want %q", got, tc.want)
			}
			if got, want := AcceptCommand(pkg, pkg, "Run", tc.flags...), tc.want[:len(tc.want)-len("./sim")]+"."; got != want {
				t.Errorf("from the package: %q, want %q", got, want)
			}
		})
	}
}
