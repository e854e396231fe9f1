// Package reach finds the code a cached function can reach, with types,
// and makes its fingerprint from it (see internal/fingerprint for what a
// fingerprint is made of and how a declaration is digested).
//
// It reads the program as the go command resolved it for this build (each
// package's files, its module, its imports: one go list), and each package
// it reaches from its source, wherever that is: the main module, a module
// cache, vendor/, a replaced or workspace directory, GOROOT. So a
// fingerprint is made of what the code is, never of how it was found.
//
// What a function reaches, transitively:
//
//   - every declaration (function, method, type, constant, variable) its
//     code names, and every named type of a value it computes with;
//   - the methods it can call: static calls and method values, and each
//     interface call (in its own code, or in the standard library's: fmt
//     calling String) resolved by name against every runtime type (a type
//     of a value the code puts in an interface, and what such a value
//     holds), as rapid type analysis does; where the code calls methods by
//     reflection (reflect.Value.Method, MethodByName), every exported
//     method of every runtime type;
//   - for a function without a body, the code its //go:linkname pulls, or
//     that another package's directive pushes onto it;
//   - an init function, or the initialiser of a variable it does not read,
//     of a package the program imports, when that code (and what it
//     reaches) may write a variable the function reaches: an assignment, an
//     increment, its address taken, a pointer method called on it, or any
//     use of a variable that holds references (a map, a slice, a pointer);
//   - the declared keys and conversions its wrappers call.
//
// Declarations in files whose build constraints exclude them from some
// builds (a //go:build line, a _GOOS or _GOARCH suffix) are read from
// their syntax alone, resolving names as the file's imports and the
// package declare them and counting every x.M as a call of a method M by
// name, so that the same fingerprint holds on every platform and under
// every tag set; the others are read with their types.
//
// Not parts: the packages that implement the language itself (runtime,
// its internal packages, unsafe: they implement what the spec defines),
// the packages of the cache itself that a program imports only to use the
// cache, code that nothing the function reaches calls, and module
// versions, go.mod requirements, vendor/, replace paths and workspace
// layout, which say where code was found, not what it is.
package reach

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/packages"

	"github.com/cachegen/cachegen/internal/fingerprint"
)

// A Program is the packages of one build, read as a fingerprint reaches
// them, each once. It is safe for concurrent use.
type Program struct {
	mu        sync.Mutex
	fset      *token.FileSet
	graph     map[string]*packages.Package // every package of the build, by import path
	typed     map[string]*packages.Package // of roots, those type-checked, by import path
	goroot    string                       // GOROOT/src, with a trailing separator
	work      string                       // the go.work part, or ""
	workFile  string                       // the go.work, or ""
	pkgs      map[string]*pkg              // read, by import path; nil when not found
	pushes    map[string][]key             // functions whose code //go:linkname pushes onto a target, by target
	inits     map[key]*set                 // what an init or an initialiser reaches, by its declaration
	imps      map[string]map[string]bool   // every package a package imports, transitively, by import path
	exports   map[string]*types.Package    // export data read, by import path
	paramMemo map[paramAt]bool             // whether a function may write through a parameter
	roots     []*packages.Package          // the packages the patterns matched, with syntax and types
	calls     map[key][]key                // by function, the runtime types its callers give it (see callerTypes)
	dir       string                       // where the build was listed from
	modules   []listedModule               // the build list, once listed (see moduleList)
}

// A key names a declaration: its package's import path and its name, as
// fingerprint.Package names it ("F", "T", "T.M", "init").
type key struct{ pkg, name string }

func (k key) String() string { return k.pkg + "." + k.name }

// Load reads the build of the packages that patterns match, from dir,
// with the build tags tags (comma-separated): the import graph and where
// each package's files are, in one go list. The packages patterns match
// (Roots) are parsed and type-checked from their source, as
// golang.org/x/tools/go/packages would with NeedSyntax and NeedTypesInfo,
// against the export data of what they import; a file of theirs named
// output that cachegen wrote is read as its package clause alone, so that
// stale wrappers that no longer compile do not stop their regeneration.
func Load(dir string, patterns []string, tags, output string) (*Program, error) {
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedDeps | packages.NeedModule | packages.NeedExportFile | packages.NeedTypesSizes,
		Dir: dir,
	}
	if tags != "" {
		cfg.BuildFlags = []string{"-tags=" + tags}
	}
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	roots, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	p := &Program{fset: token.NewFileSet(), graph: map[string]*packages.Package{}, typed: map[string]*packages.Package{},
		pkgs: map[string]*pkg{}, inits: map[key]*set{}, imps: map[string]map[string]bool{}, paramMemo: map[paramAt]bool{},
		roots: roots, dir: dir}
	packages.Visit(roots, nil, func(pk *packages.Package) { p.graph[pk.PkgPath] = pk })
	p.goroot = goroot(dir, p.graph)
	if work := goEnv(dir, "GOWORK"); work != "" && work != "off" {
		p.workFile = work
		p.work = fingerprint.WorkFilePart(work)
	}
	p.checkRoots(output)
	return p, nil
}

