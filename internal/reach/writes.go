package reach

import (
	"go/ast"
	"go/token"
	"go/types"
)

// Which package-level variables code may write decides whether an init,
// or the initialiser of a variable nobody reads, counts for a function
// (see reachWithInits). A declaration writes a variable v when v is at
// the root of what it assigns (v = …, v[k] = …, v.f = …, *v = …, v++, a
// range assigning to it, clear, copy, delete or append on it), when it
// takes v's address or calls a pointer method on it, and when it returns
// v, keeps v in another variable or passes v to code it cannot resolve
// while v holds references (a map, a slice, a pointer). When it passes v
// to a function it can resolve, the write is that function's: a flow,
// decided once what the callee does with its parameter is known
// (mayWriteParam), through any number of calls.

// A flow is a value a declaration passes to a function: a package-level
// variable, or one of its own parameters, as the callee's argument arg
// (-1 for a method's receiver).
type flow struct {
	callee  key
	arg     int
	v       key // the variable passed, when !isParam
	param   int // the parameter passed, when isParam
	isParam bool
}

// writesOf reads what a typed declaration writes: the variables in c.writes,
// its parameters and flows in c.d.
func (c *collector) writesOf(n ast.Node, info *types.Info) {
	d := c.d
	params := map[types.Object]int{}
	if fd, ok := n.(*ast.FuncDecl); ok {
		if fd.Recv != nil {
			for _, f := range fd.Recv.List {
				for _, name := range f.Names {
					params[info.Defs[name]] = -1
				}
			}
		}
		i := 0
		for _, f := range fd.Type.Params.List {
			if len(f.Names) == 0 {
				i++
			}
			for _, name := range f.Names {
				params[info.Defs[name]] = i
				i++
			}
			if _, ok := f.Type.(*ast.Ellipsis); ok {
				d.variadic = true
			}
		}
		d.nparams = i
	}
	// classify returns what an identifier stands for: a package-level
	// variable, a parameter, or neither.
	classify := func(id *ast.Ident) (v key, param int, isVar, isParam bool) {
		obj, ok := info.Uses[id].(*types.Var)
		if !ok {
			return key{}, 0, false, false
		}
		if i, ok := params[obj]; ok {
			return key{}, i, false, true
		}
		if !obj.IsField() && obj.Pkg() != nil && obj.Parent() == obj.Pkg().Scope() && !languageImpl(obj.Pkg().Path()) {
			return key{obj.Pkg().Path(), obj.Name()}, 0, true, false
		}
		return key{}, 0, false, false
	}
	write := func(e ast.Expr) {
		for _, id := range rootIdents(e) {
			if v, i, isVar, isParam := classify(id); isVar {
				c.writes[v] = true
			} else if isParam {
				d.paramWrites[i] = true
			}
		}
	}
	// refs reports whether the value of e holds references: a slice of
	// an array, a pointer into a struct, a conversion of a map do, as the
	// variable at their root need not.
	refs := func(e ast.Expr) bool {
		t := info.TypeOf(e)
		return t == nil || holdsReferences(t, nil)
	}
	// escape writes e's roots when e's value holds references: they go
	// where this declaration cannot follow them.
	escape := func(e ast.Expr) {
		if refs(e) {
			write(e)
		}
	}
	// pass records e given to callee as its argument arg.
	pass := func(callee key, arg int, e ast.Expr) {
		if arg >= 0 && !refs(e) {
			return // a copy
		}
		for _, id := range rootIdents(e) {
			if v, i, isVar, isParam := classify(id); isVar {
				d.flows = append(d.flows, flow{callee: callee, arg: arg, v: v})
			} else if isParam {
				d.flows = append(d.flows, flow{callee: callee, arg: arg, param: i, isParam: true})
			}
		}
	}
	calledHere := map[*ast.SelectorExpr]bool{} // method values called at once: their writes are the callee's
	ast.Inspect(n, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
				calledHere[sel] = true
			}
		}
		return true
	})
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if n.Tok != token.DEFINE {
					write(l)
				}
			}
			for _, r := range n.Rhs {
				escape(r) // kept in a variable that may be written through
			}
		case *ast.ValueSpec:
			for _, r := range n.Values {
				escape(r)
			}
		case *ast.ReturnStmt:
			for _, r := range n.Results {
				escape(r)
			}
		case *ast.IncDecStmt:
			write(n.X)
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN {
				if n.Key != nil {
					write(n.Key)
				}
				if n.Value != nil {
					write(n.Value)
				}
			}
			// Its elements, when they hold references, are written
			// through by what the loop does with them.
			if n.Value != nil && refs(n.Value) || n.Key != nil && refs(n.Key) {
				write(n.X)
			}
		case *ast.SelectorExpr:
			// A pointer method of an addressable value, as a value or
			// called: &x, which the method may write through.
			if sel := info.Selections[n]; sel != nil && sel.Kind() == types.MethodVal && !sel.Indirect() {
				if sig, ok := sel.Obj().Type().(*types.Signature); ok && sig.Recv() != nil {
					if _, ptr := sig.Recv().Type().(*types.Pointer); ptr && !calledHere[n] {
						write(n.X)
					}
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				write(n.X)
			}
		case *ast.CompositeLit:
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					e = kv.Value
				}
				escape(e)
			}
		case *ast.SendStmt:
			escape(n.Value)
		case *ast.CallExpr:
			c.call(n, info, write, escape, pass)
		}
		return true
	})
}

