package reach

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"

	"github.com/cachegen/cachegen/internal/fingerprint"
)

// syntactic reads a variant from its syntax alone: names resolve as its
// file's imports and its package declare them, each selector x.M whose x
// is not an import counts as a call of a method M by name, and each
// variable it names may be written.
func (c *collector) syntactic(v *fingerprint.Variant) {
	r := &resolver{c: c, file: v.File}
	r.walk(v.Node)
}

// ident resolves a name the type checker left unresolved: a declaration
// of the package (a generated wrapper standing for its function).
func (c *collector) ident(name string) {
	c.declare(c.pk, name)
}

// declare records a use of name in pk, reporting whether pk declares it.
func (c *collector) declare(pk *pkg, name string) bool {
	n := pk.canonical(name)
	if n == "" {
		return false
	}
	c.ref(pk.path, n)
	for _, v := range pk.src.Variants(n) {
		if v.Var {
			c.writes[key{pk.path, n}] = true
		}
		if _, ok := v.Node.(*ast.TypeSpec); ok && !languageImpl(pk.path) {
			// Without types, a type named may hold a value in an
			// interface.
			c.types[key{pk.path, n}] = true
			c.rtypes[key{pk.path, n}] = true
		}
	}
	return true
}

type resolver struct {
	c    *collector
	file *fingerprint.File
}

// walk inspects a node, resolving the identifiers that can name a
// package-level declaration; names that a node declares (parameters,
// fields, := and range variables, labels) are skipped.
func (r *resolver) walk(n ast.Node) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && unsafeWrite[n.Sel.Name] && !r.c.pk.std && r.importsAs("unsafe", id.Name) {
				r.c.d.unsafeWrites = true
			}
			if id, ok := n.X.(*ast.Ident); ok && r.selector(id.Name, n.Sel.Name) {
				return false
			}
			r.c.synDyn[n.Sel.Name] = true // a method, or a field
			if reflectiveCall[n.Sel.Name] && r.c.pk.path != "reflect" && r.imports("reflect") {
				r.c.d.reflects = true // reflect.Value's, for all the syntax tells
			}
			r.walk(n.X)
			return false
		case *ast.Field:
			r.walkExpr(n.Type)
			return false
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Rhs {
					r.walk(e)
				}
				return false
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				r.walk(n.X)
				r.walk(n.Body)
				return false
			}
		case *ast.ValueSpec:
			r.walkExpr(n.Type)
			for _, e := range n.Values {
				r.walk(e)
			}
			return false
		case *ast.TypeSpec:
			if n.TypeParams != nil {
				r.walk(n.TypeParams)
			}
			r.walk(n.Type)
			return false
		case *ast.FuncDecl:
			if n.Recv != nil {
				r.walk(n.Recv)
			}
			r.walk(n.Type)
			if n.Body != nil {
				r.walk(n.Body)
			}
			return false
		case *ast.LabeledStmt:
			r.walk(n.Stmt)
			return false
		case *ast.BranchStmt:
			return false
		case *ast.Ident:
			r.ident(n.Name)
		}
		return true
	})
}

func (r *resolver) walkExpr(e ast.Expr) {
	if e != nil {
		r.walk(e)
	}
}

// importsAs reports whether the file imports path under the name name
// (a dot import aside).
func (r *resolver) importsAs(path, name string) bool {
	for _, imp := range r.file.Imports {
		if imp.Path == path && (imp.Name == name || imp.Name == "" && name == path[strings.LastIndex(path, "/")+1:]) {
			return true
		}
	}
	return false
}

// imports reports whether the resolver's file imports path.
func (r *resolver) imports(path string) bool {
	for _, imp := range r.file.Imports {
		if imp.Path == path {
			return true
		}
	}
	return false
}

// ident resolves a bare identifier: a declaration of the package, or of a
// package the file dot-imports.
func (r *resolver) ident(name string) {
	if r.c.declare(r.c.pk, name) {
		return
	}
	for _, imp := range r.file.Imports {
		if imp.Name == "." {
			if q := r.c.p.pkg(r.c.importPath(imp.Path)); q != nil && !languageImpl(imp.Path) {
				r.c.declare(q, name)
			}
		}
	}
}

// selector resolves pkg.Name, reporting whether x names an import.
func (r *resolver) selector(x, sel string) bool {
	for _, imp := range r.file.Imports {
		path := r.c.importPath(imp.Path)
		name := imp.Name
		if name == "" {
			name = r.c.p.nameOf(path)
		}
		if name != x {
			continue
		}
		if imp.Path != "C" && !languageImpl(path) {
			if q := r.c.p.pkg(path); q != nil {
				r.c.declare(q, sel)
			}
		}
		return true
	}
	return false
}

// importPath returns the package an import path of the collector's
// package names: in the standard library, a path outside it names the
// copy vendored in GOROOT.
func (c *collector) importPath(path string) string {
	if c.pk.std && !isStd(path) {
		return "vendor/" + path
	}
	return path
}

// nameOf returns the name a file refers to an import by when it does not
// rename it: the package's own name where the build has it, else the
// path's last element.
func (p *Program) nameOf(path string) string {
	if path == "C" {
		return "C"
	}
	if meta := p.graph[path]; meta != nil && meta.Name != "" {
		return meta.Name
	}
	return baseName(path)
}

// linkedTo returns the declarations a bodiless function name of pk is
// linked to: those its package's directives pull, and those whose
// directives push onto it.
func (p *Program) linkedTo(pk *pkg, name string) []key {
	var out []key
	for _, l := range pk.src.Linknames(name) {
		if path, target, ok := fingerprint.SplitLinkname(l); ok {
			out = append(out, key{path, target})
		}
	}
	if len(out) > 0 || pk.src.AsmDefines(name) {
		return out // pulled, or written in assembly: nothing pushes onto it
	}
	p.readPushes()
	out = append(out, p.pushes[pk.path+"."+name]...)
	if pk.src.Name == "main" {
		out = append(out, p.pushes["main."+name]...) // the linker's name for it
	}
	return out
}

// readPushes reads, once, the //go:linkname directives of every package of
// the build that can have them (those that import unsafe, as a directive
// requires), but the language's own, by their targets.
func (p *Program) readPushes() {
	if p.pushes != nil {
		return
	}
	p.pushes = map[string][]key{}
	for path, meta := range p.graph {
		if languageImpl(path) || meta.Imports["unsafe"] == nil {
			continue
		}
		for _, files := range [][]string{meta.GoFiles, meta.IgnoredFiles} {
			for _, f := range files {
				if !strings.HasSuffix(f, ".go") || strings.HasSuffix(f, "_test.go") {
					continue
				}
				src, err := os.ReadFile(f)
				if err != nil || !bytes.Contains(src, []byte("//go:linkname")) {
					continue
				}
				f, err := parser.ParseFile(token.NewFileSet(), f, src, parser.SkipObjectResolution)
				if err != nil {
					continue
				}
				withBody := map[string]bool{}
				for _, d := range f.Decls {
					if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Body != nil {
						withBody[fd.Name.Name] = true
					}
				}
				for _, l := range fingerprint.Linknames(src) {
					// Only a function with a body pushes its code; a
					// directive on one without pulls (see linkedTo).
					if tp, tn, ok := fingerprint.SplitLinkname(l[1]); ok && withBody[l[0]] {
						p.pushes[tp+"."+tn] = append(p.pushes[tp+"."+tn], key{path, l[0]})
					}
				}
			}
		}
	}
}
