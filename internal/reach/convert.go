package reach

import (
	"go/ast"
	"go/token"
	"go/types"
)

// A method can be called through an interface only on a value held in
// one: rapid type analysis counts, as the types whose methods an
// interface call may run, the runtime types, those of the values code
// converts to an interface, and what reflection reaches from them (their
// fields, elements, pointers). A type that code only names (in a type
// switch, a signature, a conversion from an interface) holds no value in
// an interface because of it.
//
// conversions records the runtime types of typed code: at each place Go
// converts a value to an interface type implicitly or explicitly (an
// assignment, a variable's initialiser, a call's argument, a return, a
// composite literal's element, a send, a comparison with an interface, a
// map index, a conversion), the value's type; and the type arguments of
// the generic code it instantiates, which may convert their values.
func (c *collector) conversions(n ast.Node, info *types.Info) {
	convert := func(e ast.Expr, to types.Type) {
		if to == nil || !types.IsInterface(to) {
			return
		}
		if from := info.TypeOf(e); from != nil && !types.IsInterface(from) {
			c.runtimeType(from)
		}
	}
	// tupleConvert converts the values of the expressions es, or of the
	// one call among them that returns several, to the types to.
	tupleConvert := func(es []ast.Expr, to func(i int) types.Type, n int) {
		if len(es) == 1 && n > 1 {
			if tup, ok := info.TypeOf(es[0]).(*types.Tuple); ok {
				for i := range tup.Len() {
					if t := to(i); t != nil && types.IsInterface(t) && !types.IsInterface(tup.At(i).Type()) {
						c.runtimeType(tup.At(i).Type())
					}
				}
			}
			return
		}
		for i, e := range es {
			convert(e, to(i))
		}
	}
	var stack []ast.Node
	ast.Inspect(n, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.ASSIGN {
				tupleConvert(n.Rhs, func(i int) types.Type {
					if i < len(n.Lhs) {
						return info.TypeOf(n.Lhs[i])
					}
					return nil
				}, len(n.Lhs))
			}
		case *ast.ValueSpec:
			if n.Type != nil {
				t := info.TypeOf(n.Type)
				tupleConvert(n.Values, func(int) types.Type { return t }, len(n.Names))
			}
		case *ast.ReturnStmt:
			if sig := enclosingSignature(stack, info); sig != nil {
				tupleConvert(n.Results, func(i int) types.Type {
					if i < sig.Results().Len() {
						return sig.Results().At(i).Type()
					}
					return nil
				}, sig.Results().Len())
			}
		case *ast.CallExpr:
			c.callConversions(n, info, convert, tupleConvert)
		case *ast.CompositeLit:
			compositeConversions(n, info, convert)
		case *ast.SendStmt:
			if ch, ok := typeUnder(info.TypeOf(n.Chan)).(*types.Chan); ok {
				convert(n.Value, ch.Elem())
			}
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN {
				key, elem := rangeTypes(info.TypeOf(n.X))
				for _, kv := range []struct {
					e    ast.Expr
					from types.Type
				}{{n.Key, key}, {n.Value, elem}} {
					if to := info.TypeOf(kv.e); kv.e != nil && kv.from != nil && to != nil && types.IsInterface(to) && !types.IsInterface(kv.from) {
						c.runtimeType(kv.from)
					}
				}
			}
		case *ast.BinaryExpr:
			if n.Op == token.EQL || n.Op == token.NEQ {
				convert(n.X, info.TypeOf(n.Y))
				convert(n.Y, info.TypeOf(n.X))
			}
		case *ast.IndexExpr:
			if m, ok := typeUnder(info.TypeOf(n.X)).(*types.Map); ok {
				convert(n.Index, m.Key())
			}
		case *ast.Ident:
			if inst, ok := info.Instances[n]; ok {
				for i := range inst.TypeArgs.Len() {
					c.runtimeType(inst.TypeArgs.At(i))
				}
			}
		}
		return true
	})
}