// call reads a call: a builtin that writes its first argument, a function
// or method it can resolve (flows), or code it cannot (escapes).
func (c *collector) call(call *ast.CallExpr, info *types.Info, write, escape func(ast.Expr), pass func(key, int, ast.Expr)) {
	fun := ast.Unparen(call.Fun)
	if tv, ok := info.Types[fun]; ok && tv.IsType() {
		return // a conversion
	}
	if id, ok := fun.(*ast.Ident); ok {
		if b, ok := info.Uses[id].(*types.Builtin); ok {
			switch b.Name() {
			case "append", "clear", "copy", "delete":
				if len(call.Args) > 0 {
					write(call.Args[0])
				}
				if b.Name() == "append" {
					for _, a := range call.Args[1:] {
						escape(a) // now also held by the slice appended to
					}
				}
			}
			return
		}
	}
	switch f := fun.(type) {
	case *ast.IndexExpr:
		fun = f.X // an instantiation
	case *ast.IndexListExpr:
		fun = f.X
	}
	callee, recv, ok := staticCallee(fun, info)
	args := call.Args
	if ok && recv == nil {
		if sel, isSel := fun.(*ast.SelectorExpr); isSel {
			if s := info.Selections[sel]; s != nil && s.Kind() == types.MethodExpr && len(args) > 0 {
				recv, args = args[0], args[1:] // T.M(x, …)
			}
		}
	}
	if !ok {
		if sel, isSel := fun.(*ast.SelectorExpr); isSel && info.Selections[sel] != nil {
			escape(sel.X) // a method called through an interface
		}
		for _, a := range call.Args {
			escape(a)
		}
		return
	}
	if recv != nil {
		pass(callee, -1, recv)
	}
	for i, a := range args {
		pass(callee, i, a)
	}
}

