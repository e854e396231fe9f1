package fingerprint

import (
	"cmp"
	"errors"
	"fmt"
	"go/version"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// A module whose source is read: the main module, a module of a go.work,
// or a module that a replace directive points at a local directory.
type localMod struct {
	path   string
	dir    string
	lang   string // the go and godebug lines of its go.mod, which set the language version and runtime defaults
	origin string // for a module that is not a main one: the version required and where its code comes from
	main   bool   // the main module, or a module of the go.work
}

// modules says where the source of an import path is, or at which version
// it is used.
type modules struct {
	local    []localMod                // longest path first
	versions map[string]string         // module path -> "path@version", with its replacement
	source   map[string]module.Version // module path -> where its code comes from, after replacement
	work     string                    // the go and godebug lines of the go.work, if any
}

// findUp returns the first file named name in dir or a parent of dir.
func findUp(dir, name string) (string, bool) {
	for {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// loadModules reads the go.work or go.mod that governs dir, as the go
// command finds it.
func loadModules(dir string) (*modules, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	ms := &modules{versions: map[string]string{}, source: map[string]module.Version{}}
	var mains []*modfile.File
	var replaces []*modfile.Replace
	var replaceBase []string // the directory each replace is relative to
	workReplaces := 0        // how many of replaces are the go.work's
	var workGo *modfile.Go
	work := ""
	switch g := os.Getenv("GOWORK"); g {
	case "off":
	case "":
		work, _ = findUp(dir, "go.work")
	default:
		work = g
	}
	if work != "" {
		data, err := os.ReadFile(work)
		if err != nil {
			return nil, err
		}
		wf, err := modfile.ParseWork(work, data, nil)
		if err != nil {
			return nil, err
		}
		if wf.Go != nil {
			ms.work = "go " + langVersion(wf.Go.Version) + "\n"
			workGo = &modfile.Go{Version: wf.Go.Version}
		}
		for _, g := range wf.Godebug {
			ms.work += "godebug " + g.Key + "=" + g.Value + "\n"
		}
		base := filepath.Dir(work)
		for _, r := range wf.Replace {
			replaces = append(replaces, r)
			replaceBase = append(replaceBase, base)
		}
		workReplaces = len(replaces)
		for _, u := range wf.Use {
			d := u.Path
			if !filepath.IsAbs(d) {
				d = filepath.Join(base, d)
			}
			f, err := readGoMod(d, true)
			if err != nil {
				return nil, err
			}
			mains = append(mains, f)
			ms.local = append(ms.local, localMod{path: f.Module.Mod.Path, dir: d, lang: langOf(f), main: true})
		}
	} else {
		gomod, ok := findUp(dir, "go.mod")
		if !ok {
			return nil, fmt.Errorf("no go.mod in %s or a directory above it", dir)
		}
		f, err := readGoMod(filepath.Dir(gomod), true)
		if err != nil {
			return nil, err
		}
		mains = append(mains, f)
		ms.local = append(ms.local, localMod{path: f.Module.Mod.Path, dir: filepath.Dir(gomod), lang: langOf(f), main: true})
	}
	required := map[string]string{}
	for i, f := range mains {
		for _, r := range f.Require {
			if v, ok := required[r.Mod.Path]; !ok || semver.Compare(r.Mod.Version, v) > 0 {
				required[r.Mod.Path] = r.Mod.Version
			}
		}
		for _, r := range f.Replace {
			replaces = append(replaces, r)
			replaceBase = append(replaceBase, ms.local[i].dir)
		}
	}
	for p, v := range required {
		ms.versions[p] = p + "@" + v
		ms.source[p] = module.Version{Path: p, Version: v}
	}
	// A replace of one version applies when the build selects that
	// version, and wins over a replace of every version; the go.work's
	// replaces win over a module's.
	type replacement struct {
		r    *modfile.Replace
		base string
	}
	// The go.work's replaces come first in replaces, and any of them wins
	// over every replace of a module's go.mod for the same path.
	specific := map[module.Version]replacement{}
	wildcard := map[string]replacement{}
	byWork := map[string]bool{}
	for i, r := range replaces {
		fromWork := i < workReplaces
		if !fromWork && byWork[r.Old.Path] {
			continue
		}
		if fromWork {
			byWork[r.Old.Path] = true
		}
		if r.Old.Version != "" {
			if _, ok := specific[r.Old]; !ok {
				specific[r.Old] = replacement{r, replaceBase[i]}
			}
		} else if _, ok := wildcard[r.Old.Path]; !ok {
			wildcard[r.Old.Path] = replacement{r, replaceBase[i]}
		}
	}
	paths := map[string]bool{}
	for p := range required {
		paths[p] = true
	}
	for p := range wildcard {
		paths[p] = true
	}
	// The build compiles vendor/: the main module's, or the workspace's.
	vendorDir, vendored := "", false
	switch {
	case work != "":
		vendorDir = filepath.Dir(work)
		vendored = vendoring(vendorDir, workGo)
	case len(mains) == 1:
		vendorDir = ms.local[0].dir
		vendored = vendoring(vendorDir, mains[0].Go)
	}
	for p := range paths {
		v := required[p]
		rp, ok := specific[module.Version{Path: p, Version: v}]
		if !ok {
			rp, ok = wildcard[p]
		}
		switch {
		case vendored:
			// The build compiles vendor/: its copy counts, whatever it
			// was copied from.
			delete(ms.versions, p)
			delete(ms.source, p)
			ms.local = append(ms.local, localMod{path: p, dir: filepath.Join(vendorDir, "vendor", filepath.FromSlash(p)), origin: "vendor " + p + "@" + v})
		case !ok:
		case rp.r.New.Version != "":
			ms.versions[p] = cmp.Or(ms.versions[p], p) + "=>" + rp.r.New.Path + "@" + rp.r.New.Version
			ms.source[p] = rp.r.New
		default:
			delete(ms.versions, p) // its code is read
			delete(ms.source, p)
			d := rp.r.New.Path
			if !filepath.IsAbs(d) {
				d = filepath.Join(rp.base, d)
			}
			// Where the code comes from, and, for a replace of one
			// version, which version it replaces.
			m := localMod{path: p, dir: d, origin: p + " => " + rp.r.New.Path}
			if rp.r.Old.Version != "" {
				m.origin = p + "@" + v + " => " + rp.r.New.Path
			}
			if f, err := readGoMod(d, false); err == nil {
				m.lang = langOf(f)
			}
			ms.local = append(ms.local, m)
		}
	}
	slices.SortStableFunc(ms.local, func(a, b localMod) int { return len(b.path) - len(a.path) })
	return ms, nil
}

// vendoring reports whether the go command builds from the vendor
// directory of dir (a main module's, or a workspace's): with -mod=vendor,
// or by default when it holds vendor/modules.txt and the go line says
// go 1.14 or later (1.22 for a workspace, which vendors since then).
func vendoring(dir string, goLine *modfile.Go) bool {
	if _, err := os.Stat(filepath.Join(dir, "vendor", "modules.txt")); err != nil {
		return false
	}
	mode := ""
	for _, flag := range strings.Fields(os.Getenv("GOFLAGS")) {
		if m, ok := strings.CutPrefix(strings.TrimLeft(flag, "-"), "mod="); ok {
			mode = m // the last one counts
		}
	}
	if mode != "" {
		return mode == "vendor"
	}
	return goLine != nil && version.Compare("go"+goLine.Version, "go1.14") >= 0
}

// readGoMod parses the go.mod in dir: all of it for a main module, what
// applies to a dependency (its go line) otherwise.
func readGoMod(dir string, main bool) (*modfile.File, error) {
	p := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	parse := modfile.ParseLax
	if main {
		parse = modfile.Parse
	}
	f, err := parse(p, data, nil)
	if err != nil {
		return nil, err
	}
	if f.Module == nil {
		return nil, fmt.Errorf("%s has no module line", p)
	}
	return f, nil
}

// langOf returns what of a go.mod changes how its code behaves: the
// language version (go 1.26.8 is language 1.26) and the godebug defaults.
func langOf(f *modfile.File) string {
	var b strings.Builder
	if f.Go != nil {
		b.WriteString("go " + langVersion(f.Go.Version) + "\n")
	}
	for _, g := range f.Godebug {
		b.WriteString("godebug " + g.Key + "=" + g.Value + "\n")
	}
	return b.String()
}

// localModule returns the local module whose path is path, or nil.
func (ms *modules) localModule(path string) *localMod {
	for i := range ms.local {
		if ms.local[i].path == path {
			return &ms.local[i]
		}
	}
	return nil
}

// errNotLocal is returned for an import path whose source is not read.
var errNotLocal = errors.New("not in a module whose source is read")

// locate returns the local module of an import path and its directory.
func (ms *modules) locate(path string) (*localMod, string, error) {
	for i := range ms.local {
		m := &ms.local[i]
		rest, ok := strings.CutPrefix(path, m.path)
		if !ok || rest != "" && rest[0] != '/' {
			continue
		}
		dir := filepath.Join(m.dir, filepath.FromSlash(rest))
		// A directory with a go.mod of its own, below the module's root,
		// belongs to another module.
		for d := dir; d != m.dir && strings.HasPrefix(d, m.dir); d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				return nil, "", errNotLocal
			}
		}
		return m, dir, nil
	}
	return nil, "", errNotLocal
}

// version returns "path@version" of the module that provides an import
// path that is not local.
func (ms *modules) version(path string) string {
	best := ""
	for p := range ms.versions {
		if (path == p || strings.HasPrefix(path, p+"/")) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return path + "@unknown"
	}
	return ms.versions[best]
}

// isStd reports whether an import path that is not local names a package
// of the standard library: its first element has no dot.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// langVersion returns the language version of a go line's version: its
// major and minor numbers, without a patch or a release candidate.
func langVersion(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i]
	}
	return parts[0] + "." + minor
}
