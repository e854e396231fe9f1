package fingerprint

import (
	"errors"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"
)

// A Checker compares the parts a generated wrapper records with the
// source at hand: the modules of the go.work, or the module, that holds a
// directory. It reads only the packages of the function's own module that
// hold the declarations the record names, so a check costs about what
// parsing those few files costs, and never depends on where the go
// command would find other modules (a module cache, vendor/, a replace).
//
// What it compares: each declaration of the function's own module that
// the record names, digested again, and the module's go and godebug
// lines, and the go.work's godebug lines. What it cannot see: code of
// other modules and of the standard library (a record keeps one part per
// such package, which only cachegen can compute again), and a declaration
// the function comes to reach without any declaration it reached
// changing (a new init that sets what it reads, say). cachegen and
// cachegen -check see both. A Checker is safe for concurrent use.
type Checker struct {
	mods []module // the main module, or the go.work's modules, longest path first
	work string   // the go.work, if any

	mu   sync.Mutex
	fset *token.FileSet
	pkgs map[string]*Package // by directory
}

type module struct{ path, dir string }

// NewChecker returns a checker of the source of the go.work or the module
// that holds dir, as the go command finds them, or an error when there is
// none.
func NewChecker(dir string) (*Checker, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Checker{fset: token.NewFileSet(), pkgs: map[string]*Package{}}
	switch g := os.Getenv("GOWORK"); g {
	case "off":
	case "":
		c.work, _ = findUp(dir, "go.work")
	default:
		c.work = g
	}
	if c.work != "" {
		data, err := os.ReadFile(c.work)
		if err != nil {
			return nil, err
		}
		wf, err := modfile.ParseWork(c.work, data, nil)
		if err != nil {
			return nil, err
		}
		for _, u := range wf.Use {
			d := u.Path
			if !filepath.IsAbs(d) {
				d = filepath.Join(filepath.Dir(c.work), d)
			}
			if p := modulePath(filepath.Join(d, "go.mod")); p != "" {
				c.mods = append(c.mods, module{p, d})
			}
		}
	} else {
		gomod, ok := findUp(dir, "go.mod")
		if !ok {
			return nil, os.ErrNotExist
		}
		if p := modulePath(gomod); p != "" {
			c.mods = append(c.mods, module{p, filepath.Dir(gomod)})
		}
	}
	if len(c.mods) == 0 {
		return nil, os.ErrNotExist
	}
	slices.SortFunc(c.mods, func(a, b module) int { return len(b.path) - len(a.path) })
	return c, nil
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

func modulePath(gomod string) string {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	return modfile.ModulePath(data)
}

// A Result is what Check found.
type Result struct {
	AtHand  bool     // the source of the function's package is at hand: only then is anything compared
	PkgPath string   // the function's package
	Name    string   // the function: "F", or "T.M"
	Dir     string   // the directory of its package
	Changed []string // the names of the parts whose digests differ now, sorted; none when the source matches
}

// Check compares the parts of the cached function fn (qualified:
// "example.com/sim.Run", "example.com/sim.Model.Fit") with the source at
// hand.
func (c *Checker) Check(fn string, parts []string) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	mod, pkgPath, name, ok := c.resolve(fn, parts)
	if !ok {
		return Result{}
	}
	r := Result{AtHand: true, PkgPath: pkgPath, Name: name, Dir: c.dirOf(mod, pkgPath)}
	workSeen, debugSeen := false, false
	for _, part := range parts {
		pname, digest, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		switch {
		case IsGroup(pname):
		case pname == "go.mod":
			if ModFilePart(filepath.Join(mod.dir, "go.mod"), c.work) != part {
				r.Changed = append(r.Changed, pname)
			}
		case pname == "godebug":
			debugSeen = true
			if DebugPart(c.pkg(r.Dir, pkgPath)) != part {
				r.Changed = append(r.Changed, pname)
			}
		case strings.HasSuffix(pname, "init-order"):
			// The order of inits is cachegen's to check: it names which
			// of them count.
		case pname == "go.work":
			workSeen = true
			if c.work == "" || WorkFilePart(c.work) != part {
				r.Changed = append(r.Changed, pname)
			}
		default:
			if !c.matches(mod, pkgPath, pname, digest) {
				r.Changed = append(r.Changed, pname)
			}
		}
	}
	if !workSeen && c.work != "" && WorkFilePart(c.work) != "" {
		r.Changed = append(r.Changed, "go.work")
	}
	if !debugSeen && DebugPart(c.pkg(r.Dir, pkgPath)) != "" {
		r.Changed = append(r.Changed, "godebug")
	}
	slices.Sort(r.Changed)
	return r
}