// callConversions converts a call's arguments to its parameters' types:
// a conversion's operand to its type, append's elements to its slice's
// element type, panic's argument to any.
func (c *collector) callConversions(call *ast.CallExpr, info *types.Info, convert func(ast.Expr, types.Type), tupleConvert func([]ast.Expr, func(int) types.Type, int)) {
	fun := ast.Unparen(call.Fun)
	if tv, ok := info.Types[fun]; ok && tv.IsType() {
		if len(call.Args) == 1 {
			convert(call.Args[0], tv.Type)
		}
		return
	}
	if id, ok := fun.(*ast.Ident); ok {
		if b, ok := info.Uses[id].(*types.Builtin); ok {
			switch b.Name() {
			case "append":
				if len(call.Args) > 1 && !call.Ellipsis.IsValid() {
					if s, ok := typeUnder(info.TypeOf(call.Args[0])).(*types.Slice); ok {
						for _, a := range call.Args[1:] {
							convert(a, s.Elem())
						}
					}
				}
			case "panic":
				if len(call.Args) == 1 {
					convert(call.Args[0], types.Universe.Lookup("any").Type())
				}
			}
			return
		}
	}
	sig, ok := typeUnder(info.TypeOf(fun)).(*types.Signature)
	if !ok {
		return
	}
	params := sig.Params()
	param := func(i int) types.Type {
		switch {
		case sig.Variadic() && i >= params.Len()-1:
			last := params.At(params.Len() - 1).Type()
			if call.Ellipsis.IsValid() {
				return last
			}
			if s, ok := last.Underlying().(*types.Slice); ok {
				return s.Elem()
			}
			return nil
		case i < params.Len():
			return params.At(i).Type()
		}
		return nil
	}
	n := params.Len()
	if sig.Variadic() {
		n = -1 // any number: a call of several results is spread over them
	}
	if len(call.Args) == 1 && n != 1 {
		if tup, ok := info.TypeOf(call.Args[0]).(*types.Tuple); ok {
			for i := range tup.Len() {
				if t := param(i); t != nil && types.IsInterface(t) && !types.IsInterface(tup.At(i).Type()) {
					c.runtimeType(tup.At(i).Type())
				}
			}
			return
		}
	}
	for i, a := range call.Args {
		convert(a, param(i))
	}
}

// compositeConversions converts a composite literal's elements to the
// types of the fields, elements or keys they fill.
func compositeConversions(lit *ast.CompositeLit, info *types.Info, convert func(ast.Expr, types.Type)) {
	switch t := typeUnder(info.TypeOf(lit)).(type) {
	case *types.Struct:
		for i, e := range lit.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if id, ok := kv.Key.(*ast.Ident); ok {
					for f := range t.Fields() {
						if f.Name() == id.Name {
							convert(kv.Value, f.Type())
						}
					}
				}
			} else if i < t.NumFields() {
				convert(e, t.Field(i).Type())
			}
		}
	case *types.Slice, *types.Array, *types.Map:
		var key, elem types.Type
		switch t := t.(type) {
		case *types.Slice:
			elem = t.Elem()
		case *types.Array:
			elem = t.Elem()
		case *types.Map:
			key, elem = t.Key(), t.Elem()
		}
		for _, e := range lit.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if key != nil {
					convert(kv.Key, key)
				}
				e = kv.Value
			}
			convert(e, elem)
		}
	}
}

// enclosingSignature returns the signature of the innermost function
// (declaration or literal) on the stack.
func enclosingSignature(stack []ast.Node, info *types.Info) *types.Signature {
	for i := len(stack) - 1; i >= 0; i-- {
		switch f := stack[i].(type) {
		case *ast.FuncLit:
			sig, _ := info.TypeOf(f).(*types.Signature)
			return sig
		case *ast.FuncDecl:
			if obj := info.Defs[f.Name]; obj != nil {
				sig, _ := obj.Type().(*types.Signature)
				return sig
			}
			return nil
		}
	}
	return nil
}

