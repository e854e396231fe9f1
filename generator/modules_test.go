package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/cachegen/cachegen/internal/testenv"

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
	testenv.WriteFiles(t, src, files)
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
// module y: upgrading y to a version whose code is the same is no change;
// to one whose code differs, a change naming what differs; replacing y
// by a local copy of the same code is no change, and an edit of that copy
// is one.
func TestFingerprintCountsWhatDependenciesRun(t *testing.T) {
	p := proxy{t.TempDir()}
	p.add(t, "example.com/x", "v1.0.0", map[string]string{
		"go.mod": "module example.com/x\n\ngo 1.26\n\nrequire example.com/y v1.0.0\n",
		"x.go":   "package x\n\nimport \"example.com/y\"\n\nfunc F() int { return y.G() }\n",
	})
	y := func(g string) map[string]string {
		return map[string]string{
			"go.mod": "module example.com/y\n\ngo 1.26\n",
			"y.go":   "package y\n\nfunc G() int { return " + g + " }\n\nfunc H() int { return 1 }\n",
		}
	}
	p.add(t, "example.com/y", "v1.0.0", y("2"))
	p.add(t, "example.com/y", "v1.1.0", y("2"))
	p.add(t, "example.com/y", "v1.2.0", y("3"))
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
	ok := func(step string) {
		t.Helper()
		if msg := generateErrs(t, Config{Dir: dir}); msg != "" {
			t.Fatalf("%s: %s", step, msg)
		}
	}
	refused := func(step, changed string) {
		t.Helper()
		want := "sim.go:5:1: Run changed since version 1 was generated (changed: " + changed + "); bump to //cache:version=2, or, only if its results stay the same, record the change: go run github.com/cachegen/cachegen/cmd/cachegen -accept Run ."
		if msg := generateErrs(t, Config{Dir: dir}); msg != want {
			t.Fatalf("%s:\ngot  %q\nwant %q", step, msg, want)
		}
	}
	ok("the first generation")
	write("go.mod", strings.Replace(gomod, "%s", "v1.1.0", 1))
	ok("an upgrade of y to the same code")
	write("go.mod", strings.Replace(gomod, "%s", "v1.2.0", 1))
	refused("an upgrade of y to other code", "example.com/y.G")
	if msg := generateErrs(t, Config{Dir: dir, Accept: []string{"Run"}}); msg != "" {
		t.Fatal(msg)
	}

	write("ylocal/go.mod", "module example.com/y\n\ngo 1.26\n")
	write("ylocal/y.go", y("3")["y.go"])
	write("go.mod", strings.Replace(gomod, "%s", "v1.2.0", 1)+"\nreplace example.com/y => ./ylocal\n")
	ok("y replaced by a copy of the same code")
	write("ylocal/y.go", "package y\n\n// G is two.\nfunc G() int {\n\treturn 3\n}\n\nfunc H() int { return 2 }\n")
	ok("a comment, and a function Run does not reach, in the copy")
	write("ylocal/y.go", y("4")["y.go"])
	refused("an edit of the copy", "example.com/y.G")
}

