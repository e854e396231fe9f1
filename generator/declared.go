package generator

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Declared keys and conversions: functions a user annotates so that types
// they cannot change become keyable or storable.
//
//	//cache:key
//	func keyMatrix(m mat.Matrix) *mat.Dense { return mat.DenseCopyOf(m) }
//
// keys a parameter of type mat.Matrix by the *mat.Dense keyMatrix returns,
// and
//
//	//cache:store
//	func storeSym(s *mat.SymDense) *mat.Dense { … }
//	//cache:load
//	func loadSym(d *mat.Dense) *mat.SymDense { … }
//
// stores a result of type *mat.SymDense as the *mat.Dense storeSym returns.
// They are found in the package of the annotated function and in the
// packages of its module that it imports, apply to parameters and results
// of exactly their type, and count in the fingerprint of every function
// they apply to.

// The kinds of declared function, as their directives name them.
const (
	declKey   = "key"
	declStore = "store"
	declLoad  = "load"
)

// declKind returns the kind of declared function a comment line marks.
func declKind(text string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(text, " \t"), directivePrefix)
	if ok && (rest == declKey || rest == declStore || rest == declLoad) {
		return rest, true
	}
	return "", false
}

// A declFunc is a function annotated //cache:key, //cache:store or
// //cache:load: func(In) Out.
type declFunc struct {
	Kind    string
	Obj     *types.Func
	Pos     token.Position
	In, Out types.Type
	Local   bool // declared in the package being generated
}

// qualified names the function as its fingerprint counts it.
func (d *declFunc) qualified() string { return d.Obj.Pkg().Path() + "." + d.Obj.Name() }

// declFuncs are the declared functions a package can use.
type declFuncs []*declFunc

// find returns the declared function of kind whose parameter type is t.
func (ds declFuncs) find(kind string, t types.Type) *declFunc {
	for _, d := range ds {
		if d.Kind == kind && types.Identical(d.In, t) {
			return d
		}
	}
	return nil
}

// usable returns the declared functions that may apply: not keys for
// types that are keyable as they are, whose own key they would replace
// (checkDeclared reports those of the package itself).
func (c *checker) usable(ds declFuncs) declFuncs {
	var out declFuncs
	for _, d := range ds {
		if d.Kind == declKey && c.keyProblem(d.In, true, map[types.Type]bool{}) == nil {
			continue
		}
		out = append(out, d)
	}
	return out
}

// conversion returns the store and load pair for results of type t.
func (ds declFuncs) conversion(t types.Type) (store, load *declFunc) {
	store = ds.find(declStore, t)
	if store == nil {
		return nil, nil
	}
	for _, d := range ds {
		if d.Kind == declLoad && types.Identical(d.In, store.Out) && types.Identical(d.Out, t) {
			return store, d
		}
	}
	return nil, nil
}

