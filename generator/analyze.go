package generator

import (
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// analyze finds the annotated functions of pkg and checks them, returning
// the model of each and every problem found.
func analyze(pkg *packages.Package, output, tags string) ([]*cachedFunc, []error) {
	var funcs []*cachedFunc
	decls, errs := findDeclared(pkg, tags)
	c := &checker{decls: decls}
	if pkg.Module != nil {
		c.module = pkg.Module.Path
	}
	errs = append(errs, c.checkDeclared()...)
	c.decls = c.usable(decls)
	fset := pkg.Fset
	for _, file := range pkg.Syntax {
		if filepath.Base(fset.Position(file.Pos()).Filename) == output {
			continue
		}
		inDoc := map[*ast.Comment]bool{}
		for _, decl := range file.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Doc == nil {
				continue
			}
			var found []*ast.Comment
			for _, c := range fd.Doc.List {
				if isDirective(c.Text) {
					inDoc[c] = true
					if _, ok := declKind(c.Text); !ok {
						found = append(found, c)
					}
				}
			}
			if len(found) == 0 {
				continue
			}
			if len(found) > 1 {
				errs = append(errs, errorf(fset.Position(found[1].Pos()), "%s: duplicate //cache: directive: keep one", fd.Name.Name))
				continue
			}
			d, err := parseDirective(found[0].Text)
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					errs = append(errs, errorf(fset.Position(found[0].Pos()), "%s: %v", fd.Name.Name, e))
				}
			}
			// The function is checked with what of the directive could be
			// read, so that its other problems are reported in this run too.
			d.Pos = fset.Position(found[0].Pos())
			f, ferrs := c.analyzeFunc(pkg, fd, d)
			errs = append(errs, ferrs...)
			if err == nil && len(ferrs) == 0 {
				funcs = append(funcs, f)
			}
		}
		for _, cg := range file.Comments {
			for _, c := range cg.List {
				if isDirective(c.Text) && !inDoc[c] {
					errs = append(errs, errorf(fset.Position(c.Pos()), "//cache: directive is not in the doc comment of a function: put it directly above a func declaration"))
				}
				if fixed, ok := nearMiss(c.Text); ok {
					if kind, isDecl := declKind(fixed); isDecl {
						errs = append(errs, errorf(fset.Position(c.Pos()), "%q is not read as a directive, so the function below would not be a declared %s: write it %s, in lower case, with no space after // or after cache:", c.Text, kind, fixed))
					} else {
						errs = append(errs, errorf(fset.Position(c.Pos()), "%q is not read as a directive, so nothing would be cached: write it %s, in lower case, with no space after //, after cache: or around =", c.Text, fixed))
					}
				}
			}
		}
	}
	return funcs, errs
}

func isContext(t types.Type) bool { return isNamed(t, "context", "Context") }

func isError(t types.Type) bool { return types.Identical(t, types.Universe.Lookup("error").Type()) }