// Roots returns the packages the patterns matched, with their syntax and
// types.
func (p *Program) Roots() []*packages.Package { return p.roots }

// goroot returns GOROOT/src, with a trailing separator: from where the
// build found a standard package, else from the go command.
func goroot(dir string, graph map[string]*packages.Package) string {
	for _, path := range []string{"errors", "fmt", "sync", "os"} {
		if pk := graph[path]; pk != nil && pk.Module == nil {
			if d := pkgDir(pk); d != "" {
				return strings.TrimSuffix(d, filepath.FromSlash(path)) // ends in a separator
			}
		}
	}
	if r := goEnv(dir, "GOROOT"); r != "" {
		return filepath.Join(r, "src") + string(filepath.Separator)
	}
	return ""
}

// goEnv returns a go env variable as the go command sees it from dir.
func goEnv(dir, name string) string {
	cmd := exec.Command("go", "env", name)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// pkgDir returns the directory of a package of the build.
func pkgDir(pk *packages.Package) string {
	for _, files := range [][]string{pk.GoFiles, pk.IgnoredFiles, pk.OtherFiles} {
		if len(files) > 0 {
			return filepath.Dir(files[0])
		}
	}
	return ""
}

// A pkg is a package as the analysis reads it: its source, and what it
// found of its declarations.
type pkg struct {
	path    string
	meta    *packages.Package // nil for a package this build does not compile (imported by another platform's files)
	src     *fingerprint.Package
	std     bool
	modPath string // "" in the standard library
	modGo   string // its module's go version
	decls   map[string]*decl
	names   map[string]string // import path -> the name its package declares, as files import it
	types   *typedView        // nil until needed; see typecheck.go
}

// pkg returns the package of an import path, read once; nil when its
// source cannot be found.
func (p *Program) pkg(path string) *pkg {
	if pk, ok := p.pkgs[path]; ok {
		return pk
	}
	pk := &pkg{path: path, meta: p.graph[path], decls: map[string]*decl{}, names: map[string]string{}}
	dir := ""
	if pk.meta != nil {
		dir = pkgDir(pk.meta)
		if m := pk.meta.Module; m != nil {
			pk.modPath, pk.modGo = m.Path, m.GoVersion
		}
	} else {
		dir, pk.modPath, pk.modGo = p.locate(path)
	}
	if dir == "" {
		p.pkgs[path] = nil
		return nil
	}
	pk.std = p.std(path)
	pk.src = fingerprint.ReadPackage(p.fset, path, dir)
	p.pkgs[path] = pk
	return pk
}

// std reports whether a package is of the standard library: the build
// found it in GOROOT, or, for a package the build does not compile, its
// path says so.
func (p *Program) std(path string) bool {
	if meta := p.graph[path]; meta != nil {
		return meta.Module == nil && p.goroot != "" && strings.HasPrefix(pkgDir(meta), p.goroot)
	}
	return isStd(path)
}

// locate finds the source of a package this build does not compile: in
// GOROOT, or in the directory of a module of the build whose path is a
// prefix of it.
func (p *Program) locate(importPath string) (dir, modPath, modGo string) {
	if isStd(importPath) {
		if p.goroot == "" {
			return "", "", ""
		}
		return filepath.Join(p.goroot, filepath.FromSlash(importPath)), "", ""
	}
	best := ""
	var bestPkg *packages.Package
	for _, pk := range p.graph {
		m := pk.Module
		if m == nil || len(m.Path) <= len(best) || importPath != m.Path && !strings.HasPrefix(importPath, m.Path+"/") {
			continue
		}
		best, bestPkg = m.Path, pk
	}
	if bestPkg == nil {
		// A module no package of this build is from (only another
		// platform's or tag set's files import it): where the go command
		// would find it.
		for _, m := range p.moduleList() {
			if (importPath == m.Path || strings.HasPrefix(importPath, m.Path+"/")) && len(m.Path) > len(best) && m.Dir != "" {
				best, dir, modGo = m.Path, filepath.Join(m.Dir, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(importPath, m.Path), "/"))), m.GoVersion
			}
		}
		return dir, best, modGo
	}
	// The module's root, from where the build found one of its packages.
	d := pkgDir(bestPkg)
	rel := strings.TrimPrefix(strings.TrimPrefix(bestPkg.PkgPath, best), "/")
	root := strings.TrimSuffix(d, filepath.FromSlash(rel))
	return filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(importPath, best), "/"))), best, bestPkg.Module.GoVersion
}

