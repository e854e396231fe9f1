package generator

import (
	"go/types"
	"strings"

	"github.com/dave/jennifer/jen"
)

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
	if f.Directive.Map {
		fields = append(fields, jen.Id("Map").Op(":").True())
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