func (c *checker) analyzeFunc(pkg *packages.Package, fd *ast.FuncDecl, d directive) (*cachedFunc, []error) {
	obj := pkg.TypesInfo.Defs[fd.Name].(*types.Func)
	sig := obj.Type().(*types.Signature)
	pos := pkg.Fset.Position(fd.Name.Pos())
	f := &cachedFunc{Name: fd.Name.Name, Obj: obj, Pos: pos, Directive: d, Variadic: sig.Variadic()}
	var errs []error
	fail := func(p token.Position, format string, args ...any) {
		errs = append(errs, errorf(p, "%s: "+format, append([]any{f.Name}, args...)...))
	}
	if invalid(sig) {
		fail(pos, "its signature does not type-check: fix the package's type errors first")
		return f, errs
	}

	// Names that generated locals and imports must not take.
	names := map[string]bool{}
	if recv := sig.Recv(); recv != nil {
		f.Recv = &param{Name: recv.Name(), Type: recv.Type(), Keyed: recv.Name() != "" && recv.Name() != "_", Pos: recv.Pos()}
		t := recv.Type()
		if p, ok := t.(*types.Pointer); ok {
			f.RecvPtr = true
			t = p.Elem()
		}
		f.RecvType, _ = types.Unalias(t).(*types.Named)
		for i := range sig.RecvTypeParams().Len() {
			f.RecvTypeParams = append(f.RecvTypeParams, sig.RecvTypeParams().At(i))
		}
	}
	for i := range sig.TypeParams().Len() {
		f.TypeParams = append(f.TypeParams, sig.TypeParams().At(i))
	}
	for _, tp := range append(append([]*types.TypeParam(nil), f.RecvTypeParams...), f.TypeParams...) {
		// The key holds a type argument's name, and the fingerprint the
		// code of this package: the methods a type argument brings from
		// elsewhere (a calling main package, say) are in neither.
		if iface, ok := tp.Constraint().Underlying().(*types.Interface); ok && iface.NumMethods() > 0 {
			fail(pos, "type parameter %s: its constraint %s has methods, whose code each type argument brings from where it is declared, out of sight of the fingerprint, so an edit to them would serve stale results: pass the values they compute, or a name or enum that selects the behaviour, instead",
				tp.Obj().Name(), typeStr(tp.Constraint()))
		}
	}
	for i := range sig.Params().Len() {
		v := sig.Params().At(i)
		p := param{Name: v.Name(), Type: v.Type(), Keyed: v.Name() != "" && v.Name() != "_", Pos: v.Pos()}
		if i == 0 && isContext(v.Type()) {
			f.Ctx = true
			p.Keyed = false
		}
		f.Params = append(f.Params, p)
	}

	ignored := map[string]bool{}
	for _, name := range d.Ignore {
		found := f.Recv != nil && f.Recv.Name == name
		for _, p := range f.Params {
			found = found || p.Name == name
		}
		if !found {
			fail(d.Pos, "ignore=%s names no parameter of %s%s", name, f.Name, suggest(name, paramNames(f)))
		}
		ignored[name] = true
	}
	check := func(p *param, what string) {
		if ignored[p.Name] {
			p.Keyed = false
		}
		names[p.Name] = true
		if !p.Keyed {
			return
		}
		at := pos // a refusal of the parameter is positioned at its name
		if p.Pos.IsValid() {
			at = pkg.Fset.Position(p.Pos)
		}
		if p.Name == "__fn__" || p.Name == "__version__" {
			fail(at, "%s %s: the name is reserved for the cache key: rename it", what, p.Name)
		}
		if k := c.decls.find(declKey, p.Type); k != nil {
			// A declared key: what it returns is keyed instead.
			p.Key = k
			f.use(k)
			if pr := c.keyProblem(k.Out, true, map[types.Type]bool{}); pr != nil && !k.Local { // checkDeclared reports the package's own
				fail(at, "%s %s: its declared key %s returns %s, which cannot be keyed: %s: %s", what, p.Name, k.Obj.Name(), typeStr(k.Out), pr.why, pr.fix)
			}
			return
		}
		if pr := c.keyProblem(p.Type, true, map[types.Type]bool{}); pr != nil {
			// Ignoring a parameter shares one entry among all its values:
			// advice that leads to a wrong result is worse than none.
			fail(at, "%s %s: %s: %s; add %s to ignore= only if its value cannot change the result, as with a logger or a progress callback", what, p.Name, pr.why, keyFix(pr, p.Type), p.Name)
		}
	}
	if f.Recv != nil {
		check(f.Recv, "receiver")
	}
	for i := range f.Params {
		check(&f.Params[i], "parameter")
	}
	analyzeFiles(f, d, ignored, fail)
	c.analyzeWith(pkg, f, d, names, fail)

	res := sig.Results()
	single := res.Len() == 1 || res.Len() == 2 && isError(res.At(1).Type())
	for i := range res.Len() {
		t := res.At(i).Type()
		if i == res.Len()-1 && isError(t) {
			f.Err = true
			continue
		}
		f.Results = append(f.Results, t)
		pr := c.storeProblem(t, single, map[types.Type]bool{})
		if pr == nil {
			continue
		}
		switch store, load := c.decls.conversion(t); {
		case store == nil:
			fail(pos, "result %d (%s): %s: %s", i+1, typeStr(t), pr.why, storeFix(pr, t, single))
		case !single:
			fail(pos, "result %d (%s): its declared conversions (%s, %s) apply to a function's only result: return a struct of the results instead", i+1, typeStr(t), store.Obj.Name(), load.Obj.Name())
		case !store.Local && c.storeProblem(store.Out, true, map[types.Type]bool{}) != nil:
			sp := c.storeProblem(store.Out, true, map[types.Type]bool{})
			fail(pos, "result %d (%s): its declared conversion %s stores it as %s, which cannot be stored: %s: %s", i+1, typeStr(t), store.Obj.Name(), typeStr(store.Out), sp.why, sp.fix)
		default:
			f.Store, f.Load = store, load
			f.use(store)
			f.use(load)
		}
	}
	if len(f.Results) == 0 {
		fail(pos, "has no result to cache: a cached function must return a value")
	}
	if d.Map {
		stored := f.Results
		if f.Store != nil {
			stored = []types.Type{f.Store.Out}
		}
		if !slices.ContainsFunc(stored, func(t types.Type) bool { return holdsNumericSlice(t, map[types.Type]bool{}) }) {
			fail(pos, "mmap: its result holds no slice of numbers, which is all a hit can map: remove mmap")
		}
	}
	nameBlanks(f, pkg.Types.Scope())
	// The previous output file is loaded as a package clause alone, so
	// anything found here was declared by the user. A name the wrappers
	// would take is refused where the user declared it.
	taken := func(name string, at token.Pos, what string) {
		errs = append(errs, errorf(pkg.Fset.Position(at), "%s is declared here, and is %s cachegen gives %s (%s:%d): rename this one, or %s",
			name, what, f.displayName(), filepath.Base(pos.Filename), pos.Line, f.Name))
	}
	flat := strings.ReplaceAll(f.displayName(), ".", "")
	scope := pkg.Types.Scope()
	for name, what := range map[string]string{flat + "Args": "the name of the arguments type", "cachegen" + flat + "Call": "the name of the call helper"} {
		if prev := scope.Lookup(name); prev != nil {
			taken(name, prev.Pos(), what)
		}
	}
	wrappers := []string{"Cached", "CachedIn", "CacheKey", "Invalidate", "CachedAll"}
	if f.Recv == nil {
		for _, suffix := range wrappers {
			if prev := scope.Lookup(f.Name + suffix); prev != nil {
				taken(f.Name+suffix, prev.Pos(), "the name of a wrapper")
			}
		}
	} else if f.RecvType != nil {
		for _, suffix := range wrappers {
			if m, _, _ := types.LookupFieldOrMethod(f.RecvType, true, pkg.Types, f.Name+suffix); m != nil {
				taken(f.RecvType.Obj().Name()+"."+f.Name+suffix, m.Pos(), "the name of a wrapper")
			}
		}
	}
	return f, errs
}