// A listedModule is a module of the build list, as go list -m shows it.
type listedModule struct {
	Path, Dir, GoVersion string
	Replace              *listedModule
}

// moduleList returns, once, the modules of the build list with their
// directories, from go list -m.
func (p *Program) moduleList() []listedModule {
	if p.modules != nil {
		return p.modules
	}
	p.modules = []listedModule{}
	cmd := exec.Command("go", "list", "-m", "-e", "-json", "all")
	cmd.Dir = p.dir
	out, err := cmd.Output()
	if err != nil {
		return p.modules
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m listedModule
		if dec.Decode(&m) != nil {
			break
		}
		if m.Replace != nil {
			m.Dir, m.GoVersion = m.Replace.Dir, m.Replace.GoVersion
		}
		p.modules = append(p.modules, m)
	}
	return p.modules
}

// isStd reports whether an import path is of the standard library: its
// first element has no dot.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// languageImpl reports whether a package implements the language itself
// (allocation, maps, channels, scheduling, the layout of types), as the
// compiler does: what it computes is what the spec defines, so neither
// its code nor the toolchain's version counts.
func languageImpl(path string) bool {
	switch path {
	case "runtime", "unsafe", "internal/abi", "internal/goarch", "internal/goos", "internal/cpu",
		"internal/race", "internal/msan", "internal/asan":
		return true
	}
	return strings.HasPrefix(path, "runtime/internal/") || strings.HasPrefix(path, "internal/runtime/")
}

// Of returns the fingerprint of the function name ("F", or "T.M") of the
// package pkgPath, together with the functions its wrappers call (declared
// keys and conversions, each "<import path>.<name>"), and, for each part
// that stands for the declarations of another module or of the standard
// library, those declarations' own parts ("<import path>.<name>:…").
func (p *Program) Of(pkgPath, name string, uses ...string) (fingerprint.Fingerprint, map[string][]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	root := p.pkg(pkgPath)
	if root == nil || p.graph[pkgPath] == nil {
		return fingerprint.Fingerprint{}, nil, fmt.Errorf("package %s is not part of this build", pkgPath)
	}
	if !root.src.Has(name) {
		return fingerprint.Fingerprint{}, nil, fmt.Errorf("package %s (%s) declares no %s", pkgPath, root.src.Dir, name)
	}
	roots := []key{{pkgPath, name}}
	for _, u := range uses {
		k, err := p.qualified(u)
		if err != nil {
			return fingerprint.Fingerprint{}, nil, err
		}
		roots = append(roots, k)
	}
	s := p.reachWithInits(roots, p.importClosure(pkgPath))

	own := root.modPath
	var parts []string
	groups := map[string][]string{} // by group part name: "std", or "<module path>/..."
	loops := map[string]bool{}      // groups whose module's go line counts
	for _, k := range s.order {
		pk := p.pkgs[k.pkg]
		if pk == nil {
			continue
		}
		d := pk.src.Digest(k.name)
		if d == "" {
			continue
		}
		name := fingerprint.DisplayName(k.name)
		switch {
		case k.pkg == pkgPath:
			parts = append(parts, name+":"+d)
		case own != "" && pk.modPath == own:
			parts = append(parts, strings.TrimPrefix(k.pkg, own+"/")+"."+name+":"+d)
		case pk.std || pk.modPath == "":
			groups[fingerprint.StdPart] = append(groups[fingerprint.StdPart], k.pkg+"."+name+":"+d)
		default:
			g := pk.modPath + fingerprint.ModuleSuffix
			if !loops[g] && p.decl(pk, k.name).loopCapture {
				// The go line of the module sets the semantics of its
				// loops.
				loops[g] = true
				groups[g] = append(groups[g], fingerprint.Part(pk.modPath+"/go.mod", "go "+fingerprint.Semantics(pk.modGo)))
			}
			groups[g] = append(groups[g], k.pkg+"."+name+":"+d)
		}
	}
	// The order in which the counted inits and initialisers that call a
	// function run, where a package has two: swapping them can change
	// what they leave.
	effects := map[string][]key{}
	for _, k := range s.order {
		if pk := p.pkgs[k.pkg]; pk != nil && effectful(pk, k.name) {
			effects[k.pkg] = append(effects[k.pkg], k)
		}
	}
	for path, ks := range effects {
		if len(ks) < 2 {
			continue
		}
		pk := p.pkgs[path]
		slices.SortFunc(ks, func(a, b key) int { return cmp.Compare(pk.src.Seq(a.name), pk.src.Seq(b.name)) })
		var names []string
		for _, k := range ks {
			names = append(names, k.name)
		}
		text := strings.Join(names, "\n")
		switch {
		case path == pkgPath:
			parts = append(parts, fingerprint.Part("init-order", text))
		case own != "" && pk.modPath == own:
			parts = append(parts, fingerprint.Part(strings.TrimPrefix(path, own+"/")+".init-order", text))
		default:
			g := fingerprint.StdPart
			if !pk.std && pk.modPath != "" {
				g = pk.modPath + fingerprint.ModuleSuffix
			}
			groups[g] = append(groups[g], fingerprint.Part(path+".init-order", text))
		}
	}
	full := map[string][]string{}
	for name, entries := range groups {
		slices.Sort(entries)
		part := fingerprint.Part(name, strings.Join(entries, "\n"))
		parts = append(parts, part)
		full[part] = entries
	}
	if meta := p.graph[pkgPath]; meta.Module != nil && meta.Module.GoMod != "" {
		if part := fingerprint.ModFilePart(meta.Module.GoMod, p.workFile); part != "" {
			parts = append(parts, part)
		}
	}
	if part := fingerprint.DebugPart(root.src); part != "" {
		parts = append(parts, part)
	}
	if p.work != "" {
		parts = append(parts, p.work)
	}
	return fingerprint.Of(parts), full, nil
}