// rangeTypes returns the types of the key and the value a range over a
// value of type t gives.
func rangeTypes(t types.Type) (key, elem types.Type) {
	switch u := typeUnder(t).(type) {
	case *types.Slice:
		return types.Typ[types.Int], u.Elem()
	case *types.Array:
		return types.Typ[types.Int], u.Elem()
	case *types.Pointer:
		if a, ok := u.Elem().Underlying().(*types.Array); ok {
			return types.Typ[types.Int], a.Elem()
		}
	case *types.Map:
		return u.Key(), u.Elem()
	case *types.Chan:
		return u.Elem(), nil
	case *types.Basic:
		if u.Info()&types.IsString != 0 {
			return types.Typ[types.Int], types.Typ[types.Rune]
		}
	}
	return nil, nil
}

func typeUnder(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	return t.Underlying()
}

// runtimeType records a type of a value held in an interface, and the
// named types its structure holds, which reflection can reach.
func (c *collector) runtimeType(t types.Type) {
	switch t := t.(type) {
	case *types.Alias:
		c.runtimeType(types.Unalias(t))
	case *types.Named:
		o := t.Origin().Obj()
		if o.Pkg() != nil && o.Parent() == o.Pkg().Scope() && !languageImpl(o.Pkg().Path()) {
			c.rtypes[key{o.Pkg().Path(), o.Name()}] = true
		} else if o.Parent() != nil && o.Pkg() != nil && o.Parent() != o.Pkg().Scope() {
			c.runtimeType(t.Underlying()) // a local type: what it holds
		}
		for i := range t.TypeArgs().Len() {
			c.runtimeType(t.TypeArgs().At(i))
		}
	case *types.Pointer:
		c.runtimeType(t.Elem())
	case *types.Slice:
		c.runtimeType(t.Elem())
	case *types.Array:
		c.runtimeType(t.Elem())
	case *types.Map:
		c.runtimeType(t.Key())
		c.runtimeType(t.Elem())
	case *types.Chan:
		c.runtimeType(t.Elem())
	case *types.Struct:
		for i := range t.NumFields() {
			c.runtimeType(t.Field(i).Type())
		}
	}
}

// hasInterfaceParam reports whether a function declaration takes a value
// whose dynamic type its caller chooses: a parameter (or receiver) of
// interface type, or holding one.
func hasInterfaceParam(fd *ast.FuncDecl, info *types.Info) bool {
	obj, ok := info.Defs[fd.Name].(*types.Func)
	if !ok {
		return true
	}
	sig := obj.Type().(*types.Signature)
	vars := []*types.Var{}
	if sig.Recv() != nil {
		vars = append(vars, sig.Recv())
	}
	for v := range sig.Params().Variables() {
		vars = append(vars, v)
	}
	for _, v := range vars {
		if holdsInterface(v.Type(), map[types.Type]bool{}) {
			return true
		}
	}
	return false
}

func holdsInterface(t types.Type, seen map[types.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Interface:
		return true
	case *types.Pointer:
		return holdsInterface(u.Elem(), seen)
	case *types.Slice:
		return holdsInterface(u.Elem(), seen)
	case *types.Array:
		return holdsInterface(u.Elem(), seen)
	case *types.Map:
		return holdsInterface(u.Key(), seen) || holdsInterface(u.Elem(), seen)
	case *types.Chan:
		return holdsInterface(u.Elem(), seen)
	case *types.Struct:
		for i := range u.NumFields() {
			if holdsInterface(u.Field(i).Type(), seen) {
				return true
			}
		}
	}
	return false
}

