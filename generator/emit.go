package generator

import (
	"bytes"
	"fmt"
	"go/token"
	"go/types"
	"strconv"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/dave/jennifer/jen"
)

const runtimePath = "github.com/cachegen/cachegen/runtime"

// emitter writes the wrappers of one package.
type emitter struct {
	pkg     *types.Package
	file    *jen.File
	aliases map[string]string // import path -> name used in the file
	taken   map[string]bool   // names an import may not take
}

// emit returns the generated file for the annotated funcs of pkg, and the
// test beside it.
func emit(pkg *types.Package, funcs []*cachedFunc, command string) (wrappers, test []byte, err error) {
	e := newEmitter(pkg, funcs, command)
	e.importName(runtimePath, "cacheruntime")
	e.importName("context", "context")
	// What each wrapper was generated from, so that a later run can tell
	// a changed function whose version was not bumped.
	for _, f := range funcs {
		e.file.Comment(f.Record.Line())
	}
	e.file.Line()
	for _, f := range funcs {
		e.function(f)
	}
	if wrappers, err = e.render(); err != nil {
		return nil, nil, err
	}
	return wrappers, emitTest(pkg, funcs, command), nil
}

// emitTest returns a test that fails when the code a cached function runs
// no longer has the fingerprint its wrapper was generated with: an edit
// made without running cachegen again.
func emitTest(pkg *types.Package, funcs []*cachedFunc, command string) []byte {
	e := newEmitter(pkg, funcs, command)
	e.importName("testing", "testing")
	e.importName(runtimePath, "cacheruntime")
	var calls []jen.Code
	for _, f := range funcs {
		calls = append(calls, jen.Values(jen.Id("Func").Op(":").Lit(f.qualified(pkg)), jen.Id("Version").Op(":").Lit(f.Directive.Version), jen.Id("Code").Op(":").Lit(f.Record.Sum)))
	}
	e.file.Comment("TestCachegenFingerprints fails when code that a cached function of this package")
	e.file.Comment("runs has changed since cachegen generated its wrapper: run go generate.")
	e.file.Func().Id("TestCachegenFingerprints").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.For(jen.List(jen.Id("_"), jen.Id("c")).Op(":=").Range().Index().Add(e.rt("Call")).Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, calls...)).Block(
			jen.If(jen.Err().Op(":=").Add(e.rt("CheckCode")).Call(jen.Id("c")), jen.Err().Op("!=").Nil()).Block(
				jen.Id("t").Dot("Error").Call(jen.Err()))))
	b, err := e.render()
	if err != nil {
		panic(err) // only constant names and literals: it always renders
	}
	return b
}

func newEmitter(pkg *types.Package, funcs []*cachedFunc, command string) *emitter {
	e := &emitter{pkg: pkg, file: jen.NewFilePathName(pkg.Path(), pkg.Name()), aliases: map[string]string{}, taken: map[string]bool{}}
	e.file.HeaderComment(fingerprint.Header(command)[len("// "):])
	// An import must not take a name that the package declares, or that a
	// wrapper's parameter would shadow.
	for _, name := range pkg.Scope().Names() {
		e.taken[name] = true
	}
	for _, f := range funcs {
		for _, p := range f.Params {
			e.taken[p.Name] = true
		}
		if f.Recv != nil {
			e.taken[f.Recv.Name] = true
		}
		for _, tp := range append(f.RecvTypeParams, f.TypeParams...) {
			e.taken[tp.Obj().Name()] = true
		}
	}
	return e
}

