package generator

import (
	"bytes"
	"fmt"
	"go/format"
	"go/token"
	"go/types"
	"runtime"
	"strconv"
	"strings"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/dave/jennifer/jen"
	"golang.org/x/sync/errgroup"
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
		e.file.Comment(chunkMark)
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

// chunkMark begins, in the unformatted file, the declarations of each
// function, so that render formats them in parallel.
const chunkMark = "cachegen:chunk"

// render returns the file, formatted. go/format formats declarations
// alone as it formats them in a file, so the header (the package clause,
// imports and records) and runs of the functions' declarations are
// formatted apart, on every core, and joined: the result is what
// formatting the whole file gives (the golden tests compare it, and
// TestRenderIsFormatted checks a package of many functions), sooner on a
// machine of several cores.
func (e *emitter) render() ([]byte, error) {
	e.file.NoFormat = true
	var buf bytes.Buffer
	if err := e.file.Render(&buf); err != nil {
		return nil, err
	}
	chunks := bytes.Split(buf.Bytes(), []byte("\n// "+chunkMark+"\n"))
	// The header alone, then the functions in a few runs per core: runs of
	// declarations, each made a file by a package clause, so that it is
	// parsed once.
	const clause = "package p\n\n"
	pieces := [][]byte{chunks[0]}
	funcs := chunks[1:]
	runs := min(len(funcs), 4*runtime.GOMAXPROCS(0))
	for r := range runs {
		run := funcs[r*len(funcs)/runs : (r+1)*len(funcs)/runs]
		pieces = append(pieces, append([]byte(clause), bytes.Join(run, []byte("\n\n"))...))
	}
	formatted := make([][]byte, len(pieces))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, c := range pieces {
		g.Go(func() error {
			out, err := format.Source(c)
			if err != nil {
				return fmt.Errorf("formatting the generated code: %v\n%s", err, c)
			}
			if i > 0 {
				out = bytes.TrimPrefix(out, []byte(clause))
			}
			formatted[i] = bytes.TrimSpace(out)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return append(bytes.Join(formatted, []byte("\n\n")), '\n'), nil
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
