package generator

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// generatedRE is the convention generated files follow.
var generatedRE = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// TestEndToEnd generates wrappers into a temporary module that uses this
// repository's runtime, vets and runs the program twice on one cache
// directory, and compares its output: the first run computes each distinct
// call once (a failing call every time), the second only what is not
// cached.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program: skipped in -short mode")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ar, err := txtar.ParseFile("../testdata/e2e/program.txtar")
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
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CACHEGEN_DIR="+filepath.Join(dir, "cache"))
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
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