// resolve finds the local module and the package of fn: the package path
// may hold dots in its last element, so each reading is tried, and the one
// whose function the parts name wins.
func (c *Checker) resolve(fn string, parts []string) (module, string, string, bool) {
	slash := strings.LastIndex(fn, "/") + 1
	for i := slash; i < len(fn); i++ {
		if fn[i] != '.' {
			continue
		}
		pkgPath, name := fn[:i], fn[i+1:]
		if !slices.ContainsFunc(parts, func(p string) bool { return strings.HasPrefix(p, name+":") }) {
			continue
		}
		for _, m := range c.mods {
			if pkgPath == m.path || strings.HasPrefix(pkgPath, m.path+"/") {
				return m, pkgPath, name, true
			}
		}
	}
	return module{}, "", "", false
}

func (c *Checker) dirOf(m module, pkgPath string) string {
	return filepath.Join(m.dir, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkgPath, m.path), "/")))
}

func (c *Checker) pkg(dir, importPath string) *Package {
	if pk, ok := c.pkgs[dir]; ok {
		return pk
	}
	pk := ReadPackage(c.fset, importPath, dir)
	c.pkgs[dir] = pk
	return pk
}

// matches reports whether the declaration a part names, in fn's package
// or (by a path relative to the module) in another package of its module,
// has the digest the part records. A name read both ways matches when
// either reading does.
func (c *Checker) matches(m module, pkgPath, name, digest string) bool {
	if c.pkg(c.dirOf(m, pkgPath), pkgPath).declares(name, digest) {
		return true
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		rel, decl := name[:i], name[i+1:]
		p := m.path + "/" + rel
		if c.pkg(c.dirOf(m, p), p).declares(decl, digest) {
			return true
		}
	}
	return false
}

// declares reports whether the package declares name with that digest;
// "init" stands for any of its inits.
func (pk *Package) declares(name, digest string) bool {
	if name != "init" {
		return pk.Digest(name) == digest
	}
	for _, n := range pk.inits {
		if pk.Digest(n) == digest {
			return true
		}
	}
	return false
}

// ModFilePart returns the part "go.mod:…" for the module whose go.mod is
// at path, built in the workspace of the go.work at work ("" when none):
// its language version (the semantics of its code), the version whose
// GODEBUG defaults a program it is the main module of gets (its own, or
// the go.work's in a workspace), and its godebug lines; "" when the file
// cannot be read.
func ModFilePart(path, work string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return Part("go.mod", "unreadable: "+err.Error())
	}
	lang := ""
	if f.Go != nil {
		lang = LangVersion(f.Go.Version)
	}
	defaults := lang
	if work != "" {
		if data, err := os.ReadFile(work); err == nil {
			if wf, err := modfile.ParseWork(work, data, nil); err == nil && wf.Go != nil {
				defaults = LangVersion(wf.Go.Version)
			}
		}
	}
	text := "go " + lang + "\ngodebug defaults " + defaults + "\n"
	for _, g := range f.Godebug {
		text += "godebug " + g.Key + "=" + g.Value + "\n"
	}
	return Part("go.mod", text)
}

// DebugPart returns the part "godebug:…" of a main package: the
// //go:debug lines of its files, which set its program's GODEBUG
// defaults; "" for another package, or one without such lines.
func DebugPart(pk *Package) string {
	if pk.Name != "main" {
		return ""
	}
	var lines []string
	for _, f := range pk.fileInfos {
		lines = append(lines, f.debug...)
	}
	if len(lines) == 0 {
		return ""
	}
	slices.Sort(lines)
	return Part("godebug", strings.Join(slices.Compact(lines), "\n"))
}

// WorkFilePart returns the part "go.work:…" for the go.work at path: its
// godebug lines, or "" when it has none (a workspace counts only through
// what it changes in the code).
func WorkFilePart(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	wf, err := modfile.ParseWork(path, data, nil)
	if err != nil || len(wf.Godebug) == 0 {
		return ""
	}
	text := ""
	for _, g := range wf.Godebug {
		text += "godebug " + g.Key + "=" + g.Value + "\n"
	}
	return Part("go.work", text)
}

// ErrChanged is wrapped by CheckCall's report of edited code.
var ErrChanged = errors.New("changed since cachegen generated its wrapper")

// CheckCall compares what the wrapper of a call of fn records (its
// version, the fingerprint code and, comma-separated, the parts that make
// it) with the source at hand. compared reports whether there was
// anything to compare: fn's source at hand, and parts that make code. err,
// wrapping ErrChanged, names what changed and the fix.
func (c *Checker) CheckCall(fn string, version int, code, parts string) (compared bool, err error) {
	if code == "" || parts == "" {
		return false, nil
	}
	ps := strings.Split(parts, ",")
	if Of(ps).Sum != code {
		return false, nil // parts that do not make the code: nothing to compare
	}
	r := c.Check(fn, ps)
	if !r.AtHand {
		return false, nil
	}
	if len(r.Changed) == 0 {
		return true, nil
	}
	cwd, _ := os.Getwd()
	return true, fmt.Errorf("%s %w (changed: %s): bump //cache:version=%d to %d and run go generate, or, only if its results stay the same, record the change: %s",
		r.Name, ErrChanged, ChangedList(r.Changed), version, version+1, AcceptCommand(r.Dir, r.PkgPath, cwd, r.Name))
}
