package generator

import (
	"bytes"
	"flag"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want/ files of testdata/generate")

// writeModule writes the archive's files (all but want/) into a new module
// directory and returns it.
func writeModule(t *testing.T, ar *txtar.Archive, gomod string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if strings.HasPrefix(f.Name, "want/") {
			continue
		}
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func wantFile(ar *txtar.Archive, name string) ([]byte, bool) {
	for _, f := range ar.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

// TestGolden runs the generator on each testdata/generate archive and
// compares what it would write (want/cache_gen.go, want/cache_gen_test.go,
// want/<dir>/cache_gen.go…)
// or the problems it reports (want/errors, positions relative to the
// module) with the archive's want/ files. -update rewrites them.
func TestGolden(t *testing.T) {
	archives, _ := filepath.Glob("testdata/generate/*.txtar")
	if len(archives) == 0 {
		t.Fatal("no golden archives")
	}
	for _, path := range archives {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := writeModule(t, ar, "module example.com/sim\n\ngo 1.26\n")
			results, err := Generate(Config{Dir: dir, Patterns: []string{"./..."}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			var errs []string
			for _, r := range results {
				for _, e := range r.Errs {
					errs = append(errs, strings.ReplaceAll(e.Error(), dir+string(filepath.Separator), ""))
				}
				for _, f := range r.files() {
					rel, _ := filepath.Rel(dir, f.path)
					if f.content != nil {
						got["want/"+rel] = f.content
					} else if _, err := os.Stat(f.path); err == nil {
						got["want/"+rel] = []byte("(removed)\n")
					}
				}
			}
			if len(errs) > 0 {
				got = map[string][]byte{"want/errors": []byte(strings.Join(errs, "\n") + "\n")}
			}
			if *update {
				var files []txtar.File
				for _, f := range ar.Files {
					if !strings.HasPrefix(f.Name, "want/") {
						files = append(files, f)
					}
				}
				for _, name := range sortedKeys(got) {
					files = append(files, txtar.File{Name: name, Data: got[name]})
				}
				ar.Files = files
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, f := range ar.Files {
				if strings.HasPrefix(f.Name, "want/") {
					if _, ok := got[f.Name]; !ok {
						t.Errorf("%s: wanted, but not produced", f.Name)
					}
				}
			}
			for _, name := range sortedKeys(got) {
				want, ok := wantFile(ar, name)
				if !ok {
					t.Errorf("%s produced, but the archive has no want for it:\n%s", name, got[name])
					continue
				}
				if !bytes.Equal(got[name], want) {
					t.Errorf("%s differs (run go test ./generator -update to accept):\n%s", name, diff(want, got[name]))
				}
			}
		})
	}
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// diff returns a line diff of want and got, via the system's diff when
// there is one.
func diff(want, got []byte) string {
	dir, _ := os.MkdirTemp("", "diff")
	defer os.RemoveAll(dir)
	a, b := filepath.Join(dir, "want"), filepath.Join(dir, "got")
	os.WriteFile(a, want, 0o644)
	os.WriteFile(b, got, 0o644)
	out, err := exec.Command("diff", "-u", a, b).CombinedOutput()
	if err != nil && len(out) > 0 {
		return string(out)
	}
	return "want:\n" + string(want) + "\ngot:\n" + string(got)
}

// Mistakes on the command line get messages that say what to do.
func TestCommandLineMistakes(t *testing.T) {
	ar := &txtar.Archive{Files: []txtar.File{{Name: "sim/sim.go", Data: []byte("package sim\n\n//cache:version=1\nfunc F(x int) int { return x }\n")}}}
	dir := writeModule(t, ar, "module example.com/sim\n\ngo 1.26\n")
	got := generateErrs(t, Config{Dir: dir, Patterns: []string{"./..."}, Accept: []string{"G", "F"}})
	if want := "-accept G: no function annotated with //cache:version=N in ./... is named G: name a function F, or a method T.M"; got != want {
		t.Errorf("-accept of a function that does not exist:\n%s\nwant:\n%s", got, want)
	}
	// A name a letter or two away from a function's is suggested.
	typo := &txtar.Archive{Files: []txtar.File{{Name: "sim/sim.go", Data: []byte("package sim\n\n//cache:version=1\nfunc Simulate(x int) int { return x }\n")}}}
	typoDir := writeModule(t, typo, "module example.com/sim\n\ngo 1.26\n")
	got = generateErrs(t, Config{Dir: typoDir, Patterns: []string{"./..."}, Accept: []string{"Simulte"}})
	if want := "-accept Simulte: no function annotated with //cache:version=N in ./... is named Simulte: did you mean Simulate?"; got != want {
		t.Errorf("-accept of a misspelt function:\n%s\nwant:\n%s", got, want)
	}
	got = generateErrs(t, Config{Dir: dir})
	if want := "no Go files in " + dir + ": name the packages that hold annotated functions, as in cachegen ./..."; got != want {
		t.Errorf("a directory without Go files:\n%s\nwant:\n%s", got, want)
	}
}

// TestNothingMatchedIsAnError: a run that finds no package, outside a
// module or for a pattern that matches nothing, fails rather than pass a
// check that checked nothing.
func TestNothingMatchedIsAnError(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "sim.go"), []byte("package sim\n\n//cache:version=1\nfunc F(x int) int { return x }\n"), 0o644)
	if _, err := Generate(Config{Dir: outside}); err == nil || !strings.Contains(err.Error(), "no go.mod in "+outside) {
		t.Errorf("outside a module: err = %v, want one naming the missing go.mod", err)
	}
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "go.mod"), []byte("module example.com/empty\n\ngo 1.26\n"), 0o644)
	if _, err := Generate(Config{Dir: empty, Patterns: []string{"./..."}}); err == nil || !strings.Contains(err.Error(), "no package matches ./...") {
		t.Errorf("a module of no packages: err = %v, want one naming the pattern", err)
	}
}

// Problems are positioned as the go command positions its own: relative
// to the working directory, ./ for a file in it.
func TestShortPositions(t *testing.T) {
	dir := filepath.Join(string(filepath.Separator), "home", "u", "mod")
	for file, want := range map[string]string{
		filepath.Join(dir, "sim.go"):              "./sim.go:4:13: m",
		filepath.Join(dir, "sub", "sim.go"):       "sub/sim.go:4:13: m",
		filepath.Join(dir, "..", "other", "x.go"): "../other/x.go:4:13: m",
		"/elsewhere/x.go":                         "/elsewhere/x.go:4:13: m",
	} {
		err := errorf(token.Position{Filename: file, Line: 4, Column: 13}, "m")
		if got := Short(err, dir); got != filepath.FromSlash(want) {
			t.Errorf("Short(%s) = %q, want %q", file, got, want)
		}
	}
}