func (e *emitter) render() ([]byte, error) {
	var buf bytes.Buffer
	if err := e.file.Render(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// qualified is the function's name as its wrappers key it:
// "<package path>.F" or "<package path>.T.M".
func (f *cachedFunc) qualified(pkg *types.Package) string {
	return pkg.Path() + "." + f.displayName()
}

// importName returns the name path is imported under, choosing one the
// first time: want, or want2, want3… if want is taken.
func (e *emitter) importName(path, want string) string {
	if a, ok := e.aliases[path]; ok {
		return a
	}
	name := want
	for i := 2; e.taken[name] || token.IsKeyword(name) || types.Universe.Lookup(name) != nil; i++ {
		name = want + strconv.Itoa(i)
	}
	e.taken[name] = true
	e.aliases[path] = name
	if p := e.pkgName(path); p == name {
		e.file.ImportName(path, name)
	} else {
		e.file.ImportAlias(path, name)
	}
	return name
}

// pkgName returns the declared name of an imported package.
func (e *emitter) pkgName(path string) string {
	for _, imp := range e.pkg.Imports() {
		if imp.Path() == path {
			return imp.Name()
		}
	}
	if path == runtimePath {
		return "runtime"
	}
	return path
}

func (e *emitter) qual(pkg *types.Package, name string) *jen.Statement {
	if pkg == nil || pkg.Path() == e.pkg.Path() {
		return jen.Id(name)
	}
	e.importName(pkg.Path(), pkg.Name())
	return jen.Qual(pkg.Path(), name)
}

func (e *emitter) rt(name string) *jen.Statement {
	return jen.Qual(runtimePath, name)
}

// typ returns the code of a type as the package's source would spell it.
func (e *emitter) typ(t types.Type) *jen.Statement {
	switch t := t.(type) {
	case *types.Alias:
		if t.Obj().Pkg() == nil {
			return jen.Id(t.Obj().Name())
		}
		return e.withArgs(e.qual(t.Obj().Pkg(), t.Obj().Name()), t.TypeArgs())
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			return e.qual(types.Unsafe, "Pointer")
		}
		return jen.Id(t.Name())
	case *types.Named:
		return e.withArgs(e.qual(t.Obj().Pkg(), t.Obj().Name()), t.TypeArgs())
	case *types.TypeParam:
		return jen.Id(t.Obj().Name())
	case *types.Pointer:
		return jen.Op("*").Add(e.typ(t.Elem()))
	case *types.Slice:
		return jen.Index().Add(e.typ(t.Elem()))
	case *types.Array:
		return jen.Index(jen.Lit(int(t.Len()))).Add(e.typ(t.Elem()))
	case *types.Map:
		return jen.Map(e.typ(t.Key())).Add(e.typ(t.Elem()))
	case *types.Chan:
		switch t.Dir() {
		case types.SendOnly:
			return jen.Chan().Op("<-").Add(e.typ(t.Elem()))
		case types.RecvOnly:
			return jen.Op("<-").Chan().Add(e.typ(t.Elem()))
		}
		return jen.Chan().Add(e.typ(t.Elem()))
	case *types.Signature:
		return jen.Func().Add(e.signature(t))
	case *types.Struct:
		fields := make([]jen.Code, t.NumFields())
		for i := range t.NumFields() {
			f := t.Field(i)
			field := e.typ(f.Type())
			if !f.Embedded() {
				field = jen.Id(f.Name()).Add(field)
			}
			if tag := t.Tag(i); tag != "" {
				field.Op(strconv.Quote(tag))
			}
			fields[i] = field
		}
		return jen.Struct(fields...)
	case *types.Interface:
		var elems []jen.Code
		for i := range t.NumEmbeddeds() {
			elems = append(elems, e.typ(t.EmbeddedType(i)))
		}
		for i := range t.NumExplicitMethods() {
			m := t.ExplicitMethod(i)
			elems = append(elems, jen.Id(m.Name()).Add(e.signature(m.Type().(*types.Signature))))
		}
		return jen.Interface(elems...)
	case *types.Union:
		terms := make([]jen.Code, t.Len())
		for i := range t.Len() {
			term := e.typ(t.Term(i).Type())
			if t.Term(i).Tilde() {
				term = jen.Op("~").Add(term)
			}
			terms[i] = term
		}
		return jen.Union(terms...)
	}
	panic(fmt.Sprintf("cachegen: unexpected type %T", t))
}

func (e *emitter) withArgs(s *jen.Statement, args *types.TypeList) *jen.Statement {
	if args.Len() == 0 {
		return s
	}
	codes := make([]jen.Code, args.Len())
	for i := range args.Len() {
		codes[i] = e.typ(args.At(i))
	}
	return s.Index(jen.List(codes...))
}

func (e *emitter) signature(sig *types.Signature) *jen.Statement {
	params := make([]jen.Code, sig.Params().Len())
	for i := range sig.Params().Len() {
		t := sig.Params().At(i).Type()
		if sig.Variadic() && i == sig.Params().Len()-1 {
			params[i] = jen.Op("...").Add(e.typ(t.(*types.Slice).Elem()))
		} else {
			params[i] = e.typ(t)
		}
	}
	results := make([]jen.Code, sig.Results().Len())
	for i := range sig.Results().Len() {
		results[i] = e.typ(sig.Results().At(i).Type())
	}
	return jen.Params(params...).Params(results...)
}

// locals hands out names for a wrapper's local variables that no
// parameter, type parameter or import uses.
// locals are the names a function declares, beside the file's.
type locals struct {
	file map[string]bool // the file's names, not to be shadowed
	own  map[string]bool
}

func (e *emitter) locals() locals { return locals{file: e.taken, own: map[string]bool{}} }

func (l locals) taken(name string) bool { return l.file[name] || l.own[name] }

func (l locals) name(want string) string {
	name := want
	for i := 2; l.taken(name); i++ {
		name = want + strconv.Itoa(i)
	}
	l.own[name] = true
	return name
}

// function emits the three wrappers of f, and the helper that builds the
// Call all three key.
func (e *emitter) function(f *cachedFunc) {
	helper := e.name("cachegen" + strings.ReplaceAll(f.displayName(), ".", "") + "Call")
	e.callHelper(f, helper)
	e.cached(f, helper)
	e.keyed(f, helper, "CacheKey", "returns the cache key of %s with these arguments.", jen.String(),
		func(call *jen.Statement) *jen.Statement { return call.Dot("Key").Call() })
	e.keyed(f, helper, "Invalidate", "removes the cached result of %s with these arguments from the default cache\n(from a cache c of your own: c.Remove(ctx, key), with the key of "+f.Name+"CacheKey).", jen.Bool(),
		func(call *jen.Statement) *jen.Statement {
			return e.rt("Default").Call().Dot("Invalidate").Call(jen.Qual("context", "Background").Call(), call)
		})
	e.sweep(f, helper)
}

// sweep emits FArgs, a struct of F's arguments but its context, and
// FCachedAll, which runs F over a slice of them as one cached sweep.
func (e *emitter) sweep(f *cachedFunc, helper string) {
	args := e.name(strings.ReplaceAll(f.displayName(), ".", "") + "Args")
	fields := locals{file: map[string]bool{}, own: map[string]bool{}}
	names := map[string]string{} // parameter: field
	var decl []jen.Code
	for i, p := range f.Params {
		if i == 0 && f.Ctx {
			continue
		}
		name := fields.name(strings.ToUpper(p.Name[:1]) + p.Name[1:])
		names[p.Name] = name
		decl = append(decl, jen.Id(name).Add(e.typ(p.Type)))
	}
	e.file.Commentf("%s are the arguments of one call of %s, for %sCachedAll.", args, f.displayName(), f.Name)
	tps := f.allTypeParams()
	e.file.Type().Id(args).Types(e.typeParams(tps)...).Struct(decl...)
	e.file.Line()
	// argsType is FArgs, instantiated with the wrapper's type parameters.
	argsType := func() *jen.Statement {
		s := jen.Id(args)
		if len(tps) > 0 {
			ids := make([]jen.Code, len(tps))
			for i, tp := range tps {
				ids[i] = jen.Id(tp.Obj().Name())
			}
			s = s.Index(jen.List(ids...))
		}
		return s
	}

	used := e.locals()
	ctxName, argsName, opts, a := used.name("ctx"), used.name("args"), used.name("opts"), used.name("a")
	var keyed, all []jen.Code
	for _, p := range f.keyedParams() {
		if f.Recv != nil && p.Name == f.Recv.Name && p.Type == f.Recv.Type {
			keyed = append(keyed, jen.Id(p.Name))
		} else {
			keyed = append(keyed, jen.Id(a).Dot(names[p.Name]))
		}
	}
	for i, p := range f.Params {
		switch {
		case i == 0 && f.Ctx:
			all = append(all, jen.Id(ctxName))
		case f.Variadic && i == len(f.Params)-1:
			all = append(all, jen.Id(a).Dot(names[p.Name]).Op("..."))
		default:
			all = append(all, jen.Id(a).Dot(names[p.Name]))
		}
	}
	// call is the call of F, a fresh statement each time.
	call := func() *jen.Statement {
		if f.Recv != nil {
			return jen.Id(f.Recv.Name).Dot(f.Name).Call(all...)
		}
		target := jen.Id(f.Name)
		if len(f.TypeParams) > 0 {
			ids := make([]jen.Code, len(f.TypeParams))
			for i, tp := range f.TypeParams {
				ids[i] = jen.Id(tp.Obj().Name())
			}
			target = target.Index(jen.List(ids...))
		}
		return target.Call(all...)
	}
	result := e.typ(f.Results[0])
	body := []jen.Code{jen.Return(call(), jen.Nil())}
	if f.Err {
		body = []jen.Code{jen.Return(call())}
	}
	if len(f.Results) > 1 {
		// Several results travel together in the struct FCached stores.
		fields := make([]jen.Code, len(f.Results))
		vals := make([]jen.Code, len(f.Results))
		for i, t := range f.Results {
			fields[i] = jen.Id("R" + strconv.Itoa(i)).Add(e.typ(t))
			vals[i] = jen.Id(used.name("r" + strconv.Itoa(i)))
		}
		result = jen.Struct(fields...)
		errName := used.name("err")
		body = []jen.Code{
			jen.List(vals...).Op(":=").Add(call()),
			jen.Return(jen.Struct(fields...).Values(vals...), jen.Nil()),
		}
		if f.Err {
			body = []jen.Code{
				jen.List(append(vals, jen.Id(errName))...).Op(":=").Add(call()),
				jen.Return(jen.Struct(fields...).Values(vals...), jen.Id(errName)),
			}
		}
	}
	computeParam := jen.Id(ctxName).Qual("context", "Context")
	if !f.Ctx {
		computeParam = jen.Qual("context", "Context")
	}
	e.file.Commentf("%sCachedAll is %s over every element of %s, as one cached sweep (cacheruntime.Sweep):", f.Name, f.displayName(), argsName)
	e.file.Commentf("hits first, misses on bounded workers, results in %s' order, in the cache %s", argsName, ctxName)
	e.file.Comment("carries (cacheruntime.WithCache), else the default cache.")
	e.file.Add(e.decl(f, f.Name+"CachedAll").Params(
		jen.Id(ctxName).Qual("context", "Context"), jen.Id(argsName).Index().Add(argsType()), jen.Id(opts).Op("...").Add(e.rt("SweepOption")),
	).Params(jen.Index().Add(result), jen.Error()).Block(
		jen.Return(e.rt("SweepArgs").Call(jen.Id(ctxName), jen.Id(argsName),
			jen.Func().Params(jen.Id(a).Add(argsType())).Params(e.rt("Call"), jen.Func().Params(jen.Qual("context", "Context")).Params(result, jen.Error())).Block(
				jen.Return(e.helperCallWith(f, helper, keyed), jen.Func().Params(computeParam).Params(result, jen.Error()).Block(body...)),
			), jen.Id(opts).Op("...")))))
	e.file.Line()
}

// name allocates a package-level name for the file: want, or want2…
func (e *emitter) name(want string) string {
	name := want
	for i := 2; e.taken[name]; i++ {
		name = want + strconv.Itoa(i)
	}
	e.taken[name] = true
	return name
}

// allTypeParams are the type parameters a helper of f declares: the
// receiver type's, then the function's own.
func (f *cachedFunc) allTypeParams() []*types.TypeParam {
	return append(append([]*types.TypeParam(nil), f.RecvTypeParams...), f.TypeParams...)
}

// keyedParams are the parameters the key holds, in order: the receiver,
// when keyed, then the keyed parameters.
func (f *cachedFunc) keyedParams() []param {
	var out []param
	if f.Recv != nil && f.Recv.Keyed {
		out = append(out, *f.Recv)
	}
	for _, p := range f.Params {
		if p.Keyed {
			out = append(out, p)
		}
	}
	return out
}

// callHelper emits the function that builds the Call of f from its keyed
// arguments: func helper[type params](keyed params) cacheruntime.Call.
func (e *emitter) callHelper(f *cachedFunc, name string) {
	var params, order []jen.Code
	add := func(key string, value jen.Code) { order = append(order, jen.Lit(key).Op(":").Add(value)) }
	keyed := f.keyedParams()
	if f.Recv != nil && f.Recv.Keyed {
		params = append(params, jen.Id(f.Recv.Name).Add(e.typ(f.Recv.Type)))
		add(f.Recv.Name, e.keyArg(*f.Recv))
		keyed = keyed[1:]
	}
	for _, tp := range f.allTypeParams() {
		add(tp.Obj().Name(), e.rt("TypeArg").Index(jen.Id(tp.Obj().Name())).Call())
	}
	for _, p := range keyed {
		params = append(params, jen.Id(p.Name).Add(e.typ(p.Type)))
		add(p.Name, e.keyArg(p))
	}
	for _, w := range f.With {
		add(w.Name, e.keyArg(param{Name: w.Name, Type: w.Type, Key: w.Key}))
	}
	fields := []jen.Code{
		jen.Id("Func").Op(":").Lit(f.qualified(e.pkg)),
		jen.Id("Version").Op(":").Lit(f.Directive.Version),
		jen.Id("Code").Op(":").Lit(f.Record.Sum),
	}
	if len(f.Record.Parts) > 0 {
		// Stored with each entry, so that a miss can name what changed.
		fields = append(fields, jen.Id("Parts").Op(":").Lit(strings.Join(f.Record.Parts, ",")))
	}
	if len(f.Record.Accepted) > 0 {
		accepted := make([]jen.Code, len(f.Record.Accepted))
		for i, a := range f.Record.Accepted {
			accepted[i] = jen.Lit(a)
		}
		fields = append(fields, jen.Id("Accepted").Op(":").Index().String().Values(accepted...))
	}
	fields = append(fields, jen.Id("Params").Op(":").Map(jen.String()).Any().Values(order...))
	if f.Store != nil {
		fields = append(fields, jen.Id("Codec").Op(":").Add(e.rt("StoreAs").Call(
			e.qual(f.Store.Obj.Pkg(), f.Store.Obj.Name()), e.qual(f.Load.Obj.Pkg(), f.Load.Obj.Name()))))
	}
	if f.Directive.TTL > 0 {
		fields = append(fields, jen.Id("TTL").Op(":").Add(e.duration(f.Directive.TTL)))
	}
	decl := jen.Func().Id(name)
	if tps := f.allTypeParams(); len(tps) > 0 {
		decl.Types(e.typeParams(tps)...)
	}
	e.file.Commentf("%s is the call of %s that its wrappers key.", name, f.displayName())
	e.file.Add(decl.Params(params...).Add(e.rt("Call")).Block(
		jen.Return(e.rt("Call").Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, fields...))))
	e.file.Line()
}

