package reach

import (
	"bufio"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/types"
	"os"
	"path/filepath"

	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"

	"github.com/cachegen/cachegen/internal/fingerprint"
)

// A typedView is a package's syntax with its types: for a package the
// caller type-checked, its own; for another package of the build, its
// files type-checked here, against the export data of what it imports
// (which the go command compiled for this build).
type typedView struct {
	info   *types.Info
	failed bool                // the check reported errors: a name it left unresolved is read from syntax
	own    bool                // the checked files are the fingerprint.Package's own
	files  map[string]bool     // base names of the checked files, when own
	nodes  map[nodeAt]ast.Node // the caller's declarations, by file and offset, when not own
}

type nodeAt struct {
	file string
	off  int
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// checkRoots parses and type-checks the packages the patterns matched,
// each after those of them it imports, which it sees as their source says
// (the others, as their export data does), and keeps their syntax, types
// and errors in them as go/packages would.
func (p *Program) checkRoots(output string) {
	isRoot := map[string]bool{}
	for _, r := range p.roots {
		isRoot[r.PkgPath] = true
	}
	done := map[string]bool{}
	var check func(r *packages.Package)
	check = func(r *packages.Package) {
		if done[r.PkgPath] {
			return
		}
		done[r.PkgPath] = true
		for _, imp := range sortedImports(r) {
			if isRoot[imp.PkgPath] {
				check(imp)
			}
		}
		p.checkRoot(r, output)
	}
	for _, r := range p.roots {
		check(r)
	}
}

// checkRoot parses and type-checks one package the patterns matched.
func (p *Program) checkRoot(r *packages.Package, output string) {
	r.Fset = p.fset
	if len(r.CompiledGoFiles) == 0 {
		return
	}
	for _, name := range r.CompiledGoFiles {
		src, err := os.ReadFile(name)
		if err != nil {
			r.Errors = append(r.Errors, packages.Error{Msg: err.Error(), Kind: packages.ParseError})
			continue
		}
		mode := parser.AllErrors | parser.ParseComments
		if filepath.Base(name) == output && fingerprint.IsGenerated(src) {
			mode = parser.PackageClauseOnly
		}
		f, err := parser.ParseFile(p.fset, name, src, mode)
		if f != nil {
			r.Syntax = append(r.Syntax, f)
		}
		var list scanner.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				r.Errors = append(r.Errors, packages.Error{Pos: e.Pos.String(), Msg: e.Msg, Kind: packages.ParseError})
			}
		} else if err != nil {
			r.Errors = append(r.Errors, packages.Error{Msg: err.Error(), Kind: packages.ParseError})
		}
	}
	r.TypesInfo = &types.Info{
		Types:        map[ast.Expr]types.TypeAndValue{},
		Defs:         map[*ast.Ident]types.Object{},
		Uses:         map[*ast.Ident]types.Object{},
		Implicits:    map[ast.Node]types.Object{},
		Instances:    map[*ast.Ident]types.Instance{},
		Scopes:       map[ast.Node]*types.Scope{},
		Selections:   map[*ast.SelectorExpr]*types.Selection{},
		FileVersions: map[*ast.File]string{},
	}
	conf := types.Config{
		Importer: p.importer(r),
		Error: func(err error) {
			te, _ := err.(types.Error)
			pos := ""
			if te.Fset != nil {
				pos = te.Fset.Position(te.Pos).String()
			}
			r.Errors = append(r.Errors, packages.Error{Pos: pos, Msg: te.Msg, Kind: packages.TypeError})
		},
		Sizes: r.TypesSizes,
	}
	if r.Module != nil && r.Module.GoVersion != "" {
		conf.GoVersion = "go" + r.Module.GoVersion
	}
	r.Types, _ = conf.Check(r.PkgPath, p.fset, r.Syntax, r.TypesInfo)
	r.IllTyped = len(r.Errors) > 0
	p.typed[r.PkgPath] = r
	// Its importers see it as its source says.
	p.exportsOrInit()[r.PkgPath] = r.Types
}

