package fingerprint

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Edits that change meaning without changing which nodes a declaration
// has are changes too.
func TestDigestTellsPositionOnlyEditsApart(t *testing.T) {
	pairs := [][2]string{
		{"func f(xs []int) []int { return xs[1:] }", "func f(xs []int) []int { return xs[:1] }"},
		{"func f(xs []int) []int { return xs[1:2] }", "func f(xs []int) []int { return xs[1:2:2] }"},
		{"func f(xs ...int) { g(xs...) }", "func f(xs ...int) { g(xs) }"},
		{"type T = int", "type T int"},
		{"func f() int { return 1 + 2 }", "func f() int { return 1 - 2 }"},
		{"func f(i int) { for i = 0; ; {} }", "func f(i int) { for ; ; i = 0 {} }"},
	}
	digest := func(src string) string {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package p\n"+src, 0)
		if err != nil {
			t.Fatal(err)
		}
		return digestNode(f.Decls[0])
	}
	for _, p := range pairs {
		if digest(p[0]) == digest(p[1]) {
			t.Errorf("%q and %q digest alike", p[0], p[1])
		}
	}
	if digest("func f() int { return 1 + 2 }") != digest("func f() int {\n\t// sum\n\treturn 1 +\n\t\t2\n}") {
		t.Error("a comment and line breaks changed the digest")
	}
}

// A record of another digest scheme is replaced, not compared.
func TestRecordsOfAnotherSchemeAreIgnored(t *testing.T) {
	old := []byte("// cachegen:fingerprint/v2 Run version=1 sum=0123456789abcdef parts=Run:00000000\n")
	if len(ParseRecords(old)) != 0 {
		t.Fatal("a record of the old scheme was read")
	}
	rec := Record{Name: "Run", Version: 1, Sum: "0123456789abcdef", Accepted: []string{"1111111111111111", "2222222222222222"}, Parts: []string{"Run:00000000"}}
	got, ok := ParseRecords([]byte("// " + rec.Line() + "\n"))["Run"]
	if !ok || got.Version != 1 || got.Sum != rec.Sum || !slices.Equal(got.Accepted, rec.Accepted) || !slices.Equal(got.Parts, rec.Parts) {
		t.Fatalf("record read back as %+v, want %+v", got, rec)
	}
}

