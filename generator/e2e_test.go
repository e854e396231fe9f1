package generator

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/cachegen/cachegen/internal/testenv"
)

// generatedRE is the convention generated files follow.
var generatedRE = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// TestEndToEnd generates wrappers into a temporary module that uses this
// repository's runtime, vets and runs the program twice on one cache
// directory, and compares its output: the first run computes each distinct
// call once (a failing call every time), the second only what is not
// cached.
func TestEndToEnd(t *testing.T) {
	testenv.Slow(t) // builds and runs programs
	ar, dir := e2eModule(t, "program.txtar")
	results, err := Generate(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || len(results[0].Errs) > 0 {
		t.Fatalf("Generate: %+v", results)
	}
	if err := results[0].Commit(); err != nil {
		t.Fatal(err)
	}
	out := results[0].Content
	if formatted, err := format.Source(out); err != nil || !bytes.Equal(formatted, out) {
		t.Errorf("generated file is not gofmt-clean (%v)", err)
	}
	if !generatedRE.Match(out) {
		t.Error("generated file lacks the generated-code header")
	}
	again, err := Generate(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if stale, err := again[0].Stale(); stale || err != nil {
		t.Errorf("a rerun would change the output it just wrote (stale=%v, %v)", stale, err)
	}

	goCmd := func(args ...string) string {
		t.Helper()
		out, err := goIn(dir, args...)
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	goCmd("vet", ".")
	goCmd("build", "-o", "prog", ".")
	for _, run := range []string{"first", "second"} {
		want, _ := wantFile(ar, "want/"+run)
		got := goCmd("run", ".")
		if got != string(want) {
			t.Errorf("%s run:\n%s\nwant:\n%s", run, got, want)
		}
	}
}

// e2eModule writes a testdata/e2e archive as a module that uses this
// repository's runtime, and lets the go command complete its go.mod.
func e2eModule(t *testing.T, archive string) (*txtar.Archive, string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ar, err := txtar.ParseFile("testdata/e2e/" + archive)
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/prog\n\ngo 1.26\n\nrequire github.com/cachegen/cachegen v0.0.0\n\nreplace github.com/cachegen/cachegen => " + root + "\n"
	dir := writeModule(t, ar, gomod)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
	t.Setenv("GOFLAGS", "-mod=mod") // let the go command complete go.mod and go.sum
	return ar, dir
}

// goIn runs the go command in dir, on a cache directory of its own.
func goIn(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CACHEGEN_DIR="+filepath.Join(dir, "cache"))
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// TestStaleCodeEndToEnd edits a cached function's code in the ways that
// used to serve results of other code, and runs the program after each:
// every run must print the result of the code as it is.
func TestStaleCodeEndToEnd(t *testing.T) {
	testenv.Slow(t) // builds and runs programs
	_, dir := e2eModule(t, "stale.txtar")
	factor := filepath.Join(dir, "sim", "factor.go")
	simGo := filepath.Join(dir, "sim", "sim.go")
	setFactor := func(n int) {
		os.WriteFile(factor, []byte(fmt.Sprintf("package sim\n\nfunc factor() int { return %d }\n", n)), 0o644)
	}
	setVersion := func(v int) {
		src, _ := os.ReadFile(simGo)
		src = regexp.MustCompile(`version=\d+`).ReplaceAll(src, []byte(fmt.Sprintf("version=%d", v)))
		os.WriteFile(simGo, src, 0o644)
	}
	generate := func(accept ...string) {
		t.Helper()
		if msg := generateErrs(t, Config{Dir: dir, Patterns: []string{"./..."}, Accept: accept}); msg != "" {
			t.Fatal(msg)
		}
	}
	run := func(want string) {
		t.Helper()
		out, err := goIn(dir, "run", ".")
		if err != nil || !strings.Contains(out, "Run(3) = "+want+"\n") {
			t.Fatalf("go run: %v\n%s\nwant Run(3) = %s", err, out, want)
		}
	}
	generate()
	run("6")
	run("6")

	// Scenario 8: a version number reused for other code.
	setFactor(3)
	setVersion(2)
	generate()
	run("9")
	setFactor(4)
	setVersion(1)
	generate()
	run("12") // not the 6 the first code stored under version 1

	// Scenario 9: the generated file deleted, so no record to compare.
	setFactor(5)
	os.Remove(filepath.Join(dir, "sim", DefaultOutput))
	generate()
	run("15") // not the 12 stored under version 1

	// An edit without go generate, then go run: the edited code's result
	// is computed, not served from the cache nor stored as the recorded
	// code's, so that undoing the edit finds the recorded code's result.
	setFactor(7)
	out, err := goIn(dir, "run", ".")
	if err != nil || !strings.Contains(out, "Run(3) = 21\n") || !strings.Contains(out, "Run changed since cachegen generated its wrapper") {
		t.Fatalf("go run after an edit without go generate: %v\n%s", err, out)
	}
	setFactor(5)
	run("15")

	// Scenario 10: an edit without go generate fails go test, in the
	// package of the function and in a package whose tests call it.
	if out, err := goIn(dir, "test", "./..."); err != nil {
		t.Fatalf("go test before the edit: %v\n%s", err, out)
	}
	setFactor(6)
	out, err = goIn(dir, "test", "./...")
	for _, want := range []string{
		"FAIL\texample.com/prog/sim", "FAIL\texample.com/prog/use",
		"Run changed since cachegen generated its wrapper (changed: factor): bump //cache:version=1 to 2 and run go generate",
	} {
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("go test after an edit without go generate: %v, want %q in:\n%s", err, want, out)
		}
	}
	setVersion(2)
	if out, err := goIn(dir, "generate", "./..."); err != nil {
		t.Fatalf("go generate: %v\n%s", err, out)
	}
	if out, err := goIn(dir, "test", "./..."); err != nil {
		t.Fatalf("go test after go generate: %v\n%s", err, out)
	}
	run("18")

	// A program that ran while its source matched its wrapper runs that
	// code after a later edit: it serves its entries. go run and go test,
	// which build the edited code, do not, and name the version to bump to.
	if out, err := goIn(dir, "build", "-o", "prog", "."); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	prog := func() string {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, "prog"))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CACHEGEN_DIR="+filepath.Join(dir, "cache"), "CACHEGEN_VERBOSE=1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("prog: %v\n%s", err, b)
		}
		return string(b)
	}
	if out := prog(); !strings.Contains(out, "Run(3) = 18\n") || strings.Contains(out, "changed since") {
		t.Fatalf("the program before the edit:\n%s", out)
	}
	setFactor(7)
	if out := prog(); !strings.Contains(out, "Run(3) = 18\n") || !strings.Contains(out, "[HIT]") || strings.Contains(out, "changed since") {
		t.Fatalf("the program built before the edit, after it:\n%s\nwant a hit on Run(3) = 18", out)
	}
	out, err = goIn(dir, "run", ".")
	if err != nil || !strings.Contains(out, "Run(3) = 21\n") || !strings.Contains(out, "Run changed since cachegen generated its wrapper") {
		t.Fatalf("go run after the edit: %v\n%s", err, out)
	}
	out, err = goIn(dir, "test", "./...")
	if err == nil || !strings.Contains(out, "bump //cache:version=2 to 3") || strings.Contains(out, "version=0") || strings.Contains(out, "version=1 to 2") {
		t.Fatalf("go test after the edit: %v, want every message to name version 2 to 3:\n%s", err, out)
	}
	// A program built from the edit, run only after a later touch of the
	// source, is not trusted: it computes without the cache, so that
	// undoing the edit finds the recorded code's result.
	if out, err := goIn(dir, "build", "-o", "prog", "."); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	now := time.Now().Add(time.Minute)
	os.Chtimes(factor, now, now)
	if out := prog(); !strings.Contains(out, "Run(3) = 21\n") || !strings.Contains(out, "changed since") {
		t.Fatalf("a program built from the edit, after a touch:\n%s", out)
	}
	setFactor(6)
	run("18")
}