// keyArg is the value the key holds for the parameter p: the argument
// itself, its declared key, or the files it names.
func (e *emitter) keyArg(p param) jen.Code {
	switch {
	case p.Files == asFile:
		return e.rt("File").Call(jen.Id(p.Name))
	case p.Files == asFiles:
		return e.rt("Files").Call(jen.Id(p.Name))
	case p.Key != nil:
		return e.rt("KeyBy").Call(jen.Id(p.Name), e.qual(p.Key.Obj.Pkg(), p.Key.Obj.Name()))
	}
	if tp, ok := p.Type.(*types.TypeParam); ok {
		// A type argument may be an interface type: keep the dynamic type.
		return e.rt("Typed").Index(jen.Id(tp.Obj().Name())).Call(jen.Id(p.Name))
	}
	return jen.Id(p.Name)
}

// helperCall is the call of the helper from a wrapper of f: the receiver
// and the keyed arguments, and every type argument.
func (e *emitter) helperCall(f *cachedFunc, helper string) *jen.Statement {
	var args []jen.Code
	for _, p := range f.keyedParams() {
		args = append(args, jen.Id(p.Name))
	}
	return e.helperCallWith(f, helper, args)
}

// helperCallWith is the call of f's Call helper with args.
func (e *emitter) helperCallWith(f *cachedFunc, helper string, args []jen.Code) *jen.Statement {
	s := jen.Id(helper)
	if tps := f.allTypeParams(); len(tps) > 0 {
		targs := make([]jen.Code, len(tps))
		for i, tp := range tps {
			targs[i] = jen.Id(tp.Obj().Name())
		}
		s = s.Index(jen.List(targs...))
	}
	return s.Call(args...)
}

