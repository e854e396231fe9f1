package fingerprint

import (
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

// checkModule writes a module whose cached function Run calls factor and
// q.Area, and returns its directory and Run's parts as cachegen records
// them: its module's declarations one by one, the standard library's as
// a part per package.
func checkModule(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	testenv.WriteFiles(t, dir, map[string]string{
		"go.mod":    "module example.com/m\n\ngo 1.26\n",
		"sim.go":    "package m\n\nimport (\n\t\"math\"\n\n\t\"example.com/m/q\"\n)\n\n//cache:version=1\nfunc Run(x float64) float64 { return math.Sqrt(x) * factor() * q.Area() }\n",
		"other.go":  "package m\n\n// factor scales.\nfunc factor() float64 { return 2 }\n",
		"q/q.go":    "package q\n\nfunc Area() float64 { return 1 }\n",
		"model.go":  "package m\n\ntype Model struct{}\n\n//cache:version=1\nfunc (Model) Fit() int { return 1 }\n",
		"vendor/x":  "",
		"README.md": "",
	})
	m := ReadPackage(token.NewFileSet(), "example.com/m", dir)
	q := ReadPackage(token.NewFileSet(), "example.com/m/q", filepath.Join(dir, "q"))
	return dir, []string{"Run:" + m.Digest("Run"), "factor:" + m.Digest("factor"), "q.Area:" + q.Digest("Area"),
		ModFilePart(filepath.Join(dir, "go.mod"), ""), "std:0badc0de", "example.com/x/...:12345678"}
}

// TestCheckerComparesTheModulesOwnCode checks what a run-time check
// compares: the declarations of the function's own module, by their
// digests (a comment is no change, a body is), and the go.mod's and the
// go.work's semantics; never the parts of other packages, nor where the
// go command would find them.
func TestCheckerComparesTheModulesOwnCode(t *testing.T) {
	t.Setenv("GOWORK", "")
	dir, parts := checkModule(t)
	check := func(fn string, parts []string) Result {
		t.Helper()
		c, err := NewChecker(filepath.Join(dir, "q"))
		if err != nil {
			t.Fatal(err)
		}
		return c.Check(fn, parts)
	}
	r := check("example.com/m.Run", parts)
	if !r.AtHand || len(r.Changed) != 0 || r.Name != "Run" || r.PkgPath != "example.com/m" || r.Dir != dir {
		t.Fatalf("the source as recorded: %+v", r)
	}
	testenv.WriteFiles(t, dir, map[string]string{"other.go": "package m\n\n// factor scales the result, as the model says.\nfunc factor() float64 {\n\treturn 2\n}\n"})
	if r := check("example.com/m.Run", parts); len(r.Changed) != 0 {
		t.Fatalf("a comment and formatting: changed %q", r.Changed)
	}
	testenv.WriteFiles(t, dir, map[string]string{
		"go.work":                   "go 1.26.8\n\nuse .\n",
		"vendor/modules.txt":        "# example.com/x v1.0.0\n",
		"vendor/example.com/x/x.go": "package x\n",
	})
	if r := check("example.com/m.Run", parts); len(r.Changed) != 0 {
		t.Fatalf("a go.work without godebug lines, and vendor/: changed %q", r.Changed)
	}
	testenv.WriteFiles(t, dir, map[string]string{"go.work": "go 1.26.8\n\ngodebug panicnil=1\n\nuse .\n"})
	if r := check("example.com/m.Run", parts); !slices.Equal(r.Changed, []string{"go.work"}) {
		t.Fatalf("a godebug line in the go.work: changed %q", r.Changed)
	}
	os.Remove(filepath.Join(dir, "go.work"))
	testenv.WriteFiles(t, dir, map[string]string{"other.go": "package m\n\nfunc factor() float64 { return 3 }\n", "q/q.go": "package q\n\nfunc Area() float64 { return 2 }\n"})
	if r := check("example.com/m.Run", parts); !slices.Equal(r.Changed, []string{"factor", "q.Area"}) {
		t.Fatalf("two bodies: changed %q", r.Changed)
	}
	testenv.WriteFiles(t, dir, map[string]string{"go.mod": "module example.com/m\n\ngo 1.26\n\ngodebug panicnil=1\n"})
	if r := check("example.com/m.Run", parts); !slices.Contains(r.Changed, "go.mod") {
		t.Fatalf("a godebug line in go.mod: changed %q", r.Changed)
	}
	fit := ReadPackage(token.NewFileSet(), "example.com/m", dir).Digest("Model.Fit")
	if r := check("example.com/m.Model.Fit", []string{"Model.Fit:" + fit}); !r.AtHand || r.Name != "Model.Fit" || len(r.Changed) != 0 {
		t.Fatalf("a method: %+v", r)
	}
	if r := check("example.com/other.Run", parts); r.AtHand {
		t.Fatalf("a function of another module was compared: %+v", r)
	}
}

// TestCheckerComparesEachInit checks that each init of a package is
// compared by itself: the part of one that a function counts matches
// whatever other inits the package has.
func TestCheckerComparesEachInit(t *testing.T) {
	t.Setenv("GOWORK", "")
	dir := t.TempDir()
	testenv.WriteFiles(t, dir, map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26\n",
		"m.go":   "package m\n\nvar rate = 1.0\n\nfunc init() { rate = 2 }\n\n//cache:version=1\nfunc Run() float64 { return rate }\n",
	})
	pk := ReadPackage(token.NewFileSet(), "example.com/m", dir)
	if len(pk.Inits()) != 1 {
		t.Fatalf("inits %q, want one", pk.Inits())
	}
	parts := []string{"Run:" + pk.Digest("Run"), "rate:" + pk.Digest("rate"), "init:" + pk.Digest(pk.Inits()[0])}
	c, _ := NewChecker(dir)
	testenv.WriteFiles(t, dir, map[string]string{"other.go": "package m\n\nvar unused int\n\nfunc init() { unused = 3 }\n"})
	if r := c.Check("example.com/m.Run", parts); !r.AtHand || len(r.Changed) != 0 {
		t.Fatalf("another init beside the one counted: %+v", r)
	}
	c, _ = NewChecker(dir)
	testenv.WriteFiles(t, dir, map[string]string{"m.go": "package m\n\nvar rate = 1.0\n\nfunc init() { rate = 3 }\n\n//cache:version=1\nfunc Run() float64 { return rate }\n"})
	if r := c.Check("example.com/m.Run", parts); !slices.Equal(r.Changed, []string{"init"}) {
		t.Fatalf("the init counted, edited: %+v", r)
	}
}