// TestFingerprintIgnoresModuleWork runs, on a module whose cached
// function calls a dependency, the everyday module work that changes no
// code the function reaches: cachegen -check passes after each step. Then
// the edits that do change it are refused.
func TestFingerprintIgnoresModuleWork(t *testing.T) {
	testenv.Slow(t) // runs the go command on a module, some twenty times
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	p := proxy{t.TempDir()}
	lib := map[string]string{
		"go.mod": "module example.com/lib\n\ngo 1.26\n\nrequire example.com/graphonly v1.0.0\n",
		"lib.go": "package lib\n\nfunc Scale(x float64) float64 { return x * 2 }\n\nfunc Unused() int { return 1 }\n",
	}
	p.add(t, "example.com/lib", "v1.0.0", lib)
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		p.add(t, "example.com/graphonly", v, map[string]string{"go.mod": "module example.com/graphonly\n\ngo 1.26\n", "g.go": "package graphonly\n\nconst V = \"" + v + "\"\n"})
	}
	p.add(t, "example.com/unrelated", "v1.0.0", map[string]string{"go.mod": "module example.com/unrelated\n\ngo 1.26\n", "u.go": "package unrelated\n"})
	// The modules cachegen's runtime needs come from the module cache, as a
	// second proxy; the module cache of the test is its own.
	realCache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(p.dir)+",file://"+filepath.ToSlash(filepath.Join(strings.TrimSpace(string(realCache)), "cache", "download")))
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOFLAGS", "-mod=mod -modcacherw")
	t.Setenv("GOWORK", "")

	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write("go.mod", "module example.com/sim\n\ngo 1.26\n\nrequire (\n\tgithub.com/cachegen/cachegen v0.0.0\n\texample.com/lib v1.0.0\n)\n\nreplace github.com/cachegen/cachegen => "+root+"\n")
	sum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
	write("go.sum", string(sum))
	write("sim.go", "package sim\n\nimport \"example.com/lib\"\n\nvar rate = 1.5\n\n//cache:version=1\nfunc Run(x float64) float64 { return lib.Scale(x) * rate }\n")
	if msg := generateErrs(t, Config{Dir: dir}); msg != "" {
		t.Fatal(msg)
	}
	check := func(step string) {
		t.Helper()
		rs, err := Generate(Config{Dir: dir})
		if err != nil {
			t.Fatalf("after %s: %v", step, err)
		}
		for _, r := range rs {
			if stale, err := r.Stale(); len(r.Errs) > 0 || stale || err != nil {
				t.Fatalf("after %s, cachegen -check fails: stale=%v %v %v", step, stale, err, r.Errs)
			}
		}
	}
	refused := func(step, changed string) {
		t.Helper()
		msg := generateErrs(t, Config{Dir: dir})
		if !strings.Contains(msg, "Run changed since version 1 was generated (changed: "+changed+")") {
			t.Fatalf("after %s: %q, want a change of %s", step, msg, changed)
		}
	}

	goCmd("mod", "tidy")
	check("go mod tidy")
	goCmd("get", "example.com/unrelated@v1.0.0")
	check("go get of a module nothing imports")
	goCmd("get", "example.com/graphonly@v1.1.0")
	// No tidy after it: tidy would drop the requirement, and the build
	// would be back at v1.0.0.
	if v, err := exec.Command("go", "-C", dir, "list", "-m", "-f", "{{.Version}}", "example.com/graphonly").Output(); err != nil || strings.TrimSpace(string(v)) != "v1.1.0" {
		t.Fatalf("graphonly is at %q (%v), want the upgrade in effect", v, err)
	}
	check("go get of a module only the module graph reaches")
	write("other.go", "package sim\n\nvar defaultSNRs = []float64{100, 200, 300}\n")
	check("a new variable nobody reads")
	write("other_init.go", "package sim\n\nvar unused int\n\nfunc init() { unused = len(defaultSNRs) }\n")
	check("a new init that sets a variable nobody reads")
	goCmd("mod", "vendor")
	t.Setenv("GOFLAGS", "-mod=vendor")
	check("go mod vendor")
	os.RemoveAll(filepath.Join(dir, "vendor"))
	t.Setenv("GOFLAGS", "-modcacherw") // a workspace takes no -mod
	goCmd("work", "init", ".")
	check("go work init")
	os.Remove(filepath.Join(dir, "go.work"))
	os.Remove(filepath.Join(dir, "go.work.sum"))
	t.Setenv("GOFLAGS", "-mod=mod -modcacherw")

	write("libcopy/go.mod", lib["go.mod"])
	write("libcopy/lib.go", lib["lib.go"])
	goCmd("mod", "edit", "-replace", "example.com/lib=./libcopy")
	check("a replace of the dependency by a copy of its code")

	write("more.go", "package sim\n\nfunc init() { rate = 2.5 }\n")
	refused("a new init that sets what Run reads", "init")
	os.Remove(filepath.Join(dir, "more.go"))
	check("the init removed")
	write("libcopy/lib.go", "package lib\n\nfunc Scale(x float64) float64 { return x * 3 }\n\nfunc Unused() int { return 1 }\n")
	refused("an edit of the dependency's function", "example.com/lib.Scale")
}

// TestUpgradeFlagsWhatChanged upgrades a dependency (testdata/upgrade:
// two versions of a module, and a package of cached functions that use
// it) and checks that exactly the functions whose reached code differs
// are flagged, each naming what changed in it.
func TestUpgradeFlagsWhatChanged(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/upgrade/num.txtar")
	if err != nil {
		t.Fatal(err)
	}
	p := proxy{t.TempDir()}
	versions := map[string]map[string]string{}
	var want []string
	dir := t.TempDir()
	for _, f := range ar.Files {
		switch v, name, ok := strings.Cut(f.Name, "/"); {
		case f.Name == "want":
			want = strings.Fields(string(f.Data))
		case ok:
			if versions[v] == nil {
				versions[v] = map[string]string{}
			}
			versions[v][name] = string(f.Data)
		default:
			os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644)
		}
	}
	for v, files := range versions {
		p.add(t, "example.com/num", v, files)
	}
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(p.dir))
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOFLAGS", "-mod=mod -modcacherw")
	gomod := "module example.com/sim\n\ngo 1.26\n\nrequire example.com/num %s\n"
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte(strings.Replace(gomod, "%s", "v1.0.0", 1)), 0o644)
	if msg := generateErrs(t, Config{Dir: dir}); msg != "" {
		t.Fatal(msg)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte(strings.Replace(gomod, "%s", "v1.1.0", 1)), 0o644)
	var flagged []string
	for _, line := range strings.Split(generateErrs(t, Config{Dir: dir}), "\n") {
		m := regexp.MustCompile(`^sim\.go:\d+:\d+: (\w+) changed since version 1 was generated \(changed: ([^)]*)\)`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a change: %q", line)
		}
		flagged = append(flagged, m[1])
		if wantChanged := map[string]string{"Trace": "example.com/num.Dense.Trace", "Norm": "example.com/num.Vec.Norm", "Par": "example.com/num/go.mod"}[m[1]]; m[2] != wantChanged {
			t.Errorf("%s: changed: %s, want %s", m[1], m[2], wantChanged)
		}
	}
	slices.Sort(flagged)
	if !slices.Equal(flagged, want) {
		t.Fatalf("flagged %q, want exactly %q", flagged, want)
	}
}
