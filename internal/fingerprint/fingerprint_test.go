package fingerprint

import (
	"fmt"
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

// TestPackageReadsEveryVariant checks that a package's declarations are
// read from every file whatever its build constraints, its tests and the
// files cachegen generated left out, and that methods are filed under
// their types, an alias's under the type it names.
func TestPackageReadsEveryVariant(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("m.go", "package m\n\ntype Sq struct{}\n\ntype A = Sq\n\nfunc (A) Area() float64 { return 1 }\n\nvar x, y = 1, f()\n\nfunc f() int { return kernel() }\n")
	write("k_fast.go", "//go:build fast\n\npackage m\n\nfunc kernel() int { return 1 }\n")
	write("k_slow.go", "//go:build !fast\n\npackage m\n\nfunc kernel() int { return 2 }\n")
	write("m_test.go", "package m\n\nfunc helperOfTests() {}\n")
	write("cache_gen.go", Header("cachegen")+"\n\npackage m\n\nfunc Generated() {}\n")
	pk := ReadPackage(token.NewFileSet(), "example.com/m", dir)
	if got, want := pk.Names(), []string{"A", "A.Area", "Sq", "Sq.Area", "f", "kernel", "x", "y"}; !slices.Equal(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	if n := len(pk.Variants("kernel")); n != 2 {
		t.Errorf("kernel has %d variants, want 2", n)
	}
	for _, v := range pk.Variants("kernel") {
		if !v.File.Constrained {
			t.Errorf("%s is not marked constrained", v.File.Name)
		}
	}
	if got := pk.Methods("Sq"); !slices.Contains(got, "A.Area") {
		t.Errorf("methods of Sq %q: the alias's method is missing", got)
	}
	if got := pk.Initialised(); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("initialised %q, want x and y", got)
	}
	before := pk.Digest("kernel")
	write("k_fast.go", "//go:build fast\n\npackage m\n\nfunc kernel() int { return 3 }\n")
	if ReadPackage(token.NewFileSet(), "example.com/m", dir).Digest("kernel") == before {
		t.Error("editing the variant behind a tag did not change kernel's digest")
	}
}

// TestNativeSources checks that a function calling C counts the package's
// C files and its cgo preamble, and that one declared without a body
// counts its own assembly, whatever the architecture, with the lines its
// files share: not another function's.
func TestNativeSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("c.go", "package m\n\n// #include \"scale.h\"\nimport \"C\"\n\nfunc Scaled(x int) int { return int(C.scale(C.int(x))) }\n\nfunc Plain(x int) int { return x }\n")
	write("scale.h", "int scale(int x);\n")
	write("scale.c", "int scale(int x) { return 2 * x; }\n")
	write("asm.go", "package m\n\nfunc add(a, b int) int\n\nfunc Sum(a, b int) int { return add(a, b) }\n")
	write("add_riscv64.s", "TEXT ·add(SB), 0, $0-24\n\tRET\n")
	sums := func() (scaled, plain, sum string) {
		pk := ReadPackage(token.NewFileSet(), "example.com/m", dir)
		return pk.Digest("Scaled"), pk.Digest("Plain"), pk.Digest("add")
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
	_, _, a2 := sums()
	if a2 == a1 || a1 == "" {
		t.Error("editing the assembly of another architecture did not change add")
	}
	write("add_riscv64.s", "TEXT ·add(SB), 0, $0-24\n\tNOP\n\tRET\n\nTEXT ·sub(SB), 0, $0-24\n\tRET\n")
	_, _, a3 := sums()
	if a3 != a2 {
		t.Error("adding another function's assembly changed add")
	}
	write("add_riscv64.s", "#define ONE $1\nTEXT ·add(SB), 0, $0-24\n\tNOP\n\tRET\n\nTEXT ·sub(SB), 0, $0-24\n\tRET\n")
	if _, _, a4 := sums(); a4 == a3 {
		t.Error("a macro of the file that defines add did not change it")
	}
}

func TestLangVersion(t *testing.T) {
	for v, want := range map[string]string{"1.26": "1.26", "1.26.8": "1.26", "1.27rc1": "1.27", "1.21.0": "1.21", "2": "2"} {
		if got := LangVersion(v); got != want {
			t.Errorf("LangVersion(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestSemantics(t *testing.T) {
	for v, want := range map[string]string{"1.21": "1.21", "1.21.5": "1.21", "1.16": "1.21", "1.22": "1.22", "1.22rc1": "1.22", "1.26.8": "1.22", "": "1.22"} {
		if got := Semantics(v); got != want {
			t.Errorf("Semantics(%q) = %q, want %q", v, got, want)
		}
	}
}

// A list of changed names stays one readable line: six names at most,
// a hundred characters of names at most (but always the first), and the
// rest counted.
func TestChangedListIsCapped(t *testing.T) {
	names := func(n, width int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%c%s", 'a'+i, strings.Repeat("x", width-1))
		}
		return out
	}
	for _, c := range []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"example.com/sim.Run"}, "example.com/sim.Run"},
		{names(6, 2), "ax, bx, cx, dx, ex, fx"},
		{names(7, 2), "ax, bx, cx, dx, ex and 2 more"},
		{names(40, 2), "ax, bx, cx, dx, ex and 35 more"},
		{names(4, 40), names(4, 40)[0] + ", " + names(4, 40)[1] + " and 2 more"},
		{names(2, 300), names(2, 300)[0] + " and 1 more"},
	} {
		if got := ChangedList(c.names); got != c.want {
			t.Errorf("ChangedList of %d names = %q, want %q", len(c.names), got, c.want)
		}
	}
}