// importer returns the importer of a package: each import as the build
// resolved it, from the types of a package the patterns matched or from
// export data.
func (p *Program) importer(meta *packages.Package) types.Importer {
	return importerFunc(func(path string) (*types.Package, error) {
		if path == "unsafe" {
			return types.Unsafe, nil
		}
		dep := meta.Imports[path]
		if dep == nil {
			return nil, fmt.Errorf("%s does not import %s", meta.PkgPath, path)
		}
		return p.export(dep)
	})
}

func (p *Program) exportsOrInit() map[string]*types.Package {
	if p.exports == nil {
		p.exports = map[string]*types.Package{}
	}
	return p.exports
}

// view returns the typed view of a package, checking it once; a view
// without info when the package cannot be checked here (a package this
// build does not compile, or one that cgo rewrites).
func (p *Program) view(pk *pkg) *typedView {
	if pk.types != nil {
		return pk.types
	}
	v := &typedView{}
	pk.types = v
	if t := p.typed[pk.path]; t != nil {
		v.info = t.TypesInfo
		for _, e := range t.Errors {
			if e.Kind == packages.TypeError {
				v.failed = true
			}
		}
		v.nodes = map[nodeAt]ast.Node{}
		for _, f := range t.Syntax {
			tf := t.Fset.File(f.Pos())
			if tf == nil {
				continue
			}
			base := filepath.Base(tf.Name())
			at := func(n ast.Node) { v.nodes[nodeAt{base, tf.Offset(n.Pos())}] = n }
			for _, d := range f.Decls {
				at(d)
				if gd, ok := d.(*ast.GenDecl); ok {
					for _, s := range gd.Specs {
						at(s)
					}
				}
			}
		}
		return v
	}
	meta := pk.meta
	if meta == nil || len(meta.CompiledGoFiles) == 0 || pk.std {
		// The standard library is read from syntax alone: which of its
		// packages a build compiles depends on the platform.
		return v
	}
	var files []*ast.File
	v.files = map[string]bool{}
	for _, name := range meta.CompiledGoFiles {
		if filepath.Dir(name) != pk.src.Dir {
			return &typedView{} // rewritten by cgo: read from syntax
		}
		f := pk.src.File(filepath.Base(name))
		if f == nil {
			v.failed = true // a file cachegen generated: its names are read from syntax
			continue
		}
		files = append(files, f)
		v.files[filepath.Base(name)] = true
	}
	conf := types.Config{
		Importer: p.importer(meta),
		Error:    func(error) { v.failed = true },
		Sizes:    meta.TypesSizes,
	}
	if meta.Module != nil && meta.Module.GoVersion != "" {
		conf.GoVersion = "go" + meta.Module.GoVersion
	}
	v.info = &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf.Check(pk.path, p.fset, files, v.info)
	v.own = true
	return v
}

// export returns the types of a package of the build, from the export
// data the go command compiled for it.
func (p *Program) export(dep *packages.Package) (*types.Package, error) {
	if t, ok := p.exportsOrInit()[dep.PkgPath]; ok && (t.Complete() || p.typed[dep.PkgPath] != nil) {
		return t, nil
	}
	if dep.ExportFile == "" {
		return nil, fmt.Errorf("no export data for %s", dep.PkgPath)
	}
	f, err := os.Open(dep.ExportFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := gcexportdata.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	return gcexportdata.Read(r, p.fset, p.exports, dep.PkgPath)
}

// node returns the typed syntax of a variant, or nil when it is to be read
// from its syntax alone: it is in a file that some builds exclude, or the
// package could not be checked.
func (v *typedView) node(p *Program, variant *fingerprint.Variant) ast.Node {
	if v.info == nil || variant.Node == nil || variant.File.Constrained {
		return nil
	}
	if v.own {
		if v.files[variant.File.Name] {
			return variant.Node
		}
		return nil
	}
	pos := p.fset.Position(variant.Node.Pos())
	return v.nodes[nodeAt{variant.File.Name, pos.Offset}]
}