// capturesLoopVar reports whether a declaration has a loop whose variable
// outlives an iteration: captured by a function literal in the loop, its
// address taken, or a pointer method called on it. Only such a loop
// computes otherwise under the go line's loop semantics (a variable per
// loop before Go 1.22, per iteration since). With types (info not nil),
// the loop's variables are told by their objects; without, by their names
// (a function literal's parameters of the same name shadow them).
func capturesLoopVar(n ast.Node, info *types.Info) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if found {
			return false
		}
		var ids []ast.Expr
		var body ast.Node
		switch l := n.(type) {
		case *ast.ForStmt:
			if as, ok := l.Init.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
				ids, body = as.Lhs, l
			}
		case *ast.RangeStmt:
			if l.Tok == token.DEFINE {
				ids, body = []ast.Expr{l.Key, l.Value}, l.Body
			}
		}
		vars := loopVariables{names: map[string]bool{}, objs: map[types.Object]bool{}, info: info}
		for _, e := range ids {
			if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
				vars.names[id.Name] = true
				if info != nil {
					if obj := info.Defs[id]; obj != nil {
						vars.objs[obj] = true
					}
				}
			}
		}
		if len(vars.names) > 0 && vars.escape(body) {
			found = true
		}
		return !found
	})
	return found
}

// loopVariables are the variables a loop declares.
type loopVariables struct {
	names map[string]bool
	objs  map[types.Object]bool
	info  *types.Info
}

// is reports whether an identifier denotes one of the loop's variables.
func (l loopVariables) is(id *ast.Ident, shadowed map[string]bool) bool {
	if l.info != nil {
		return l.objs[l.info.Uses[id]]
	}
	return l.names[id.Name] && !shadowed[id.Name]
}

// escape reports whether one of the loop's variables outlives an
// iteration of body.
func (l loopVariables) escape(body ast.Node) bool {
	found := false
	named := func(e ast.Expr) bool {
		for _, id := range rootIdents(e) {
			if l.is(id, nil) {
				return true
			}
		}
		return false
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			shadowed := map[string]bool{}
			for _, f := range n.Type.Params.List {
				for _, name := range f.Names {
					shadowed[name.Name] = true
				}
			}
			ast.Inspect(n.Body, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok && l.is(id, shadowed) {
					found = true
				}
				return !found
			})
			return false
		case *ast.UnaryExpr:
			if n.Op == token.AND && named(n.X) {
				found = true
			}
		case *ast.SliceExpr:
			// Slicing an array takes its address.
			if named(n.X) {
				if l.info == nil {
					found = true
				} else if _, arr := typeUnder(l.info.TypeOf(n.X)).(*types.Array); arr {
					found = true
				}
			}
		case *ast.SelectorExpr:
			if l.info == nil {
				break
			}
			if sel := l.info.Selections[n]; sel != nil && sel.Kind() == types.MethodVal && !sel.Indirect() {
				if sig, ok := sel.Obj().Type().(*types.Signature); ok && sig.Recv() != nil {
					if _, ptr := sig.Recv().Type().(*types.Pointer); ptr && named(n.X) {
						found = true // an implicit &x
					}
				}
			}
		}
		return !found
	})
	return found
}

// isGeneric reports whether a function declaration has type parameters,
// its own or its receiver's.
func isGeneric(fd *ast.FuncDecl) bool {
	if fd.Type.TypeParams != nil && len(fd.Type.TypeParams.List) > 0 {
		return true
	}
	if fd.Recv != nil && len(fd.Recv.List) > 0 {
		switch t := ast.Unparen(fd.Recv.List[0].Type).(type) {
		case *ast.StarExpr:
			_, a := t.X.(*ast.IndexExpr)
			_, b := t.X.(*ast.IndexListExpr)
			return a || b
		case *ast.IndexExpr, *ast.IndexListExpr:
			return true
		}
	}
	return false
}