func (e *emitter) typeParams(tps []*types.TypeParam) []jen.Code {
	out := make([]jen.Code, len(tps))
	for i, tp := range tps {
		out[i] = jen.Id(tp.Obj().Name()).Add(e.typ(tp.Constraint()))
	}
	return out
}

// decl starts the declaration of a wrapper of f named name: a method on
// the same receiver, or a function with the same type parameters.
func (e *emitter) decl(f *cachedFunc, name string) *jen.Statement {
	s := jen.Func()
	if f.Recv != nil {
		s.Params(jen.Id(f.Recv.Name).Add(e.typ(f.Recv.Type)))
	}
	s.Id(name)
	if len(f.TypeParams) > 0 {
		s.Types(e.typeParams(f.TypeParams)...)
	}
	return s
}

// wrapperParams returns the parameters of a wrapper of f: all of them, or
// only those the key holds (no context, nothing ignored).
func (e *emitter) wrapperParams(f *cachedFunc, keyedOnly bool) []jen.Code {
	var out []jen.Code
	for i, p := range f.Params {
		if keyedOnly && !p.Keyed {
			continue
		}
		if f.Variadic && i == len(f.Params)-1 {
			out = append(out, jen.Id(p.Name).Op("...").Add(e.typ(p.Type.(*types.Slice).Elem())))
		} else {
			out = append(out, jen.Id(p.Name).Add(e.typ(p.Type)))
		}
	}
	return out
}

