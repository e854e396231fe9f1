package reach

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

const examples = "github.com/cachegen/cachegen/examples/"

// TestCacheItselfDoesNotCount: the montecarlo example imports the runtime
// for its wrappers, and its function reaches none of it; nor is any of
// the language's own implementation (runtime, unsafe) a part.
func TestCacheItselfDoesNotCount(t *testing.T) {
	p, err := Load("../..", []string{"./examples/montecarlo"}, "", "cache_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	fp, full, err := p.Of(examples+"montecarlo", "RunMonteCarlo")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range fp.Parts {
		if strings.HasPrefix(part, "runtime.") || strings.HasPrefix(part, "internal/") || strings.Contains(part, "cbor") {
			t.Errorf("part %s counts, of the cache itself", part)
		}
	}
	for _, entries := range full {
		for _, e := range entries {
			if strings.HasPrefix(e, "runtime.") || strings.HasPrefix(e, "unsafe.") || strings.HasPrefix(e, "internal/abi.") {
				t.Errorf("%s counts, of the language's implementation", e)
			}
		}
	}
	if !slices.ContainsFunc(fp.Parts, func(p string) bool { return strings.HasPrefix(p, "std:") }) {
		t.Errorf("parts %q: no part for the standard library it reaches (math)", fp.Parts)
	}
}

// TestOrderDoesNotMatter computes the fingerprints of a package's
// functions in one order and in the other, each in a program of its own:
// what one function's analysis leaves behind must not change another's.
func TestOrderDoesNotMatter(t *testing.T) {
	names := []string{"Trace", "Eigenvalues", "Frobenius", "Binomial", "Covariance", "Normalize"}
	sums := func(order []string) map[string]string {
		// The example is a module of its own, which requires gonum.
		p, err := Load("../../examples/matrices", []string{"."}, "", "cache_gen.go")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range order {
			fp, _, err := p.Of(examples+"matrices", n)
			if err != nil {
				t.Fatal(err)
			}
			out[n] = fp.Sum
		}
		return out
	}
	forward := sums(names)
	reversed := slices.Clone(names)
	slices.Reverse(reversed)
	backward := sums(reversed)
	for _, n := range names {
		if forward[n] != backward[n] {
			t.Errorf("%s: %s in one order, %s in the other", n, forward[n], backward[n])
		}
	}
}

// TestSameOnEveryPlatform computes the fingerprint of a function that
// reaches much of the platform-dependent standard library (files, paths,
// time zones) for several GOOS and GOARCH: one record holds for a team on
// mixed machines.
func TestSameOnEveryPlatform(t *testing.T) {
	testenv.Slow(t) // compiles the standard library's export data for each platform, once
	dir := t.TempDir()
	for name, src := range map[string]string{
		"go.mod": "module example.com/plat\n\ngo 1.26\n",
		"plat.go": `package plat

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func Load(dir string) (map[string]float64, error) {
	out := map[string]float64{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			v, err := strconv.ParseFloat(sc.Text(), 64)
			if err != nil {
				return err
			}
			out[p] += v
		}
		return sc.Err()
	})
	return out, err
}

func Stamp(sec int64) ([]byte, error) {
	return json.Marshal(time.Unix(sec, 0).In(time.Local))
}
`,
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
	}
	var first map[string]string
	for _, platform := range []string{"linux/amd64", "darwin/arm64", "windows/amd64", "linux/386"} {
		goos, goarch, _ := strings.Cut(platform, "/")
		t.Setenv("GOOS", goos)
		t.Setenv("GOARCH", goarch)
		p, err := Load(dir, nil, "", "cache_gen.go")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, fn := range []string{"Load", "Stamp"} {
			fp, _, err := p.Of("example.com/plat", fn)
			if err != nil {
				t.Fatal(err)
			}
			got[fn] = fp.Sum
		}
		if first == nil {
			first = got
		} else if got["Load"] != first["Load"] || got["Stamp"] != first["Stamp"] {
			t.Errorf("%s: %v, want %v as on linux/amd64", platform, got, first)
		}
	}
}

// TestCapturesLoopVar: a loop's variable outlives an iteration when a
// function literal captures it, its address is taken or an array of it
// is sliced; not when a literal's parameter of the same name shadows it.
func TestCapturesLoopVar(t *testing.T) {
	for src, want := range map[string]bool{
		"for i := 0; i < 3; i++ { fs = append(fs, func() int { return i }) }": true,
		"for _, v := range xs { ps = append(ps, &v) }":                        true,
		"for _, a := range arrs { out = append(out, a[:]) }":                  true,
		"for i := 0; i < 3; i++ { go func(i int) { use(i) }(i) }":             false,
		"for _, v := range xs { total += v }":                                 false,
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package p\nfunc f() {\n"+src+"\n}\n", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := capturesLoopVar(f, nil); got != want {
			t.Errorf("%s: %v, want %v", src, got, want)
		}
	}
}
