package generator

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

// bench200 writes a module whose package has 200 annotated functions.
func bench200(b testing.TB) string {
	dir := b.TempDir()
	var src strings.Builder
	src.WriteString("package sim\n\nimport \"context\"\n\ntype Config struct {\n\tRate  float64\n\tSteps int\n}\n\ntype Result struct {\n\tValues []float64\n\tMean   float64\n}\n")
	for i := range 200 {
		fmt.Fprintf(&src, "\n//cache:version=%d\nfunc Run%d(ctx context.Context, cfg Config, xs []float64, seed int64) (Result, error) {\n\treturn Result{}, nil\n}\n", i%3, i)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/sim\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sim.go"), []byte(src.String()), 0o644)
	return dir
}

// BenchmarkGenerate200 is cachegen over a package of 200 annotated
// functions; compare with BenchmarkFloorLoadPackages, the go/packages load
// it starts with.
func BenchmarkGenerate200(b *testing.B) {
	dir := bench200(b)
	for b.Loop() {
		rs, err := Generate(Config{Dir: dir})
		if err != nil || len(rs) != 1 || len(rs[0].Errs) > 0 || len(rs[0].Content) == 0 {
			b.Fatalf("%v %+v", err, rs)
		}
	}
}

func BenchmarkFloorLoadPackages(b *testing.B) {
	dir := bench200(b)
	for b.Loop() {
		if _, _, err := load(dir, nil, "", DefaultOutput); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRenderIsFormatted checks that the file rendered in runs formatted
// apart is formatted as a whole: formatting it again changes nothing.
func TestRenderIsFormatted(t *testing.T) {
	dir := bench200(t)
	rs, err := Generate(Config{Dir: dir})
	if err != nil || len(rs) != 1 || len(rs[0].Errs) > 0 {
		t.Fatalf("%v %+v", err, rs)
	}
	again, err := format.Source(rs[0].Content)
	if err != nil || !bytes.Equal(again, rs[0].Content) {
		t.Errorf("the generated file is not formatted as a whole (%v)", err)
	}
	if n := bytes.Count(rs[0].Content, []byte("\nfunc Run")); n != 800 {
		t.Errorf("%d wrappers, want 4 for each of 200 functions", n)
	}
}

// BenchmarkFirstCallCheck times a whole process whose one cached call is
// a hit: run from its module's directory, where the first call of a
// wrapper compares the function's recorded code with its source (check
// on); from elsewhere, where the source is not at hand (check off); and
// from a copy of the module with vendor/, which the check never reads.
// The difference between on and off is what the check costs a run.
func BenchmarkFirstCallCheck(b *testing.B) {
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv("GOFLAGS", "-mod=mod")
	b.Setenv("GOWORK", "off")
	mod := b.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/prog\n\ngo 1.26\n\nrequire (\n\tgithub.com/cachegen/cachegen v0.0.0\n\tgonum.org/v1/gonum v0.17.0\n)\n\nreplace github.com/cachegen/cachegen => " + root + "\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"gonum.org/v1/gonum/floats\"\n\t\"gonum.org/v1/gonum/mat\"\n)\n\n// Sum is cached.\n//\n//cache:version=1\nfunc Sum(xs []float64) float64 { return floats.Sum(xs) + mat.Sum(mat.NewVecDense(len(xs), xs)) }\n\nfunc main() { fmt.Println(SumCached([]float64{1, 2, 3})) }\n",
	}
	// The root's sums, and gonum's from the module of the gonum tests.
	sum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
	gonumSum, _ := os.ReadFile(filepath.Join(root, "internal", "gonumtest", "go.sum"))
	files["go.sum"] = string(sum) + string(gonumSum)
	testenv.WriteFiles(b, mod, files)
	if rs, err := Generate(Config{Dir: mod}); err != nil || len(rs) != 1 || len(rs[0].Errs) > 0 || rs[0].Commit() != nil {
		b.Fatalf("Generate: %v %+v", err, rs)
	}
	run := func(dir string, args ...string) {
		b.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(mod, "go", "mod", "tidy")
	vendored := b.TempDir()
	run(mod, "cp", "-r", ".", vendored)
	run(vendored, "go", "mod", "vendor")
	run(mod, "go", "build", "-o", "prog", ".")
	run(vendored, "go", "build", "-mod=vendor", "-o", "prog", ".")
	b.Setenv("CACHEGEN_DIR", b.TempDir())
	run(mod, filepath.Join(mod, "prog")) // the miss that stores the entry
	elsewhere := b.TempDir()
	for _, c := range []struct{ name, prog, dir string }{
		{"check=off", filepath.Join(mod, "prog"), elsewhere},
		{"check=on", filepath.Join(mod, "prog"), mod},
		{"vendor/check=on", filepath.Join(vendored, "prog"), vendored},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				run(c.dir, c.prog)
			}
		})
	}
}