// keyed emits the wrapper of f named f.Name+suffix, whose parameters are
// those the key holds, and which returns result, error from body.
func (e *emitter) keyed(f *cachedFunc, helper, suffix, doc string, result jen.Code, body func(call *jen.Statement) *jen.Statement) {
	for _, line := range strings.Split(fmt.Sprintf("%s"+suffix+" "+doc, f.Name, f.displayName()), "\n") {
		e.file.Comment(line)
	}
	e.file.Add(e.decl(f, f.Name+suffix).Params(e.wrapperParams(f, true)...).Params(result, jen.Error()).Block(
		jen.Return(body(e.helperCall(f, helper)))))
	e.file.Line()
}

// cached emits FCached: F's signature, and a body that calls Do with F in
// the compute function.
func (e *emitter) cached(f *cachedFunc, helper string) {
	used := e.locals()
	ctxName := used.name("ctx")
	var results []jen.Code
	for _, r := range f.Results {
		results = append(results, e.typ(r))
	}
	if f.Err {
		results = append(results, jen.Error())
	}
	if f.Ctx {
		e.file.Commentf("%sCached is %s with its results cached by cachegen (//cache:version=%d),", f.Name, f.displayName(), f.Directive.Version)
		e.file.Comment("in the cache ctx carries (cacheruntime.WithCache), else the default cache.")
		e.file.Add(e.decl(f, f.Name+"Cached").Params(e.wrapperParams(f, false)...).Params(results...).Block(
			e.cachedBody(f, helper, ctxName, jen.Nil(), used)...))
		e.file.Line()
		return
	}
	// A function without a context takes its cache as an argument.
	cache := used.name("c")
	params := append([]jen.Code{jen.Id(cache).Op("*").Add(e.rt("Cache"))}, e.wrapperParams(f, false)...)
	e.file.Commentf("%sCachedIn is %s with its results cached by cachegen (//cache:version=%d)", f.Name, f.displayName(), f.Directive.Version)
	e.file.Comment("in c, or, if c is nil, in the default cache.")
	e.file.Add(e.decl(f, f.Name+"CachedIn").Params(params...).Params(results...).Block(
		e.cachedBody(f, helper, ctxName, jen.Id(cache), used)...))
	e.file.Line()
	args := []jen.Code{jen.Nil()}
	for i, p := range f.Params {
		if f.Variadic && i == len(f.Params)-1 {
			args = append(args, jen.Id(p.Name).Op("..."))
		} else {
			args = append(args, jen.Id(p.Name))
		}
	}
	var target *jen.Statement
	if f.Recv != nil {
		target = jen.Id(f.Recv.Name).Dot(f.Name + "CachedIn")
	} else {
		target = jen.Id(f.Name + "CachedIn")
		if len(f.TypeParams) > 0 {
			tps := make([]jen.Code, len(f.TypeParams))
			for i, tp := range f.TypeParams {
				tps[i] = jen.Id(tp.Obj().Name())
			}
			target = target.Index(jen.List(tps...))
		}
	}
	e.file.Commentf("%sCached is %s with its results cached by cachegen in the default cache.", f.Name, f.displayName())
	e.file.Add(e.decl(f, f.Name+"Cached").Params(e.wrapperParams(f, false)...).Params(results...).Block(
		jen.Return(target.Call(args...))))
	e.file.Line()
}