// callerTypes returns the types that the callers in the packages the
// patterns matched give the roots that take a value whose dynamic type
// the caller chooses (an interface, or a type argument): the types of
// their arguments and their type arguments, as runtime types. A call of a
// generated wrapper counts as a call of its function.
func (p *Program) callerTypes(roots []key) []key {
	var want []key
	for _, r := range roots {
		if pk := p.pkg(r.pkg); pk != nil && pk.src.Has(r.name) && p.decl(pk, r.name).ifaceParam {
			want = append(want, r)
		}
	}
	if len(want) == 0 {
		return nil
	}
	if p.calls == nil {
		p.indexCalls()
	}
	seen := map[key]bool{}
	var out []key
	for _, r := range want {
		for _, t := range p.calls[r] {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// indexCalls reads, once, every call in the packages the patterns
// matched: by callee, the runtime types of its arguments and type
// arguments.
func (p *Program) indexCalls() {
	p.calls = map[key][]key{}
	for _, r := range p.roots {
		info := r.TypesInfo
		if info == nil {
			continue
		}
		for _, f := range r.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				fun := ast.Unparen(call.Fun)
				var typeArgs []ast.Expr // spelled, as a call of a wrapper not generated yet has them
				switch x := fun.(type) {
				case *ast.IndexExpr:
					fun, typeArgs = x.X, []ast.Expr{x.Index}
				case *ast.IndexListExpr:
					fun, typeArgs = x.X, x.Indices
				}
				callee, id, ok := calleeOf(fun, info, r.PkgPath)
				if !ok {
					return true
				}
				if pk := p.pkg(callee.pkg); pk != nil {
					if name := pk.canonical(callee.name); name != "" {
						callee.name = name
					}
				}
				c := &collector{rtypes: map[key]bool{}}
				for _, a := range call.Args {
					if t := info.TypeOf(a); t != nil {
						c.runtimeType(t)
					}
				}
				if inst, ok := info.Instances[id]; ok {
					for i := range inst.TypeArgs.Len() {
						c.runtimeType(inst.TypeArgs.At(i))
					}
				}
				for _, a := range typeArgs {
					if tv, ok := info.Types[a]; ok && tv.IsType() {
						c.runtimeType(tv.Type)
					}
				}
				for t := range c.rtypes {
					p.calls[callee] = append(p.calls[callee], t)
				}
				return true
			})
		}
	}
}

// calleeOf returns the function a call's function expression denotes, in
// a package pkgPath of the build: as the types resolve it, or, where they
// could not (a call of a generated wrapper before it is generated), by
// its name, in its package or the one its qualifier imports.
func calleeOf(fun ast.Expr, info *types.Info, pkgPath string) (key, *ast.Ident, bool) {
	var id *ast.Ident
	qual := pkgPath
	switch x := fun.(type) {
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		id = x.Sel
		if pn, ok := info.Uses[identOf(x.X)].(*types.PkgName); ok {
			qual = pn.Imported().Path()
		} else if info.Uses[id] == nil {
			return key{}, nil, false // a method of a value the types could not resolve
		}
	default:
		return key{}, nil, false
	}
	fn, ok := info.Uses[id].(*types.Func)
	if !ok {
		if info.Uses[id] != nil {
			return key{}, nil, false // a function value
		}
		return key{qual, id.Name}, id, true
	}
	if fn.Pkg() == nil {
		return key{}, nil, false
	}
	callee := key{fn.Pkg().Path(), fn.Origin().Name()}
	if recv := fn.Origin().Type().(*types.Signature).Recv(); recv != nil {
		t := recv.Type()
		if ptr, ok := t.(*types.Pointer); ok {
			t = ptr.Elem()
		}
		named, ok := types.Unalias(t).(*types.Named)
		if !ok {
			return key{}, nil, false
		}
		callee.name = named.Origin().Obj().Name() + "." + callee.name
	}
	return callee, id, true
}

func identOf(e ast.Expr) *ast.Ident {
	id, _ := e.(*ast.Ident)
	return id
}
