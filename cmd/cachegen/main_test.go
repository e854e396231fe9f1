package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

// cachegen builds the command once per test and runs it in dir.
func cachegen(t *testing.T, bin, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cachegen")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/sim\n\ngo 1.26\n")
	write("sim.go", "package sim\n\n//cache:version=1\nfunc Square(x int) int { return x * x }\n")
	gen := filepath.Join(dir, "cache_gen.go")

	t.Run("check reports a missing file", func(t *testing.T) {
		out, code := cachegen(t, bin, dir, "-check")
		if code != 1 || !strings.Contains(out, "cache_gen.go is missing or stale") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(gen); !os.IsNotExist(err) {
			t.Fatal("-check wrote a file")
		}
	})
	t.Run("generate writes and check passes", func(t *testing.T) {
		if out, code := cachegen(t, bin, dir); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if out, code := cachegen(t, bin, dir, "-check", "./..."); code != 0 {
			t.Fatalf("-check after generating: exit %d:\n%s", code, out)
		}
	})
	t.Run("check reports a stale file", func(t *testing.T) {
		write("sim.go", "package sim\n\n//cache:version=2\nfunc Square(x int) int { return x * x }\n")
		if out, code := cachegen(t, bin, dir, "-check"); code != 1 || !strings.Contains(out, "missing or stale") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("problems are positioned and nothing is written", func(t *testing.T) {
		before, _ := os.ReadFile(gen)
		write("sim.go", "package sim\n\n//cache:version=3\nfunc Square(f func() int) int { return f() }\n\n//cache:version=x\nfunc Cube(x int) int { return x }\n")
		out, code := cachegen(t, bin, dir)
		if code != 1 || !strings.Contains("\n"+out, "\n./sim.go:4:13: Square: parameter f: a func (func() int) has no value the key can see, so calls with different functions would share one entry: pass a name or enum that selects the function, or the values it would compute; add f to ignore= only if its value cannot change the result") ||
			!strings.Contains("\n"+out, "\n./sim.go:6:1: Cube: version \"x\" is not a non-negative integer") {
			t.Fatalf("exit %d, want both problems:\n%s", code, out)
		}
		after, _ := os.ReadFile(gen)
		if string(before) != string(after) {
			t.Fatal("the output changed although generation failed")
		}
	})
	t.Run("a changed function without a version bump fails check and generate", func(t *testing.T) {
		write("sim.go", "package sim\n\n//cache:version=2\nfunc Square(x int) int { return x * x }\n")
		if out, code := cachegen(t, bin, dir); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		write("sim.go", "package sim\n\n//cache:version=2\nfunc Square(x int) int { return x * x * x }\n")
		for _, args := range [][]string{{"-check"}, {}} {
			out, code := cachegen(t, bin, dir, args...)
			if code != 1 || !strings.Contains(out, "sim.go:3:1: Square changed since version 2 was generated (changed: Square); bump to //cache:version=3, or, only if its results stay the same, record the change: go run github.com/cachegen/cachegen/cmd/cachegen -accept Square .") {
				t.Fatalf("cachegen %v: exit %d:\n%s", args, code, out)
			}
		}
		if out, code := cachegen(t, bin, dir, "-accept", "Square"); code != 0 {
			t.Fatalf("-accept: exit %d:\n%s", code, out)
		}
		if out, code := cachegen(t, bin, dir, "-check"); code != 0 {
			t.Fatalf("-check after -accept: exit %d:\n%s", code, out)
		}
	})
	t.Run("tags select files", func(t *testing.T) {
		os.Remove(gen)
		write("sim.go", "package sim\n")
		write("special.go", "//go:build special\n\npackage sim\n\n//cache:version=1\nfunc Special(x int) int { return x }\n")
		defer os.Remove(filepath.Join(dir, "special.go"))
		if out, code := cachegen(t, bin, dir); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(gen); !os.IsNotExist(err) {
			t.Fatal("without -tags, a file behind a build tag was read")
		}
		if out, code := cachegen(t, bin, dir, "-tags", "special"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		b, _ := os.ReadFile(gen)
		if !strings.Contains(string(b), "func SpecialCached(x int) int") {
			t.Fatalf("with -tags special, no wrapper for Special:\n%s", b)
		}
		os.Remove(gen)
	})
	t.Run("output flag", func(t *testing.T) {
		os.Remove(gen)
		write("sim.go", "package sim\n\n//cache:version=1\nfunc Square(x int) int { return x * x }\n")
		if out, code := cachegen(t, bin, dir, "-output", "wrappers_gen.go"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "wrappers_gen.go")); err != nil {
			t.Fatal(err)
		}
		if out, code := cachegen(t, bin, dir, "-output", "../x.go"); code != 1 || !strings.Contains(out, "must be a file name") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}

// The -accept command that cachegen prints runs as printed, from where
// cachegen ran: here the module root of an app that declares cachegen as
// a tool, whose cached function is in a package below it.
func TestAcceptCommandRunsAsPrinted(t *testing.T) {
	testenv.Slow(t) // builds cachegen as the app's tool
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/app\n\ngo 1.26\n\nrequire github.com/cachegen/cachegen v0.0.0\n\nreplace github.com/cachegen/cachegen => "+root+
		"\n\ntool github.com/cachegen/cachegen/cmd/cachegen\n")
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		write("go.sum", string(sum))
	}
	write("sim/sim.go", "package sim\n\n//cache:version=1\nfunc Square(x int) int { return x * x }\n")
	run := func(args ...string) (string, error) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, args := range [][]string{{"go", "mod", "tidy"}, {"go", "tool", "cachegen", "./..."}} {
		if out, err := run(args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	write("sim/sim.go", "package sim\n\n//cache:version=1\nfunc Square(x int) int { y := x; return y * y }\n")
	out, err := run("go", "tool", "cachegen", "./...")
	_, printed, found := strings.Cut(out, "record the change: ")
	printed, _, _ = strings.Cut(printed, "\n")
	if err == nil || !found || printed != "go tool cachegen -accept Square ./sim" {
		t.Fatalf("after a refactor: %v\n%s\nwant the command go tool cachegen -accept Square ./sim", err, out)
	}
	if out, err := run(strings.Fields(printed)...); err != nil {
		t.Fatalf("%s, as printed: %v\n%s", printed, err, out)
	}
	if out, err := run("go", "tool", "cachegen", "-check", "./..."); err != nil {
		t.Fatalf("-check after the printed command: %v\n%s", err, out)
	}
}

// README's quickstart, as printed, in a new module beside a checkout:
// the module builds, and its wrapper computes once and then hits.
func TestQuickstartAsPrinted(t *testing.T) {
	testenv.Slow(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, quick, _ := strings.Cut(string(readme), "## Quickstart\n")
	_, block, _ := strings.Cut(quick, "in your module's directory:\n\n```sh\n")
	block, _, found := strings.Cut(block, "```")
	if !found {
		t.Fatal("README's quickstart has no commands to run")
	}
	app := t.TempDir()
	testenv.WriteFiles(t, app, map[string]string{
		"go.mod":     "module example.com/app\n\ngo 1.26\n",
		"sim/sim.go": "package sim\n\n//go:generate go tool cachegen\n\n// Square is slow, say.\n//\n//cache:version=1\nfunc Square(x float64) (float64, error) { return x * x, nil }\n",
		"cmd/app.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/app/sim\"\n)\n\nfunc main() {\n\tv, err := sim.SquareCached(3)\n\tfmt.Println(v, err)\n}\n",
	})
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CACHEGEN_DIR="+filepath.Join(t.TempDir(), "cache"), "CACHEGEN_VERBOSE=1")
	run := func(line string) string {
		t.Helper()
		cmd := exec.Command("bash", "-c", line)
		cmd.Dir, cmd.Env = app, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		return string(out)
	}
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		run(strings.ReplaceAll(line, "=../cachegen", "="+root))
	}
	run("go vet ./...")
	if out := run("go run ./cmd"); !strings.Contains(out, "9 <nil>") || !strings.Contains(out, "[MISS]") {
		t.Errorf("first run:\n%s", out)
	}
	if out := run("go run ./cmd"); !strings.Contains(out, "9 <nil>") || !strings.Contains(out, "[HIT]") {
		t.Errorf("second run, want a hit:\n%s", out)
	}
}
