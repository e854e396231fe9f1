package generator

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		if _, err := load(dir, nil, "", DefaultOutput); err != nil {
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
