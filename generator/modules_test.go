package generator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// proxy serves modules from a directory laid out as the go command's
// GOPROXY protocol has it, for tests that need other modules at several
// versions.
type proxy struct{ dir string }

// add publishes module path at version with the given files.
func (p proxy) add(t *testing.T, path, version string, files map[string]string) {
	t.Helper()
	src := t.TempDir()
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755)
		os.WriteFile(filepath.Join(src, name), []byte(content), 0o644)
	}
	at := filepath.Join(p.dir, path, "@v")
	os.MkdirAll(at, 0o755)
	zf, err := os.Create(filepath.Join(at, version+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := modzip.CreateFromDir(zf, module.Version{Path: path, Version: version}, src); err != nil {
		t.Fatal(err)
	}
	zf.Close()
	os.WriteFile(filepath.Join(at, version+".mod"), []byte(files["go.mod"]), 0o644)
	os.WriteFile(filepath.Join(at, version+".info"), []byte(`{"Version":"`+version+`","Time":"`+time.Now().UTC().Format(time.RFC3339)+`"}`), 0o644)
	f, _ := os.OpenFile(filepath.Join(at, "list"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	f.WriteString(version + "\n")
	f.Close()
}

// TestFingerprintCountsWhatDependenciesRun uses a module x that calls a
// module y: the fingerprint of a function calling x counts y's version,
// so upgrading y is a change; with y replaced by a local directory, an
// edit of y's code is a change too.
func TestFingerprintCountsWhatDependenciesRun(t *testing.T) {
	p := proxy{t.TempDir()}
	p.add(t, "example.com/x", "v1.0.0", map[string]string{
		"go.mod": "module example.com/x\n\ngo 1.26\n\nrequire example.com/y v1.0.0\n",
		"x.go":   "package x\n\nimport \"example.com/y\"\n\nfunc F() int { return y.G() }\n",
	})
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		p.add(t, "example.com/y", v, map[string]string{
			"go.mod": "module example.com/y\n\ngo 1.26\n",
			"y.go":   "package y\n\nfunc G() int { return 2 }\n",
		})
	}
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(p.dir))
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOFLAGS", "-mod=mod -modcacherw")

	dir := t.TempDir()
	write := func(name, content string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gomod := "module example.com/sim\n\ngo 1.26\n\nrequire (\n\texample.com/x v1.0.0\n\texample.com/y %s // indirect\n)\n"
	write("go.mod", strings.Replace(gomod, "%s", "v1.0.0", 1))
	write("sim.go", "package sim\n\nimport \"example.com/x\"\n\n//cache:version=1\nfunc Run() int { return x.F() }\n")
	if msg := generateErrs(t, Config{Dir: dir}); msg != "" {
		t.Fatal(msg)
	}
	refused := func(changed string) {
		t.Helper()
		want := "sim.go:5:1: Run changed since version 1 was generated (changed: " + changed + "); bump to //cache:version=2, or, only if its results stay the same, record the change: go run github.com/cachegen/cachegen/cmd/cachegen -accept Run ."
		if msg := generateErrs(t, Config{Dir: dir}); msg != want {
			t.Fatalf("got  %q\nwant %q", msg, want)
		}
	}
	write("go.mod", strings.Replace(gomod, "%s", "v1.1.0", 1))
	refused("example.com/y@v1.0.0, example.com/y@v1.1.0")

	write("ylocal/go.mod", "module example.com/y\n\ngo 1.26\n")
	write("ylocal/y.go", "package y\n\nfunc G() int { return 2 }\n")
	write("go.mod", strings.Replace(gomod, "%s", "v1.1.0", 1)+"\nreplace example.com/y => ./ylocal\n")
	if msg := generateErrs(t, Config{Dir: dir, Accept: []string{"Run"}}); msg != "" {
		t.Fatal(msg)
	}
	write("ylocal/y.go", "package y\n\nfunc G() int { return 3 }\n")
	b, _ := os.ReadFile(filepath.Join(dir, DefaultOutput))
	if !strings.Contains(string(b), "example.com/y/...:") {
		t.Fatalf("the record does not count the replaced module's code:\n%s", b)
	}
	msg := generateErrs(t, Config{Dir: dir})
	if !strings.Contains(msg, "Run changed since version 1 was generated (changed: example.com/y/...)") {
		t.Fatalf("an edit of the replaced module: %q", msg)
	}
}