// effectful reports whether a declaration runs when its package is
// initialised, for more than its value: an init, or a variable whose
// initialiser calls a function.
func effectful(pk *pkg, name string) bool {
	if strings.HasPrefix(name, "init#") {
		return true
	}
	for _, v := range pk.src.Variants(name) {
		if spec, ok := v.Node.(*ast.ValueSpec); ok && v.Var && calls(spec.Values) {
			return true
		}
	}
	return false
}

// qualified resolves a qualified function name, "example.com/sim.norm" or
// "example.com/sim.Key.Norm", against the packages of the build.
func (p *Program) qualified(q string) (key, error) {
	slash := strings.LastIndex(q, "/") + 1
	for i := slash; i < len(q); i++ {
		if q[i] != '.' {
			continue
		}
		if pk := p.pkg(q[:i]); pk != nil && pk.src.Has(q[i+1:]) {
			return key{q[:i], q[i+1:]}, nil
		}
	}
	return key{}, fmt.Errorf("%s names no function of this build", q)
}

// importClosure returns the packages outside the standard library whose
// initialisation runs before a function of pkgPath can be called: pkgPath
// and every package it imports, transitively, as their files say whatever
// their build constraints, but the packages of the cache itself and what
// only they import.
func (p *Program) importClosure(pkgPath string) []string {
	seen := map[string]bool{}
	var out []string
	var visit func(path string)
	visit = func(path string) {
		if seen[path] || fingerprint.CacheItself(path) || languageImpl(path) || p.std(path) {
			return
		}
		seen[path] = true
		pk := p.pkg(path)
		if pk == nil {
			return
		}
		out = append(out, path)
		for _, imp := range pk.src.Imports() {
			visit(imp)
		}
	}
	visit(pkgPath)
	slices.Sort(out)
	return out
}

func sortedImports(pk *packages.Package) []*packages.Package {
	out := make([]*packages.Package, 0, len(pk.Imports))
	for _, imp := range pk.Imports {
		out = append(out, imp)
	}
	slices.SortFunc(out, func(a, b *packages.Package) int { return cmp.Compare(a.PkgPath, b.PkgPath) })
	return out
}

// imports returns the packages outside the standard library that the
// package path imports, transitively, as their files say whatever their
// build constraints.
func (p *Program) imports(path string) map[string]bool {
	if m, ok := p.imps[path]; ok {
		return m
	}
	m := map[string]bool{}
	p.imps[path] = m
	if pk := p.pkg(path); pk != nil && !pk.std {
		for _, imp := range pk.src.Imports() {
			if p.std(imp) {
				continue
			}
			m[imp] = true
			for q := range p.imports(imp) {
				m[q] = true
			}
		}
	}
	return m
}

// baseName is path's last element, as a package is most often named.
func baseName(importPath string) string {
	n := path.Base(importPath)
	if strings.HasPrefix(n, "v") && len(n) > 1 && strings.Trim(n[1:], "0123456789") == "" && strings.Contains(importPath, "/") {
		n = path.Base(path.Dir(importPath)) // math/rand/v2 is rand
	}
	if i := strings.IndexAny(n, ".-"); i > 0 {
		n = n[:i] // gopkg.in/yaml.v3 is yaml
	}
	return n
}