// paramNames lists the names of f's parameters, its receiver's first.
func paramNames(f *cachedFunc) []string {
	var out []string
	if f.Recv != nil {
		out = append(out, f.Recv.Name)
	}
	for _, p := range f.Params {
		out = append(out, p.Name)
	}
	return out
}

// holdsNumericSlice reports whether a value of t holds a slice of
// integers or floats, itself or in exported struct fields (not behind a
// pointer, and not in a type that encodes itself): what a cache stores as
// raw blocks, and a mapped hit maps.
func holdsNumericSlice(t types.Type, seen map[types.Type]bool) bool {
	if seen[t] || encodesItself(t) {
		return false
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Slice:
		b, ok := u.Elem().Underlying().(*types.Basic)
		return ok && b.Info()&(types.IsInteger|types.IsFloat) != 0 && b.Kind() != types.Uintptr
	case *types.Struct:
		for i := range u.NumFields() {
			if f := u.Field(i); f.Exported() && holdsNumericSlice(f.Type(), seen) {
				return true
			}
		}
	}
	return false
}

// encodesItself reports whether t, or a pointer to it, has a method that
// encodes its values: a cache stores them as it encodes them.
func encodesItself(t types.Type) bool {
	ms := types.NewMethodSet(types.NewPointer(t))
	for _, name := range []string{"MarshalBinary", "MarshalCBOR", "MarshalText", "MarshalJSON"} {
		if ms.Lookup(nil, name) != nil {
			return true
		}
	}
	return false
}

// invalid reports whether t mentions a type that did not type-check.
func invalid(t types.Type) bool {
	seen := map[types.Type]bool{}
	var walk func(types.Type) bool
	walk = func(t types.Type) bool {
		if t == nil || seen[t] {
			return false
		}
		seen[t] = true
		switch t := t.(type) {
		case *types.Basic:
			return t.Kind() == types.Invalid
		case *types.Pointer:
			return walk(t.Elem())
		case *types.Slice:
			return walk(t.Elem())
		case *types.Array:
			return walk(t.Elem())
		case *types.Map:
			return walk(t.Key()) || walk(t.Elem())
		case *types.Chan:
			return walk(t.Elem())
		case *types.Signature:
			for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
				for i := range tup.Len() {
					if walk(tup.At(i).Type()) {
						return true
					}
				}
			}
			return t.Recv() != nil && walk(t.Recv().Type())
		case *types.Named:
			for i := range t.TypeArgs().Len() {
				if walk(t.TypeArgs().At(i)) {
					return true
				}
			}
			return walk(t.Underlying())
		case *types.Struct:
			for i := range t.NumFields() {
				if walk(t.Field(i).Type()) {
					return true
				}
			}
		}
		return false
	}
	return walk(t)
}

