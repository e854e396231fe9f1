package fingerprint

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
)

// cachegenCommand is cachegen's command path, as a module's tool
// directive and go run name it.
const cachegenCommand = "github.com/cachegen/cachegen/cmd/cachegen"

// AcceptCommand returns a command line that accepts the change of the
// cached function fn ("F" or "T.M") of the package in pkgDir, to be run
// from the directory cwd: cachegen as the package's go:generate directive
// runs it (go tool cachegen, go run …/cmd/cachegen, or a cachegen on the
// PATH), else go tool cachegen where the module declares cachegen as a
// tool, else go run of it; then -accept fn, flags (-output, -tags) and the
// package, relative to cwd.
func AcceptCommand(pkgDir, cwd, fn string, flags ...string) string {
	args := append(invocation(pkgDir), "-accept", fn)
	args = append(args, flags...)
	pkg := pkgDir
	if rel, err := filepath.Rel(cwd, pkgDir); err == nil {
		pkg = filepath.ToSlash(rel)
		if pkg != "." && !strings.HasPrefix(pkg, "../") {
			pkg = "./" + pkg
		}
	}
	return strings.Join(append(args, pkg), " ")
}

// invocation returns how the package in dir runs cachegen.
func invocation(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(src), "\n") {
			fields := strings.Fields(strings.TrimPrefix(line, "//go:generate "))
			if !strings.HasPrefix(line, "//go:generate ") {
				continue
			}
			for i, f := range fields {
				if f == "cachegen" || f == cachegenCommand || strings.HasSuffix(f, "/cachegen") && !strings.Contains(f, "=") {
					return fields[:i+1]
				}
			}
		}
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			if mf, err := modfile.Parse("go.mod", data, nil); err == nil {
				for _, t := range mf.Tool {
					if t.Path == cachegenCommand {
						return []string{"go", "tool", "cachegen"}
					}
				}
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return []string{"go", "run", cachegenCommand}
}

// PackageDir returns the directory of the package with import path
// pkgPath, or "" if it is not found.
func (p *Program) PackageDir(pkgPath string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pk := p.pkg(pkgPath); pk != nil {
		return pk.dir
	}
	return ""
}
