package reach

import (
	"go/ast"
	"go/token"
	"slices"
	"strings"
)

// A set is what a function reaches.
type set struct {
	decls   map[key]bool
	order   []key           // decls, in the order reached
	pkgs    map[string]bool // packages with a declaration reached
	named   map[key]bool    // type declarations reached: their methods can be called statically
	rt      map[key]bool    // runtime types: their methods can be called through an interface
	dyn     map[string]bool // names of methods called through an interface, by typed code
	anyDyn  map[string]bool // names of methods called by code read from syntax alone, on any type
	stdDyn  map[string]bool // names of methods the standard library's syntax calls: see callable
	iface   map[string]bool // names of the methods of the interface types reached, and Error
	reflect bool            // methods are called by reflection: every exported method of a runtime type counts
	vars    map[key]bool    // package-level variables reached
	writes  map[key]bool    // package-level variables the code may write
	// anyWrite says the code reaches memory through unsafe, outside the
	// standard library: it may write any variable.
	anyWrite bool
}

// callable reports whether the method m of the reached type t can be
// called by the code reached so far: through an interface, when t is a
// runtime type; by name, from code read from syntax alone (which cannot
// tell a static call from another), on any type it reaches, but the
// standard library's, which cannot name a type outside it, on another
// module's type only through an interface that has a method m; and by
// reflection, when the code calls methods so.
func (s *set) callable(t key, m string) bool {
	if s.anyDyn[m] || s.stdDyn[m] && isStd(t.pkg) {
		return true
	}
	return s.rt[t] && (s.dyn[m] || s.stdDyn[m] && s.iface[m] || s.reflect && token.IsExported(m))
}

// reach returns what roots reach, as rapid type analysis finds it over
// declarations: a method is reached when it is called statically, or
// when a value of its type is held in an interface (see conversions) and
// a method of its name is called through an interface (see callable). A
// root that takes a value whose dynamic type its caller chooses makes
// every type reached a runtime type, since the caller may pass any of
// them, and so do the types its callers in the build instantiate it with
// or pass it (see callerTypes).
func (p *Program) reach(roots []key) *set {
	s := &set{decls: map[key]bool{}, pkgs: map[string]bool{}, named: map[key]bool{}, rt: map[key]bool{},
		dyn: map[string]bool{}, anyDyn: map[string]bool{}, stdDyn: map[string]bool{}, iface: map[string]bool{"Error": true},
		vars: map[key]bool{}, writes: map[key]bool{}}
	var queue, rtQueue []key
	everyType := false
	// canonical returns the key under which a declaration is read, or
	// false when there is none.
	canonical := func(k key) (key, bool) {
		if languageImpl(k.pkg) {
			return key{}, false
		}
		pk := p.pkg(k.pkg)
		if pk == nil {
			return key{}, false
		}
		name := pk.canonical(k.name)
		return key{k.pkg, name}, name != ""
	}
	add := func(k key) {
		k, ok := canonical(k)
		if !ok || s.decls[k] {
			return
		}
		s.decls[k] = true
		s.pkgs[k.pkg] = true
		s.order = append(s.order, k)
		queue = append(queue, k)
	}
	runtime := func(k key) {
		if k, ok := canonical(k); ok && !s.rt[k] {
			rtQueue = append(rtQueue, k)
		}
	}
	// methods adds the methods of the type t that are callable, of those
	// whose names keep says.
	methods := func(t key, keep func(string) bool) {
		for _, m := range p.pkgs[t.pkg].src.Methods(t.name) {
			if _, name, _ := strings.Cut(m, "."); keep(name) && s.callable(t, name) {
				add(key{t.pkg, m})
			}
		}
	}
	// named adds the methods named n of every type reached that are now
	// callable.
	named := func(n string) {
		for t := range s.named {
			methods(t, func(m string) bool { return m == n })
		}
		for t := range s.rt {
			methods(t, func(m string) bool { return m == n })
		}
	}
	all := func(string) bool { return true }
	for _, r := range roots {
		add(r)
	}
	for _, t := range p.callerTypes(roots) {
		runtime(t)
	}
	for len(queue) > 0 || len(rtQueue) > 0 {
		if len(rtQueue) > 0 {
			t := rtQueue[0]
			rtQueue = rtQueue[1:]
			if s.rt[t] {
				continue
			}
			s.rt[t] = true
			add(t)
			methods(t, all)
			for _, e := range p.decl(p.pkgs[t.pkg], t.name).types {
				runtime(e) // what its values hold, reflection reaches
			}
			continue
		}
		k := queue[0]
		queue = queue[1:]
		d := p.decl(p.pkgs[k.pkg], k.name)
		for _, r := range d.refs {
			add(r)
		}
		for _, t := range d.rtypes {
			runtime(t)
		}
		if d.ifaceParam && slices.Contains(roots, k) && !everyType {
			everyType = true
			for r := range s.named {
				runtime(r)
			}
		}
		if d.isType && !s.named[k] {
			s.named[k] = true
			methods(k, all)
			if everyType {
				runtime(k)
			}
		}
		for _, w := range d.writes {
			s.writes[w] = true
		}
		s.anyWrite = s.anyWrite || d.unsafeWrites
		for _, f := range d.flows {
			if !f.isParam && !s.writes[f.v] && p.mayWriteParam(f.callee, f.arg) {
				s.writes[f.v] = true
			}
		}
		if d.isVar {
			s.vars[k] = true
		}
		for _, names := range []struct {
			m   map[string]bool
			add []string
		}{{s.dyn, d.dyn}, {s.anyDyn, d.anyDyn}, {s.stdDyn, d.stdDyn}, {s.iface, d.iface}} {
			for _, n := range names.add {
				if !names.m[n] {
					names.m[n] = true
					named(n)
				}
			}
		}
		if !s.reflect && d.reflects {
			s.reflect = true
			for t := range s.rt {
				methods(t, token.IsExported)
			}
		}
	}
	return s
}

