package generator

import (
	"bytes"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/dave/jennifer/jen"
)

const (
	runtimePath = "github.com/cachegen/cachegen/runtime"
	sweepPath   = "github.com/cachegen/cachegen/runtime/sweep"
)

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
	switch path {
	case runtimePath:
		return "runtime"
	case sweepPath:
		return "sweep"
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

// name allocates a package-level name for the file: want, or want2…
func (e *emitter) name(want string) string {
	name := want
	for i := 2; e.taken[name]; i++ {
		name = want + strconv.Itoa(i)
	}
	e.taken[name] = true
	return name
}
