package generator

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/cachegen/cachegen/internal/testenv"

	"golang.org/x/tools/txtar"
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

// generateErrs runs Generate and returns its problems, with paths relative
// to dir, one per line; it commits the result when there are none.
func generateErrs(t *testing.T, cfg Config) string {
	t.Helper()
	rs, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range rs {
		for _, e := range r.Errs {
			msgs = append(msgs, strings.ReplaceAll(e.Error(), cfg.Dir+string(filepath.Separator), ""))
		}
	}
	if len(msgs) == 0 {
		for _, r := range rs {
			if err := r.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return strings.Join(msgs, "\n")
}

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
		return generateErrs(t, Config{Dir: dir, Accept: accept})
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
		want := "sim.go:15:1: Run changed since version 1 was generated (changed: " + changed + "); bump to //cache:version=2, or, only if its results stay the same, record the change: go run github.com/cachegen/cachegen/cmd/cachegen -accept Run ."
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
		ok(t, fpBase)  // back to code whose results were declared the same
	})
	t.Run("a version bump records the change", func(t *testing.T) {
		ok(t, strings.ReplaceAll(strings.ReplaceAll(fpBase, "return y\n", "return y + 1\n"), "version=1", "version=2"))
	})
}

// TestAcceptKeepsEarlierCode checks what the wrapper is told: after
// -accept, entries computed by the earlier code stay valid; after a version
// bump, none does.
func TestAcceptKeepsEarlierCode(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/sim\n\ngo 1.26\n"), 0o644)
	src := filepath.Join(dir, "sim.go")
	wrapper := func(code string, accept ...string) string {
		t.Helper()
		os.WriteFile(src, []byte(code), 0o644)
		if msg := generateErrs(t, Config{Dir: dir, Accept: accept}); msg != "" {
			t.Fatal(msg)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "cache_gen.go"))
		return string(b)
	}
	sumOf := func(gen string) string {
		m := regexp.MustCompile(`Code: +"([0-9a-f]{16})"`).FindStringSubmatch(gen)
		if m == nil {
			t.Fatalf("no Code in\n%s", gen)
		}
		return m[1]
	}
	first := sumOf(wrapper(fpBase))
	second := wrapper(strings.ReplaceAll(fpBase, "return y\n", "return y * 1\n"), "Run")
	if !regexp.MustCompile(`Accepted: +\[\]string\{"`+first+`"\}`).MatchString(second) || sumOf(second) == first {
		t.Fatalf("after -accept, the wrapper does not accept the earlier code %s:\n%s", first, second)
	}
	third := wrapper(strings.ReplaceAll(strings.ReplaceAll(fpBase, "return y\n", "return y * 2\n"), "version=1", "version=2"))
	if strings.Contains(third, "Accepted:") {
		t.Fatalf("after a version bump, the wrapper still accepts earlier code:\n%s", third)
	}
}

// Code of other modules counts by what it is: the record keeps one part
// for a module's declarations the function reaches, and one for the
// standard library's, and no version.
func TestFingerprintCountsOtherModulesByTheirCode(t *testing.T) {
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
	rec := fingerprint.ParseRecords(rs[0].Content)["Enc"]
	for _, want := range []string{"Enc:", "github.com/fxamacker/cbor/v2/...:", "std:", "go.mod:"} {
		if !slices.ContainsFunc(rec.Parts, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("no part %s… in %q", want, rec.Parts)
		}
	}
	if strings.Contains(string(rs[0].Content), "v2.10.0") {
		t.Errorf("the record names the module's version:\n%s", rs[0].Content)
	}
}

// TestFingerprintEdits runs each testdata/fingerprint archive: it
// generates the module (with the tags its "tags:" line names), checks that
// a run under each tag set of its "check-tags:" lines finds nothing stale,
// applies the edit/ files (content "(deleted)" removes a file), generates
// again, and compares the problems reported with want (empty: the edit is
// accepted).
func TestFingerprintEdits(t *testing.T) {
	testenv.Slow(t) // some 80 generations of modules written to disk; TestFingerprints covers the same code in brief
	archives, _ := filepath.Glob("testdata/fingerprint/*.txtar")
	if len(archives) == 0 {
		t.Fatal("no archives")
	}
	for _, path := range archives {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var tags string
			var checkTags []string
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				if v, ok := strings.CutPrefix(line, "tags: "); ok {
					tags = v
				}
				if v, ok := strings.CutPrefix(line, "check-tags: "); ok {
					checkTags = append(checkTags, v)
				}
			}
			var base, edits []txtar.File
			var want []byte
			gomod := "module example.com/sim\n\ngo 1.26\n"
			for _, f := range ar.Files {
				switch {
				case f.Name == "want":
					want = f.Data
				case strings.HasPrefix(f.Name, "edit/"):
					edits = append(edits, txtar.File{Name: strings.TrimPrefix(f.Name, "edit/"), Data: f.Data})
				case f.Name == "go.mod":
					gomod = string(f.Data)
				default:
					base = append(base, f)
				}
			}
			if len(edits) == 0 {
				t.Fatal("the archive has no edit/ files")
			}
			dir := writeModule(t, &txtar.Archive{Files: base}, gomod)
			cfg := Config{Dir: dir, Patterns: []string{"./..."}, Tags: tags}
			if msg := generateErrs(t, cfg); msg != "" {
				t.Fatalf("before the edit: %s", msg)
			}
			for _, ct := range checkTags {
				rs, err := Generate(Config{Dir: dir, Patterns: []string{"./..."}, Tags: ct})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					if stale, err := r.Stale(); stale || err != nil || len(r.Errs) > 0 {
						t.Fatalf("with -tags %q on the unchanged tree: stale=%v %v %v", ct, stale, err, r.Errs)
					}
				}
			}
			for _, e := range edits {
				p := filepath.Join(dir, e.Name)
				old, _ := os.ReadFile(p)
				if string(old) == string(e.Data) {
					t.Fatalf("edit/%s changes nothing", e.Name)
				}
				if string(e.Data) == "(deleted)\n" {
					os.Remove(p)
					continue
				}
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, e.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := generateErrs(t, cfg)
			if got != strings.TrimSuffix(string(want), "\n") {
				t.Fatalf("after the edit:\ngot  %q\nwant %q", got, strings.TrimSuffix(string(want), "\n"))
			}
		})
	}
}

// TestAcceptKeepsTheLatestEarlierCode accepts more changes than a record
// keeps: the latest earlier fingerprints stay accepted, the oldest go.
func TestAcceptKeepsTheLatestEarlierCode(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/sim\n\ngo 1.26\n"), 0o644)
	src := filepath.Join(dir, "sim.go")
	var sums []string
	for i := range maxAccepted + 3 {
		os.WriteFile(src, []byte(fmt.Sprintf("package sim\n\n//cache:version=1\nfunc Run(x int) int { return x + %d }\n", i)), 0o644)
		if msg := generateErrs(t, Config{Dir: dir, Accept: []string{"Run"}}); msg != "" {
			t.Fatal(msg)
		}
		b, _ := os.ReadFile(filepath.Join(dir, DefaultOutput))
		rec := fingerprint.ParseRecords(b)["Run"]
		sums = append(sums, rec.Sum)
		if i == maxAccepted+2 {
			want := slices.Clone(sums[len(sums)-1-maxAccepted : len(sums)-1])
			slices.Reverse(want)
			if !slices.Equal(rec.Accepted, want) {
				t.Fatalf("accepted %v, want the latest %d earlier sums %v", rec.Accepted, maxAccepted, want)
			}
		}
	}
}
