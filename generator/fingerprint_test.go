package generator

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fpBase = `package sim

// Scale converts the model's units.
const Scale = 2.0

func helper2(x float64) float64 { return x * Scale }

func helper1(x float64) float64 { return helper2(x) + 1 }

// Unrelated is not called by Run.
func Unrelated() int { return 1 }

// Run is the cached function.
//
//cache:version=1
func Run(x float64) float64 {
	y := helper1(x)
	return y
}
`

// TestFingerprints edits a module step by step and regenerates after each
// edit: cosmetic edits and edits of code Run does not reach pass; a change
// in Run, in a helper two calls down or in a constant it reads is refused
// until the version is bumped or the change accepted.
func TestFingerprints(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/sim\n\ngo 1.26\n"), 0o644)
	src := filepath.Join(dir, "sim.go")
	generate := func(t *testing.T, code string, accept ...string) string {
		t.Helper()
		os.WriteFile(src, []byte(code), 0o644)
		rs, err := Generate(Config{Dir: dir, Accept: accept})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, e := range rs[0].Errs {
			msgs = append(msgs, strings.ReplaceAll(e.Error(), dir+string(filepath.Separator), ""))
		}
		if len(msgs) == 0 {
			if err := rs[0].Commit(); err != nil {
				t.Fatal(err)
			}
		}
		return strings.Join(msgs, "\n")
	}
	ok := func(t *testing.T, code string, accept ...string) {
		t.Helper()
		if msg := generate(t, code, accept...); msg != "" {
			t.Fatalf("refused: %s", msg)
		}
	}
	refused := func(t *testing.T, code, changed string) {
		t.Helper()
		msg := generate(t, code)
		want := "sim.go:15:1: Run changed since version 1 was generated (changed: " + changed + "); bump to //cache:version=2, or run cachegen -accept Run if results stay valid"
		if msg != want {
			t.Fatalf("got  %q\nwant %q", msg, want)
		}
	}
	ok(t, fpBase)
	t.Run("cosmetic edits are not changes", func(t *testing.T) {
		cosmetic := strings.ReplaceAll(fpBase, "// Unrelated is not called by Run.\n", "// Unrelated is not called by Run, as its doc says.\n\n")
		cosmetic = strings.ReplaceAll(cosmetic, "return x * Scale }", "return x*Scale /* scaled */ }")
		cosmetic = strings.ReplaceAll(cosmetic, "\ty := helper1(x)\n", "\n\t// call the helper\n\ty := helper1(x)\n\n")
		ok(t, cosmetic)
	})
	t.Run("an unrelated function is not a change", func(t *testing.T) {
		ok(t, strings.ReplaceAll(fpBase, "return 1 }", "return 2 }"))
	})
	t.Run("a helper two calls down is a change", func(t *testing.T) {
		refused(t, strings.ReplaceAll(fpBase, "return x * Scale }", "return x * Scale * 1.01 }"), "helper2")
	})
	t.Run("a constant read is a change", func(t *testing.T) {
		refused(t, strings.ReplaceAll(fpBase, "const Scale = 2.0", "const Scale = 2.5"), "Scale")
	})
	t.Run("the body is a change, and so is renaming a local", func(t *testing.T) {
		refused(t, strings.ReplaceAll(fpBase, "return y\n", "return y + 1\n"), "Run")
		refused(t, strings.ReplaceAll(fpBase, "y", "z"), "Run")
	})
	t.Run("accept records the change", func(t *testing.T) {
		changed := strings.ReplaceAll(fpBase, "const Scale = 2.0", "const Scale = 2.5")
		ok(t, changed, "Run")
		ok(t, changed) // now recorded: no longer a change
		ok(t, fpBase, "Run")
	})
	t.Run("a version bump records the change", func(t *testing.T) {
		ok(t, strings.ReplaceAll(strings.ReplaceAll(fpBase, "return y\n", "return y + 1\n"), "version=1", "version=2"))
	})
}

// Code of other modules counts by module path and version, so upgrading a
// dependency is a change.
func TestFingerprintCountsOtherModulesByVersion(t *testing.T) {
	dir := t.TempDir()
	sum, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n\ngo 1.26\n\nrequire github.com/fxamacker/cbor/v2 v2.10.0\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "m.go"), []byte("package m\n\nimport \"github.com/fxamacker/cbor/v2\"\n\n//cache:version=1\nfunc Enc(x int) ([]byte, error) { return cbor.Marshal(x) }\n"), 0o644)
	t.Setenv("GOFLAGS", "-mod=mod")
	rs, err := Generate(Config{Dir: dir})
	if err != nil || len(rs) != 1 || len(rs[0].Errs) > 0 {
		t.Fatalf("Generate: %v %+v", err, rs)
	}
	if !strings.Contains(string(rs[0].Content), "parts=Enc:") || !strings.Contains(string(rs[0].Content), ",github.com/fxamacker/cbor/v2@v2.10.0\n") {
		t.Fatalf("the fingerprint does not count the dependency's version:\n%s", rs[0].Content)
	}
}

// Edits that change meaning without changing which nodes a declaration
// has are changes too.
func TestDigestTellsPositionOnlyEditsApart(t *testing.T) {
	pairs := [][2]string{
		{"func f(xs []int) []int { return xs[1:] }", "func f(xs []int) []int { return xs[:1] }"},
		{"func f(xs []int) []int { return xs[1:2] }", "func f(xs []int) []int { return xs[1:2:2] }"},
		{"func f(xs ...int) { g(xs...) }", "func f(xs ...int) { g(xs) }"},
		{"type T = int", "type T int"},
		{"func f() int { return 1 + 2 }", "func f() int { return 1 - 2 }"},
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
	old := []byte("// cachegen:fingerprint Run version=1 sum=0123456789abcdef parts=Run:00000000\n")
	if len(readRecords(old)) != 0 {
		t.Fatal("a record of the old scheme was read")
	}
	cur := []byte("// " + recordLine("Run", 1, fingerprint{Sum: "0123456789abcdef", Parts: []string{"Run:00000000"}}) + "\n")
	if r := readRecords(cur)["Run"]; r.version != 1 || r.sum != "0123456789abcdef" || len(r.parts) != 1 {
		t.Fatalf("current record read as %+v", r)
	}
}
