package generator

import (
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"
)

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
	sw := e.importName(sweepPath, "cachesweep")
	e.file.Commentf("%sCachedAll is %s over every element of %s, as one cached sweep (%s.Args):", f.Name, f.displayName(), argsName, sw)
	e.file.Commentf("hits first, misses on bounded workers, results in %s' order, in the cache %s", argsName, ctxName)
	e.file.Comment("carries (cacheruntime.WithCache), else the default cache.")
	e.file.Add(e.decl(f, f.Name+"CachedAll").Params(
		jen.Id(ctxName).Qual("context", "Context"), jen.Id(argsName).Index().Add(argsType()), jen.Id(opts).Op("...").Add(jen.Qual(sweepPath, "Option")),
	).Params(jen.Index().Add(result), jen.Error()).Block(
		jen.Return(jen.Qual(sweepPath, "Args").Call(jen.Id(ctxName), jen.Id(argsName),
			jen.Func().Params(jen.Id(a).Add(argsType())).Params(e.rt("Call"), jen.Func().Params(jen.Qual("context", "Context")).Params(result, jen.Error())).Block(
				jen.Return(e.helperCallWith(f, helper, keyed), jen.Func().Params(computeParam).Params(result, jen.Error()).Block(body...)),
			), jen.Id(opts).Op("...")))))
	e.file.Line()
}