// cachedBody is FCached's body: Do, whose compute function calls F, and
// the results unpacked from what Do returns.
func (e *emitter) cachedBody(f *cachedFunc, helper, ctxName string, cache jen.Code, used locals) []jen.Code {
	// The call of the original function inside the compute function.
	var target *jen.Statement
	if f.Recv != nil {
		target = jen.Id(f.Recv.Name).Dot(f.Name)
	} else {
		target = jen.Id(f.Name)
		if len(f.TypeParams) > 0 {
			tps := make([]jen.Code, len(f.TypeParams))
			for i, tp := range f.TypeParams {
				tps[i] = jen.Id(tp.Obj().Name())
			}
			target = target.Index(jen.List(tps...))
		}
	}
	var args []jen.Code
	for i, p := range f.Params {
		switch {
		case i == 0 && f.Ctx:
			args = append(args, jen.Id(ctxName))
		case f.Variadic && i == len(f.Params)-1:
			args = append(args, jen.Id(p.Name).Op("..."))
		default:
			args = append(args, jen.Id(p.Name))
		}
	}
	original := target.Call(args...)

	var outer jen.Code = jen.Qual("context", "Background").Call()
	closureParam := jen.Qual("context", "Context")
	if f.Ctx {
		outer = jen.Id(f.Params[0].Name)
		closureParam = jen.Id(ctxName).Qual("context", "Context")
	}
	do := func(result jen.Code, inner ...jen.Code) *jen.Statement {
		return e.rt("Do").Call(outer, cache, e.helperCall(f, helper),
			jen.Func().Params(closureParam).Params(result, jen.Error()).Block(inner...))
	}

	switch {
	case len(f.Results) == 1 && f.Err:
		return []jen.Code{jen.Return(do(e.typ(f.Results[0]), jen.Return(original)))}
	case len(f.Results) == 1:
		r := used.name("r")
		return []jen.Code{
			jen.List(jen.Id(r), jen.Id("_")).Op(":=").Add(do(e.typ(f.Results[0]), jen.Return(original, jen.Nil()))),
			jen.Return(jen.Id(r)),
		}
	}
	// Several results travel together in a struct.
	tupleFields := make([]jen.Code, len(f.Results))
	for i, t := range f.Results {
		tupleFields[i] = jen.Id("R" + strconv.Itoa(i)).Add(e.typ(t))
	}
	tuple := func() *jen.Statement { return jen.Struct(tupleFields...) }
	r := used.name("r")
	errName := used.name("err")
	vals := make([]jen.Code, len(f.Results))
	rets := make([]jen.Code, len(f.Results))
	for i := range f.Results {
		vals[i] = jen.Id(used.name("r" + strconv.Itoa(i)))
		rets[i] = jen.Id(r).Dot("R" + strconv.Itoa(i))
	}
	inner := []jen.Code{
		jen.List(vals...).Op(":=").Add(original),
		jen.Return(tuple().Values(vals...), jen.Nil()),
	}
	errLHS := jen.Id("_")
	if f.Err {
		inner = []jen.Code{
			jen.List(append(vals, jen.Id(errName))...).Op(":=").Add(original),
			jen.Return(tuple().Values(vals...), jen.Id(errName)),
		}
		rets = append(rets, jen.Id(errName))
		errLHS = jen.Id(errName)
	}
	return []jen.Code{
		jen.List(jen.Id(r), errLHS).Op(":=").Add(do(tuple(), inner...)),
		jen.Return(rets...),
	}
}

// duration spells d in the largest whole unit.
func (e *emitter) duration(d time.Duration) jen.Code {
	units := []struct {
		d    time.Duration
		name string
	}{{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"}, {time.Millisecond, "Millisecond"}, {time.Microsecond, "Microsecond"}}
	for _, u := range units {
		if d%u.d == 0 {
			return jen.Lit(int(d / u.d)).Op("*").Add(e.qual(types.NewPackage("time", "time"), u.name))
		}
	}
	return e.qual(types.NewPackage("time", "time"), "Duration").Call(jen.Lit(int64(d)))
}