// staticCallee resolves the function a call expression's function
// denotes, with the receiver expression of a method value; ok is false
// for an interface method, a function value, or a function the analysis
// does not read.
func staticCallee(fun ast.Expr, info *types.Info) (callee key, recv ast.Expr, ok bool) {
	var id *ast.Ident
	switch f := fun.(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
		if s := info.Selections[f]; s != nil && s.Kind() == types.MethodVal {
			recv = f.X
		}
	default:
		return key{}, nil, false
	}
	fn, isFunc := info.Uses[id].(*types.Func)
	if !isFunc || fn.Pkg() == nil {
		return key{}, nil, false
	}
	fn = fn.Origin()
	sig := fn.Type().(*types.Signature)
	if r := sig.Recv(); r != nil {
		t := r.Type()
		if p, isPtr := t.(*types.Pointer); isPtr {
			t = p.Elem()
		}
		named, isNamed := types.Unalias(t).(*types.Named)
		if !isNamed || types.IsInterface(t) {
			return key{}, nil, false
		}
		return key{fn.Pkg().Path(), named.Origin().Obj().Name() + "." + fn.Name()}, recv, true
	}
	return key{fn.Pkg().Path(), fn.Name()}, nil, true
}

// mayWriteParam reports whether the function k may write through its
// argument arg (-1: its receiver): itself, or by passing it on to a
// function that may. A function read from syntax alone, or without a
// body, may write through any.
func (p *Program) mayWriteParam(k key, arg int) bool {
	w, _ := p.writesParam(k, arg, map[paramAt]bool{})
	return w
}

// writesParam is mayWriteParam, following flows depth first: a flow back
// to a function on the path (a call cycle) adds nothing, so a "no" found
// below such a flow is kept only for this query, and the answer does not
// hang on the order of queries.
func (p *Program) writesParam(k key, arg int, path map[paramAt]bool) (w, cyclic bool) {
	pk := p.pkg(k.pkg)
	if pk == nil || languageImpl(k.pkg) {
		return false, false
	}
	name := pk.canonical(k.name)
	if name == "" {
		return false, false
	}
	d := p.decl(pk, name)
	if d.allParams {
		return true, false
	}
	if d.variadic && arg >= d.nparams-1 {
		arg = d.nparams - 1
	}
	pa := paramAt{key{k.pkg, name}, arg}
	if w, ok := p.paramMemo[pa]; ok {
		return w, false
	}
	if path[pa] {
		return false, true
	}
	path[pa] = true
	defer delete(path, pa)
	w = d.paramWrites[arg]
	for _, f := range d.flows {
		if !w && f.isParam && f.param == arg {
			fw, fc := p.writesParam(f.callee, f.arg, path)
			w, cyclic = fw, cyclic || fc
		}
	}
	if w || !cyclic {
		p.paramMemo[pa] = w
	}
	return w, cyclic && !w
}

type paramAt struct {
	fn  key
	arg int
}

// holdsReferences reports whether a value of type t refers to memory
// beyond itself (a pointer, slice, map, channel, function or interface,
// or a struct or array of them): code that reads such a variable can
// write through what it holds.
func holdsReferences(t types.Type, seen map[types.Type]bool) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Kind() == types.UnsafePointer
	case *types.Array:
		return holdsReferences(u.Elem(), seen)
	case *types.Struct:
		if seen == nil {
			seen = map[types.Type]bool{}
		}
		if seen[t] {
			return false
		}
		seen[t] = true
		for i := range u.NumFields() {
			if holdsReferences(u.Field(i).Type(), seen) {
				return true
			}
		}
		return false
	}
	return true
}

// rootIdents returns the identifiers an addressable expression writes
// through: x in x, x.f, x[i], *x, (x), x[i:j], x.(T), and T(x) (read as
// a conversion: a call's result is never the variable, so this can only
// add a root); for x.f with x an identifier both x and f, since only
// types tell a package's variable (f) from a variable's field (x), and
// only the one that resolves to a variable counts.
func rootIdents(e ast.Expr) []*ast.Ident {
	for {
		switch x := e.(type) {
		case *ast.TypeAssertExpr:
			e = x.X
		case *ast.CallExpr:
			if len(x.Args) != 1 {
				return nil
			}
			e = x.Args[0]
		case *ast.Ident:
			return []*ast.Ident{x}
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok {
				return []*ast.Ident{id, x.Sel}
			}
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.SliceExpr:
			e = x.X
		default:
			return nil
		}
	}
}