// findDeclared finds the declared functions of pkg and of the packages of
// its module that it imports (in the files the build tags select), and
// checks their signatures.
func findDeclared(pkg *packages.Package, tags string) (declFuncs, []error) {
	var ds declFuncs
	var errs []error
	add := func(kind string, fd *ast.FuncDecl, obj types.Object, pos token.Position, local bool) {
		f, ok := obj.(*types.Func)
		sig, _ := obj.Type().(*types.Signature)
		switch {
		case !ok || fd.Recv != nil || sig.TypeParams().Len() > 0 || sig.Params().Len() != 1 || sig.Results().Len() != 1 || sig.Variadic():
			if local {
				errs = append(errs, errorf(pos, "%s: //cache:%s goes on a function of one parameter and one result, with no receiver or type parameters: func %s(v T) U", fd.Name.Name, kind, fd.Name.Name))
			}
			return
		case !local && !f.Exported():
			return // the wrappers of another package cannot call it
		}
		ds = append(ds, &declFunc{Kind: kind, Obj: f, Pos: pos, In: sig.Params().At(0).Type(), Out: sig.Results().At(0).Type(), Local: local})
	}
	scan := func(files []*ast.File, fset *token.FileSet, scope *types.Scope, local bool) {
		for _, file := range files {
			for _, decl := range file.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Doc == nil {
					continue
				}
				for _, c := range fd.Doc.List {
					if kind, ok := declKind(c.Text); ok {
						if obj := scope.Lookup(fd.Name.Name); obj != nil && fd.Recv == nil {
							add(kind, fd, obj, fset.Position(fd.Name.Pos()), local)
						} else if local {
							errs = append(errs, errorf(fset.Position(c.Pos()), "%s: //cache:%s goes on a function, not a method", fd.Name.Name, kind))
						}
					}
				}
			}
		}
	}
	scan(pkg.Syntax, pkg.Fset, pkg.Types.Scope(), true)
	if pkg.Module != nil && pkg.Module.Dir != "" {
		for _, imp := range pkg.Types.Imports() {
			rel, ok := strings.CutPrefix(imp.Path(), pkg.Module.Path)
			if !ok || rel != "" && rel[0] != '/' {
				continue
			}
			fset := token.NewFileSet()
			scan(parseDir(fset, filepath.Join(pkg.Module.Dir, filepath.FromSlash(rel)), tags), fset, imp.Scope(), false)
		}
	}
	// One declared function of a kind per type: two would make the key
	// depend on which was found first.
	for i, d := range ds {
		for _, prev := range ds[:i] {
			if prev.Kind == d.Kind && types.Identical(prev.In, d.In) {
				errs = append(errs, errorf(d.Pos, "%s: a //cache:%s function for %s is already declared at %s: keep one", d.Obj.Name(), d.Kind, typeStr(d.In), prev.Pos))
			}
		}
	}
	return ds, errs
}

// parseDir parses the non-test Go files of dir that the build, with tags,
// compiles, comments and all, skipping any that does not parse.
func parseDir(fset *token.FileSet, dir, tags string) []*ast.File {
	entries, _ := os.ReadDir(dir)
	ctx := build.Default
	if tags != "" {
		ctx.BuildTags = strings.Split(tags, ",")
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := ctx.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		if f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution); err == nil {
			files = append(files, f)
		}
	}
	return files
}

// checkDeclared checks what each declared function of the package itself
// returns: a key must be keyable, a conversion's stored type storable, and
// each store needs its load.
func (c *checker) checkDeclared() []error {
	var errs []error
	for _, d := range c.decls {
		if !d.Local {
			continue
		}
		switch d.Kind {
		case declKey:
			if c.keyProblem(d.In, true, map[types.Type]bool{}) == nil {
				errs = append(errs, errorf(d.Pos, "%s: %s is keyable as it is, and a declared key would replace its own key in every parameter of that type, here and in the packages that import this one: declare keys only for interfaces and for types that cannot be keyed, or key this parameter by a type of your own", d.Obj.Name(), typeStr(d.In)))
				continue
			}
			if p := c.keyProblem(d.Out, true, map[types.Type]bool{}); p != nil {
				errs = append(errs, errorf(d.Pos, "%s: the key it declares for %s cannot be keyed: %s: %s", d.Obj.Name(), typeStr(d.In), p.why, p.fix))
			}
		case declStore:
			if p := c.storeProblem(d.Out, true, map[types.Type]bool{}); p != nil {
				errs = append(errs, errorf(d.Pos, "%s: the type it stores %s as cannot be stored: %s: %s", d.Obj.Name(), typeStr(d.In), p.why, p.fix))
			}
			if s, _ := c.decls.conversion(d.In); s != d {
				errs = append(errs, errorf(d.Pos, "%s: no //cache:load function converts %s back to %s: declare func(%s) %s",
					d.Obj.Name(), typeStr(d.Out), typeStr(d.In), typeStr(d.Out), typeStr(d.In)))
			}
		case declLoad:
			if !slices.ContainsFunc(c.decls, func(s *declFunc) bool {
				return s.Kind == declStore && types.Identical(s.Out, d.In) && types.Identical(s.In, d.Out)
			}) {
				errs = append(errs, errorf(d.Pos, "%s: no //cache:store function converts %s to %s: declare func(%s) %s",
					d.Obj.Name(), typeStr(d.Out), typeStr(d.In), typeStr(d.Out), typeStr(d.In)))
			}
		}
	}
	return errs
}