// nameBlanks names the unnamed and blank parameters (and receiver) of f,
// which the wrappers must pass on: p0, p1… and recv, taking no name the
// package or another parameter has.
func nameBlanks(f *cachedFunc, scope *types.Scope) {
	taken := map[string]bool{} // beside the package scope's names
	for _, p := range f.Params {
		taken[p.Name] = true
	}
	for _, tp := range f.allTypeParams() {
		taken[tp.Obj().Name()] = true
	}
	if f.Recv != nil {
		taken[f.Recv.Name] = true
	}
	name := func(want string) string {
		n := want
		for i := 2; taken[n] || scope.Lookup(n) != nil; i++ {
			n = want + strconv.Itoa(i)
		}
		taken[n] = true
		return n
	}
	for i := range f.Params {
		if f.Params[i].Name == "" || f.Params[i].Name == "_" {
			f.Params[i].Name = name("p" + strconv.Itoa(i))
		}
	}
	if f.Recv != nil && (f.Recv.Name == "" || f.Recv.Name == "_") {
		f.Recv.Name = name("recv")
	}
}

// analyzeFiles marks the parameters named in files= to be keyed by the
// content of the files they name, refusing those that are not paths.
func analyzeFiles(f *cachedFunc, d directive, ignored map[string]bool, fail func(token.Position, string, ...any)) {
	for _, name := range d.Files {
		i := slices.IndexFunc(f.Params, func(p param) bool { return p.Name == name })
		switch {
		case i < 0 && f.Recv != nil && f.Recv.Name == name:
			fail(d.Pos, "files=%s names the receiver: files= takes parameters that name data files", name)
		case i < 0:
			fail(d.Pos, "files=%s names no parameter of %s%s", name, f.Name, suggest(name, paramNames(f)))
		case ignored[name]:
			fail(d.Pos, "files=%s: the parameter is also in ignore=: a path to data that changes the result must be keyed; remove it from one list", name)
		case !f.Params[i].Keyed:
			fail(d.Pos, "files=%s: a context is not a path", name)
		default:
			p := &f.Params[i]
			if p.Files = fileKeyingOf(p.Type); p.Files == notFiles {
				fail(d.Pos, "files=%s: parameter %s is %s, not a path: files= keys the content of the files a string or []string names (or a cacheruntime.File or Dir); key other values by their own value, without files=", name, name, typeStr(p.Type))
			}
		}
	}

}

// analyzeWith adds the package-level values named in with= to the key.
func (c *checker) analyzeWith(pkg *packages.Package, f *cachedFunc, d directive, names map[string]bool, fail func(token.Position, string, ...any)) {
	for _, name := range d.With {
		o := pkg.Types.Scope().Lookup(name)
		switch o.(type) {
		case *types.Const, *types.Var:
		default:
			fail(d.Pos, "with=%s names no package-level constant or variable of package %s", name, pkg.Types.Name())
			continue
		}
		if names[name] {
			fail(d.Pos, "with=%s: a parameter of %s has the same name, so the key could not tell them apart: rename one", name, f.Name)
			continue
		}
		t := o.Type()
		if b, ok := t.(*types.Basic); ok && b.Info()&types.IsUntyped != 0 {
			t = types.Default(t)
		}
		w := withValue{Name: name, Type: t}
		if k := c.decls.find(declKey, t); k != nil {
			w.Key = k
			f.use(k)
		} else if pr := c.keyProblem(t, true, map[types.Type]bool{}); pr != nil {
			fail(d.Pos, "with=%s: %s: %s", name, pr.why, keyFix(pr, t))
		}
		f.With = append(f.With, w)
	}
}

// fileKeyingOf returns how a parameter of type t named in files= is keyed:
// a string by the file it names, a []string by each file, and the
// runtime's File and Dir (or slices of them) as they are.
func fileKeyingOf(t types.Type) fileKeying {
	isPath := func(t types.Type) bool {
		b, ok := t.Underlying().(*types.Basic)
		return ok && b.Kind() == types.String
	}
	isInput := func(t types.Type) bool {
		return isNamed(t, runtimePath, "File") || isNamed(t, runtimePath, "Dir")
	}
	if s, ok := t.Underlying().(*types.Slice); ok {
		switch {
		case isInput(s.Elem()):
			return asIs
		case isPath(s.Elem()):
			return asFiles
		}
		return notFiles
	}
	switch {
	case isInput(t):
		return asIs
	case isPath(t):
		return asFile
	}
	return notFiles
}