// TestSwappedExecutableEndToEnd replaces a program by rename (as go build
// -o does) while an older process of it has not yet made its first cached
// call: the older process must not record the newer executable as one
// that ran the recorded code, so that the newer one, built from an edit
// made without go generate, computes its own result rather than being
// served the older code's.
func TestSwappedExecutableEndToEnd(t *testing.T) {
	testenv.Slow(t) // builds and runs programs
	_, dir := e2eModule(t, "stale.txtar")
	factor := filepath.Join(dir, "sim", "factor.go")
	setFactor := func(n int) {
		os.WriteFile(factor, []byte(fmt.Sprintf("package sim\n\nfunc factor() int { return %d }\n", n)), 0o644)
	}
	// The program waits for a file before its first cached call.
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(`package main

import (
	"fmt"
	"os"
	"time"

	"example.com/prog/sim"
)

func main() {
	for {
		if _, err := os.Stat("go-on"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("Run(3) = %d\n", sim.RunCached(3))
}
`), 0o644)
	if msg := generateErrs(t, Config{Dir: dir, Patterns: []string{"./..."}}); msg != "" {
		t.Fatal(msg)
	}
	build := func(out string) {
		t.Helper()
		if b, err := goIn(dir, "build", "-o", out, "."); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
	}
	build("prog") // p0, of the recorded code
	env := append(os.Environ(), "CACHEGEN_DIR="+filepath.Join(dir, "cache"), "CACHEGEN_VERBOSE=1")
	p0 := exec.Command(filepath.Join(dir, "prog"))
	p0.Dir, p0.Env = dir, env
	var p0out bytes.Buffer
	p0.Stdout, p0.Stderr = &p0out, &p0out
	if err := p0.Start(); err != nil {
		t.Fatal(err)
	}
	// An edit built without go generate, then the source put back as the
	// record has it, and the edit's program renamed over the old one.
	setFactor(3)
	build("prog1")
	setFactor(2)
	if err := os.Rename(filepath.Join(dir, "prog1"), filepath.Join(dir, "prog")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go-on"), nil, 0o644)
	if err := p0.Wait(); err != nil || !strings.Contains(p0out.String(), "Run(3) = 6\n") {
		t.Fatalf("the older program: %v\n%s", err, p0out.String())
	}
	// The newer program, with the source at its edit: its own result.
	setFactor(3)
	p1 := exec.Command(filepath.Join(dir, "prog"))
	p1.Dir, p1.Env = dir, env
	out, err := p1.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Run(3) = 9\n") || !strings.Contains(string(out), "changed since") {
		t.Fatalf("the newer program, built from the edit: %v\n%s\nwant Run(3) = 9, computed without the cache", err, out)
	}
}

