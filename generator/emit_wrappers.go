package generator

import (
	"fmt"
	"go/types"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"
)

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