// reachWithInits returns what roots reach, with the initialisation of the
// packages that may write what it reads: an init function, or the
// initialiser of a variable roots do not reach, counts when what it
// reaches may write a variable roots reach (directly, or through what it
// reaches in turn). The packages read for this are those of closure (the
// program's imports) outside the standard library: the standard library's
// own initialisation is what its release does, and its code counts where
// a function reaches it.
func (p *Program) reachWithInits(roots []key, closure []string) *set {
	s := p.reach(roots)
	for {
		var pkgs []string
		for _, path := range closure {
			if p.mayWrite(path, s) {
				pkgs = append(pkgs, path)
			}
		}
		var more []key
		for _, path := range pkgs {
			pk := p.pkg(path)
			if pk == nil {
				continue
			}
			for _, c := range candidates(pk) {
				if ir := p.initReach(c); !s.decls[c] && (ir.anyWrite || intersects(ir.writes, s.vars)) {
					more = append(more, c)
				}
			}
		}
		// A file that does not parse here (a build's for another
		// platform, in syntax this release cannot read) cannot be read by
		// declaration: it counts by its bytes wherever its package is
		// reached or may write what is.
		for _, path := range closure {
			pk := p.pkg(path)
			if pk == nil || !s.pkgs[path] && !slices.Contains(pkgs, path) {
				continue
			}
			for _, name := range pk.src.Inits() {
				if c := (key{path, name}); !s.decls[c] && pk.src.Variants(name)[0].Node == nil {
					more = append(more, c)
				}
			}
		}
		if len(more) == 0 {
			return s
		}
		roots = append(roots, more...)
		s = p.reach(roots)
	}
}

// mayWrite reports whether code of the package path can write a variable
// s reaches: one of its own, of a package it imports, or of the standard
// library (which every package may reach).
func (p *Program) mayWrite(path string, s *set) bool {
	imps := p.imports(path)
	for v := range s.vars {
		if v.pkg == path || imps[v.pkg] || p.std(v.pkg) {
			return true
		}
	}
	return false
}

// initReach returns, once, what an init or a variable's initialiser
// reaches.
func (p *Program) initReach(k key) *set {
	if s, ok := p.inits[k]; ok {
		return s
	}
	s := p.reach([]key{k})
	p.inits[k] = s
	return s
}

// candidates returns what runs when a package is initialised and can have
// effects: its init functions (with the initialisers of its blank
// variables), and its variables whose initialisers call a function (a
// literal or a constant writes nothing but its variable).
func candidates(pk *pkg) []key {
	var out []key
	for _, name := range pk.src.Inits() {
		v := pk.src.Variants(name)[0]
		if spec, ok := v.Node.(*ast.ValueSpec); !ok || calls(spec.Values) {
			out = append(out, key{pk.path, name}) // an init function, or a blank variable's initialiser that calls
		}
	}
	for _, name := range pk.src.Initialised() {
		for _, v := range pk.src.Variants(name) {
			if spec, ok := v.Node.(*ast.ValueSpec); ok && calls(spec.Values) {
				out = append(out, key{pk.path, name})
				break
			}
		}
	}
	return out
}

// calls reports whether expressions call a function or hold a function
// literal: only then can an initialiser do more than compute its value.
func calls(es []ast.Expr) bool {
	found := false
	for _, e := range es {
		ast.Inspect(e, func(n ast.Node) bool {
			switch n.(type) {
			case *ast.CallExpr, *ast.FuncLit:
				found = true
			}
			return !found
		})
	}
	return found
}

func intersects(a, b map[key]bool) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	for k := range a {
		if b[k] {
			return true
		}
	}
	return false
}
