package reach

import (
	"go/ast"
	"go/types"
	"slices"
	"strings"
)

// A decl is what one declaration uses, over all its variants.
type decl struct {
	refs   []key    // declarations it names or computes with
	dyn    []string // methods it calls through an interface, by its types
	anyDyn []string // methods its syntax calls by name, outside the standard library (see set.callable)
	stdDyn []string // methods the standard library's syntax calls by name (see set.callable)
	iface  []string // names of the methods of the interface types it declares or spells
	rtypes []key    // named types of the values it converts to an interface (see conversions)
	types  []key    // named types it names or computes with: of a type, what its values hold
	// ifaceParam says a function takes a value whose dynamic type its
	// caller chooses: an interface (see hasInterfaceParam), or a type
	// argument.
	ifaceParam bool
	// reflects says it calls methods by reflection: reflect.Value's or
	// reflect.Type's Method or MethodByName.
	reflects bool
	// unsafeWrites says it converts to unsafe.Pointer or makes memory of
	// one (unsafe.Add, Slice, String…), outside the standard library: it
	// may write any variable, which no analysis of assignments sees.
	unsafeWrites bool
	// loopCapture says a loop variable of it outlives an iteration (see
	// capturesLoopVar).
	loopCapture bool
	writes      []key  // package-level variables it writes, itself
	flows       []flow // variables and parameters it passes to functions that may write through them
	isType      bool
	isVar       bool

	// Of a function: what it may write through its parameters.
	paramWrites map[int]bool // by index, -1 for the receiver
	allParams   bool         // read from syntax alone, or without a body: any
	nparams     int
	variadic    bool
}

// wrapperSuffixes are the names cachegen generates for a function F, and
// which count as F: a call of FCached runs F.
var wrapperSuffixes = []string{"CachedAll", "CachedIn", "Cached", "CacheKey", "Invalidate", "Args"}

// canonical returns the name under which pk declares name: itself, or the
// function a generated wrapper name stands for; "" when it declares
// neither.
func (pk *pkg) canonical(name string) string {
	if pk.src.Has(name) {
		return name
	}
	if base, ok := strings.CutPrefix(name, "cachegen"); ok {
		if base, ok := strings.CutSuffix(base, "Call"); ok && pk.src.Has(base) {
			return base
		}
	}
	for _, suffix := range wrapperSuffixes {
		if base, ok := strings.CutSuffix(name, suffix); ok && pk.src.Has(base) {
			return base
		}
	}
	return ""
}

// decl returns what the declaration name of pk uses, read once.
func (p *Program) decl(pk *pkg, name string) *decl {
	if d, ok := pk.decls[name]; ok {
		return d
	}
	d := &decl{paramWrites: map[int]bool{}}
	c := &collector{p: p, pk: pk, d: d, refs: map[key]bool{}, dyn: map[string]bool{}, synDyn: map[string]bool{}, iface: map[string]bool{},
		writes: map[key]bool{}, seenTypes: map[types.Type]bool{}, rtypes: map[key]bool{}, types: map[key]bool{}}
	for _, v := range pk.src.Variants(name) {
		if _, ok := v.Node.(*ast.TypeSpec); ok {
			d.isType = true
		}
		d.isVar = d.isVar || v.Var && !strings.HasPrefix(name, "init#")
		if v.Node == nil {
			continue
		}
		c.interfaces(v.Node)
		if n := p.view(pk).node(p, v); n != nil {
			c.typed(n, pk.types)
			d.loopCapture = d.loopCapture || capturesLoopVar(n, pk.types.info)
		} else {
			d.loopCapture = d.loopCapture || capturesLoopVar(v.Node, nil)
			c.syntactic(v)
			d.allParams = true
		}
		if v.Bodyless {
			d.allParams = true
			for _, k := range p.linkedTo(pk, name) {
				c.refs[k] = true
			}
		}
	}
	for k := range c.refs {
		d.refs = append(d.refs, k)
	}
	slices.SortFunc(d.refs, func(a, b key) int { return strings.Compare(a.String(), b.String()) })
	for n := range c.dyn {
		d.dyn = append(d.dyn, n)
	}
	for n := range c.synDyn {
		if pk.std {
			d.stdDyn = append(d.stdDyn, n)
		} else {
			d.anyDyn = append(d.anyDyn, n)
		}
	}
	slices.Sort(d.dyn)
	slices.Sort(d.anyDyn)
	slices.Sort(d.stdDyn)
	for n := range c.iface {
		d.iface = append(d.iface, n)
	}
	slices.Sort(d.iface)
	for k := range c.writes {
		d.writes = append(d.writes, k)
	}
	d.rtypes, d.types = sortedKeys(c.rtypes), sortedKeys(c.types)
	pk.decls[name] = d
	return d
}

// reflectiveCall names the methods of reflect.Value and reflect.Type that
// call, or hand out, the methods of a value's type by reflection.
var reflectiveCall = map[string]bool{"Method": true, "MethodByName": true}

// A collector gathers what one declaration's variants use.
type collector struct {
	p         *Program
	pk        *pkg
	d         *decl
	refs      map[key]bool
	dyn       map[string]bool // methods called through an interface, by the types
	synDyn    map[string]bool // x.M read from syntax alone
	iface     map[string]bool
	writes    map[key]bool
	seenTypes map[types.Type]bool
	rtypes    map[key]bool
	types     map[key]bool
}