// TestDeadEntriesEndToEnd runs generated code, then other code under the
// same version: a verbose miss names the declaration that changed, and
// cachectl lists the first code's entries as dead and prunes them, keeping
// the current code's.
func TestDeadEntriesEndToEnd(t *testing.T) {
	testenv.Slow(t)
	_, dir := e2eModule(t, "dead.txtar")
	run := func(env string, args ...string) string {
		t.Helper()
		cmd := exec.Command("go", append([]string{"run", "."}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CACHEGEN_DIR="+filepath.Join(dir, "cache"), env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go run . %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	ctl := func(args ...string) string {
		t.Helper()
		out, err := goIn(dir, append([]string{"run", "github.com/cachegen/cachegen/cmd/cachectl", "-dir", "cache"}, args...)...)
		if err != nil {
			t.Fatalf("cachectl %v: %v\n%s", args, err, out)
		}
		return out
	}
	generate := func() {
		t.Helper()
		if msg := generateErrs(t, Config{Dir: dir, Patterns: []string{"./..."}}); msg != "" {
			t.Fatal(msg)
		}
	}
	generate()
	run("", "1", "2", "3")
	os.WriteFile(filepath.Join(dir, "sim", "factor.go"), []byte("package sim\n\nfunc factor() int { return 5 }\n"), 0o644)
	os.Remove(filepath.Join(dir, "sim", DefaultOutput))
	generate()
	out := run("CACHEGEN_VERBOSE=1", "3", "4")
	if !strings.Contains(out, "Run(3) = 15\n") ||
		!regexp.MustCompile(`why="?the entries of version 1 were computed by other code \([0-9a-f]{16}\), which this code does not accept; changed since: factor`).MatchString(out) {
		t.Fatalf("the miss of other code's entry does not say what changed:\n%s", out)
	}
	if out := run("CACHEGEN_VERBOSE=1", "5"); !strings.Contains(out, "differs in x: 4 -> 5") {
		t.Errorf("the miss of new arguments does not name them:\n%s", out)
	}
	ls := ctl("ls")
	if strings.Count(ls, "(other code)") != 2 || !regexp.MustCompile(`(?m)^[0-9a-f]{16}\s+sim.Run\s+1 \(other code\).*\{"x": 1\}$`).MatchString(ls) ||
		!regexp.MustCompile(`(?m)^[0-9a-f]{16}\s+sim.Run\s+1 \(other code\).*\{"x": 2\}$`).MatchString(ls) {
		t.Errorf("ls does not mark the first code's two entries, alone, as dead:\n%s", ls)
	}
	if out := ctl("why", "sim.Run"); !strings.Contains(out, "why:       no entry has these arguments; the nearest") {
		t.Errorf("cachectl why:\n%s", out)
	}
	if out := ctl("prune", "-dead"); !strings.Contains(out, "removed 2 entries") {
		t.Errorf("prune -dead:\n%s", out)
	}
	if out := ctl("verify"); out != "checked 3 entries: all intact\n" {
		t.Errorf("verify after the prune:\n%s", out)
	}
	if out := run("", "3", "4", "5"); !strings.Contains(out, "Run(3) = 15\nRun(4) = 20\nRun(5) = 25\n") {
		t.Errorf("the current code's entries:\n%s", out)
	}
	if ls := ctl("ls"); strings.Count(ls, "sim.Run") != 3 || strings.Contains(ls, "(other code)") {
		t.Errorf("after the prune, ls:\n%s", ls)
	}
}

// TestDataFilesEndToEnd runs a program whose cached function reads the
// file a files= parameter names, as the file changes, moves and vanishes.
func TestDataFilesEndToEnd(t *testing.T) {
	testenv.Slow(t) // builds and runs programs
	_, dir := e2eModule(t, "files.txtar")
	if msg := generateErrs(t, Config{Dir: dir}); msg != "" {
		t.Fatal(msg)
	}
	if out, err := goIn(dir, "build", "-o", "prog", "."); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	table := filepath.Join(dir, "spectrum.txt")
	write := func(path string, n int) {
		t.Helper()
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(strings.Repeat("1.5 ", n)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(path, want string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, "prog"), path)
		cmd.Env = append(os.Environ(), "CACHEGEN_DIR="+filepath.Join(dir, "cache"))
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), want) {
			t.Fatalf("prog %s:\n%s\nwant %q", path, out, want)
		}
	}
	write(table, 2000)
	run(table, "n=2000 computed=1 err=<nil>")
	run(table, "n=2000 computed=0 err=<nil>")
	write(table, 2)
	run(table, "n=2 computed=1 err=<nil>") // not the 2000 stored for the old content
	copied := filepath.Join(dir, "elsewhere", "copy.txt")
	write(copied, 2)
	run(copied, "n=2 computed=0 err=<nil>")
	missing := filepath.Join(dir, "nowhere", "spectrum.txt")
	run(missing, "n=0 computed=1 err=open "+missing+": no such file or directory")
	run(missing, "computing without the cache: an input file cannot be read")
}

// TestFileInputRefusals checks, in a module that imports the runtime, the
// refusals that need its File type.
func TestFileInputRefusals(t *testing.T) {
	ar, dir := e2eModule(t, "files_refused.txtar")
	want, _ := wantFile(ar, "want/errors")
	got := generateErrs(t, Config{Dir: dir})
	if got != strings.TrimSpace(string(want)) {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
}
