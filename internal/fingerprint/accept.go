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
// cached function fn ("F" or "T.M") of the package in pkgDir (import path
// pkgPath), to be run from the directory cwd: cachegen as the package's
// go:generate directive runs it, with the directive's flags (go tool
// cachegen, go run …/cmd/cachegen@v…, a cachegen on the PATH), else go
// tool cachegen where the module declares cachegen as a tool, else go run
// of it; then flags (name and value pairs: -output, -tags) that the
// directive does not set, -accept fn, and the package:
// relative to cwd, or from its own directory when it is not below cwd, or
// by import path when its directory is not known.
func AcceptCommand(pkgDir, pkgPath, cwd, fn string, flags ...string) string {
	args, set := invocation(pkgDir)
	for i := 0; i+1 < len(flags); i += 2 {
		if !set[strings.TrimLeft(flags[i], "-")] { // the directive's own flag stands
			args = append(args, flags[i], flags[i+1])
		}
	}
	args = append(args, "-accept", fn)
	if pkgDir == "" {
		return strings.Join(append(args, pkgPath), " ")
	}
	rel, err := filepath.Rel(cwd, pkgDir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "cd " + shellQuote(pkgDir) + " && " + strings.Join(append(args, "."), " ")
	}
	pkg := filepath.ToSlash(rel)
	if pkg != "." {
		pkg = "./" + pkg
	}
	return strings.Join(append(args, pkg), " ")
}

// shellQuote quotes s for a POSIX shell, unless it needs no quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// valueFlags are cachegen's flags that take a value.
var valueFlags = map[string]bool{"output": true, "tags": true, "accept": true}

// invocation returns how the package in dir runs cachegen: its
// go:generate directive when it has one, up to cachegen's flags (the
// packages it names, if any, left out), and the names of the flags of
// cachegen's that it sets.
func invocation(dir string) ([]string, map[string]bool) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	if dir == "" {
		files = nil
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(src), "\n") {
			rest, ok := strings.CutPrefix(line, "//go:generate ")
			if !ok {
				continue
			}
			fields := strings.Fields(rest)
			for i, f := range fields {
				cmd, _, _ := strings.Cut(f, "@") // a version pinned: …/cmd/cachegen@v0.3.0
				if cmd == "cachegen" || strings.HasSuffix(cmd, "/cmd/cachegen") {
					// go run or go tool and their flags, cachegen, then
					// its flags, up to the first argument that is none.
					args, set := fields[:i+1:i+1], map[string]bool{}
					for j := i + 1; j < len(fields) && strings.HasPrefix(fields[j], "-"); j++ {
						name, _, hasValue := strings.Cut(strings.TrimLeft(fields[j], "-"), "=")
						set[name] = true
						args = append(args, fields[j])
						if valueFlags[name] && !hasValue && j+1 < len(fields) {
							j++
							args = append(args, fields[j])
						}
					}
					return args, set
				}
				if i == 0 && f != "go" {
					break // another generator's directive
				}
			}
		}
	}
	for d := dir; d != ""; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			if mf, err := modfile.Parse("go.mod", data, nil); err == nil {
				for _, t := range mf.Tool {
					if t.Path == cachegenCommand {
						return []string{"go", "tool", "cachegen"}, nil
					}
				}
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return []string{"go", "run", cachegenCommand}, nil
}