func sortedKeys(m map[key]bool) []key {
	out := make([]key, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b key) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func (c *collector) ref(pkgPath, name string) {
	if pkgPath == "" || languageImpl(pkgPath) {
		return
	}
	c.refs[key{pkgPath, name}] = true
}

// typed reads a variant with its types.
func (c *collector) typed(n ast.Node, v *typedView) {
	info := v.info
	c.writesOf(n, info)
	c.conversions(n, info)
	if fd, ok := n.(*ast.FuncDecl); ok && (hasInterfaceParam(fd, info) || isGeneric(fd)) {
		c.d.ifaceParam = true
	}
	ast.Inspect(n, func(n ast.Node) bool {
		if e, ok := n.(ast.Expr); ok {
			if tv, ok := info.Types[e]; ok && tv.Type != nil {
				c.typeRefs(tv.Type)
			}
		}
		// Asserting an interface asks whether a value's type has its
		// methods: a method added or removed changes the answer, as a
		// call of it would.
		switch n := n.(type) {
		case *ast.TypeAssertExpr:
			if n.Type != nil {
				c.asserted(info.TypeOf(n.Type))
			}
		case *ast.CaseClause:
			for _, e := range n.List {
				if tv, ok := info.Types[e]; ok && tv.IsType() {
					c.asserted(tv.Type)
				}
			}
		}
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		obj := info.Uses[id]
		if obj == nil {
			if info.Defs[id] == nil && v.failed && id.Name != "_" {
				c.ident(id.Name) // unresolved, as a call of a wrapper not generated yet is
			}
			return true
		}
		c.object(obj)
		return true
	})
}

// unsafeWrite names what package unsafe has for reaching memory through
// a pointer the type system does not follow.
var unsafeWrite = map[string]bool{"Pointer": true, "Add": true, "Slice": true, "SliceData": true, "String": true, "StringData": true}

// object records a use of a package-level object or a method.
func (c *collector) object(obj types.Object) {
	if obj.Pkg() != nil && obj.Pkg().Path() == "unsafe" && unsafeWrite[obj.Name()] && !c.pk.std {
		c.d.unsafeWrites = true
	}
	switch o := obj.(type) {
	case *types.Func:
		o = o.Origin()
		sig, _ := o.Type().(*types.Signature)
		if sig == nil {
			return
		}
		if recv := sig.Recv(); recv != nil {
			t := recv.Type()
			if ptr, ok := t.(*types.Pointer); ok {
				t = ptr.Elem()
			}
			named, _ := types.Unalias(t).(*types.Named)
			if named != nil && named.Obj().Pkg() != nil && named.Obj().Pkg().Path() == "reflect" && reflectiveCall[o.Name()] {
				c.d.reflects = true
			}
			if types.IsInterface(t) {
				c.dyn[o.Name()] = true
				return
			}
			if named != nil && named.Obj().Pkg() != nil {
				c.ref(named.Obj().Pkg().Path(), named.Origin().Obj().Name()+"."+o.Name())
			}
			return
		}
		if o.Pkg() != nil && o.Parent() == o.Pkg().Scope() {
			c.ref(o.Pkg().Path(), o.Name())
		}
	case *types.Var:
		if o.IsField() || o.Pkg() == nil || o.Parent() != o.Pkg().Scope() {
			return
		}
		c.ref(o.Pkg().Path(), o.Name())
	case *types.Const:
		if o.Pkg() != nil && o.Parent() == o.Pkg().Scope() {
			c.ref(o.Pkg().Path(), o.Name())
		}
	case *types.TypeName:
		if o.Pkg() != nil && o.Parent() == o.Pkg().Scope() {
			c.ref(o.Pkg().Path(), o.Name())
			c.types[key{o.Pkg().Path(), o.Name()}] = true
		}
	}
}

// asserted records the methods of an interface type a value is asserted
// to, as methods called through it.
func (c *collector) asserted(t types.Type) {
	if t == nil {
		return
	}
	if it, ok := t.Underlying().(*types.Interface); ok {
		for i := range it.NumMethods() {
			c.dyn[it.Method(i).Name()] = true
		}
	}
}

// interfaces records the method names of the interface types a node
// spells.
func (c *collector) interfaces(n ast.Node) {
	ast.Inspect(n, func(n ast.Node) bool {
		if it, ok := n.(*ast.InterfaceType); ok && it.Methods != nil {
			for _, f := range it.Methods.List {
				for _, name := range f.Names {
					c.iface[name.Name] = true
				}
			}
		}
		return true
	})
}

// typeRefs records the package-level named types of a type's structure.
func (c *collector) typeRefs(t types.Type) {
	if c.seenTypes[t] {
		return
	}
	c.seenTypes[t] = true
	switch t := t.(type) {
	case *types.Alias:
		c.typeRefs(types.Unalias(t))
	case *types.Named:
		o := t.Origin().Obj()
		if o.Pkg() != nil && o.Parent() == o.Pkg().Scope() {
			c.ref(o.Pkg().Path(), o.Name())
			if !languageImpl(o.Pkg().Path()) {
				c.types[key{o.Pkg().Path(), o.Name()}] = true
			}
		}
		for i := range t.TypeArgs().Len() {
			c.typeRefs(t.TypeArgs().At(i))
		}
	case *types.Pointer:
		c.typeRefs(t.Elem())
	case *types.Slice:
		c.typeRefs(t.Elem())
	case *types.Array:
		c.typeRefs(t.Elem())
	case *types.Map:
		c.typeRefs(t.Key())
		c.typeRefs(t.Elem())
	case *types.Chan:
		c.typeRefs(t.Elem())
	case *types.Tuple:
		for i := range t.Len() {
			c.typeRefs(t.At(i).Type())
		}
	case *types.Signature:
		c.typeRefs(t.Params())
		c.typeRefs(t.Results())
	case *types.Struct:
		for i := range t.NumFields() {
			c.typeRefs(t.Field(i).Type())
		}
	}
}