func TestEmbedPatterns(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package p\n\n//go:embed a.txt \"b c.txt\" `d*.txt`\n//go:embed all:dir\n//go:embedded not\nvar x int\n", parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	got := embedPatterns(f.Comments[0])
	if want := []string{"a.txt", "b c.txt", "d*.txt", "all:dir"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestOSArchSuffix(t *testing.T) {
	for name, want := range map[string]string{
		"add_amd64.go": "amd64", "x_linux_arm64.go": "linux_arm64", "x_windows.go": "windows",
		"linux.go": "", "x_fast.go": "", "x_linux_fast.go": "",
	} {
		if got := osArchSuffix(name); got != want {
			t.Errorf("osArchSuffix(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestOfFindsEveryVariant checks that declarations behind build tags, and
// methods of reached types, are part of a fingerprint whatever the tags.
func TestOfFindsEveryVariant(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.26\n")
	write("m.go", "package m\n\nimport \"example.com/m/q\"\n\nfunc Run() float64 { return kernel() + q.New().Area() }\n")
	write("k_fast.go", "//go:build fast\n\npackage m\n\nfunc kernel() float64 { return fastOnly }\n\nconst fastOnly = 1\n")
	write("k_slow.go", "//go:build !fast\n\npackage m\n\nfunc kernel() float64 { return 2 }\n")
	write("q/q.go", "package q\n\ntype Sq struct{}\n\nfunc New() Sq { return Sq{} }\n")
	write("q/area.go", "package q\n\nfunc (Sq) Area() float64 { return 1 }\n")
	write("q/q_test.go", "package q\n\nfunc helperOfTests() {}\n")
	p, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := p.Of("example.com/m", "Run")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, part := range fp.Parts {
		n, _, _ := strings.Cut(part, ":")
		names = append(names, n)
	}
	want := []string{"Run", "fastOnly", "go.mod", "kernel", "q.New", "q.Sq.Area", "q.Sq"} // sorted with their digests
	if !slices.Equal(names, want) {
		t.Fatalf("parts %q, want %q", names, want)
	}
	pkg, name, err := p.Resolve("example.com/m/q.Sq.Area")
	if err != nil || pkg != "example.com/m/q" || name != "Sq.Area" {
		t.Fatalf("Resolve = %q, %q, %v", pkg, name, err)
	}
}

// TestNativeSources checks that a function calling C counts the package's
// C files and its cgo preamble, and that one declared without a body
// counts the package's assembly, whatever its architecture.
func TestNativeSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.26\n")
	write("c.go", "package m\n\n// #include \"scale.h\"\nimport \"C\"\n\nfunc Scaled(x int) int { return int(C.scale(C.int(x))) }\n\nfunc Plain(x int) int { return x }\n")
	write("scale.h", "int scale(int x);\n")
	write("scale.c", "int scale(int x) { return 2 * x; }\n")
	write("asm.go", "package m\n\nfunc add(a, b int) int\n\nfunc Sum(a, b int) int { return add(a, b) }\n")
	write("add_riscv64.s", "TEXT ·add(SB), 0, $0-24\n\tRET\n")
	sums := func() (scaled, plain, sum string) {
		p, err := New(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			name string
			out  *string
		}{{"Scaled", &scaled}, {"Plain", &plain}, {"Sum", &sum}} {
			fp, err := p.Of("example.com/m", f.name)
			if err != nil {
				t.Fatal(err)
			}
			*f.out = fp.Sum
		}
		return
	}
	s0, p0, _ := sums()
	write("scale.c", "int scale(int x) { return 3 * x; }\n")
	s1, p1, a1 := sums()
	if s1 == s0 || p1 != p0 {
		t.Errorf("editing scale.c: Scaled %s -> %s (want a change), Plain %s -> %s (want none)", s0, s1, p0, p1)
	}
	write("c.go", "package m\n\n// #include \"scale.h\"\n// #define UNUSED 1\nimport \"C\"\n\nfunc Scaled(x int) int { return int(C.scale(C.int(x))) }\n\nfunc Plain(x int) int { return x }\n")
	if s2, _, _ := sums(); s2 == s1 {
		t.Error("editing the cgo preamble did not change Scaled")
	}
	write("add_riscv64.s", "TEXT ·add(SB), 0, $0-24\n\tNOP\n\tRET\n")
	if _, _, a2 := sums(); a2 == a1 || a1 == "" {
		t.Error("editing the assembly of another architecture did not change Sum")
	}
}

func TestLangVersion(t *testing.T) {
	for v, want := range map[string]string{"1.26": "1.26", "1.26.8": "1.26", "1.27rc1": "1.27", "1.21.0": "1.21", "2": "2"} {
		if got := langVersion(v); got != want {
			t.Errorf("langVersion(%q) = %q, want %q", v, got, want)
		}
	}
}

// TestCacheItselfDoesNotCount: the montecarlo example imports the runtime
// for Default, and its function reaches none of it: no part of the
// runtime counts, so that changing cachegen changes no cached function.
func TestCacheItselfDoesNotCount(t *testing.T) {
	p, err := New("../..")
	if err != nil {
		t.Fatal(err)
	}
	fp, err := p.Of("github.com/cachegen/cachegen/examples/montecarlo", "RunMonteCarlo")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range fp.Parts {
		if strings.HasPrefix(part, "runtime.") || strings.HasPrefix(part, "internal/") || strings.Contains(part, "cbor") {
			t.Errorf("part %s counts, of the cache itself", part)
		}
	}
}
