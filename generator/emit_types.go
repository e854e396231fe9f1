package generator

import (
	"fmt"
	"go/types"
	"strconv"
	"time"

	"github.com/dave/jennifer/jen"
)

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

func (e *emitter) typeParams(tps []*types.TypeParam) []jen.Code {
	out := make([]jen.Code, len(tps))
	for i, tp := range tps {
		out[i] = jen.Id(tp.Obj().Name()).Add(e.typ(tp.Constraint()))
	}
	return out
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
