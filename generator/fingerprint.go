package generator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/types"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// A fingerprint digests the code an annotated function runs: its own
// declaration and every function, method, type, constant and variable of
// its module that it reaches, through calls and references, transitively.
// Each declaration is digested by a walk of its syntax tree (node kinds,
// names, literals and operators), so comments, blank lines and formatting
// do not count, and any other edit does, renaming a local variable
// included. Packages of other modules count by module path and version;
// the standard library does not count.
type fingerprint struct {
	Sum   string   // 16 hex digits over Parts
	Parts []string // sorted "name:8 hex digits" per declaration, and "module@version"
}

// decl is a declaration a fingerprint can reach.
type decl struct {
	node ast.Node
	pkg  *packages.Package
	name string // as the error shows it: "forwardModel", "units.Convert", "Model.Fit"
}

// program indexes the declarations of the loaded packages of one module.
type program struct {
	module string
	decls  map[string]decl     // by objKey
	walked map[string]digested // by objKey, once per declaration
}

// digested is a declaration's digest and what it references.
type digested struct {
	part string   // "name:digest"
	refs []string // objKeys of the module's declarations it uses
	mods []string // "path@version" of other modules it uses
}

func objKey(obj types.Object) string {
	if f, ok := obj.(*types.Func); ok {
		f = f.Origin()
		if recv := f.Signature().Recv(); recv != nil {
			t := recv.Type()
			if p, ok := t.(*types.Pointer); ok {
				t = p.Elem()
			}
			if n, ok := types.Unalias(t).(*types.Named); ok {
				return f.Pkg().Path() + "." + n.Obj().Name() + "." + f.Name()
			}
		}
		return f.Pkg().Path() + "." + f.Name()
	}
	return obj.Pkg().Path() + "." + obj.Name()
}

func newProgram(module string, pkgs []*packages.Package, root string) *program {
	p := &program{module: module, decls: map[string]decl{}, walked: map[string]digested{}}
	for _, pkg := range pkgs {
		prefix := ""
		if pkg.PkgPath != root {
			prefix = pkg.Name + "."
		}
		add := func(obj types.Object, node ast.Node) {
			if obj == nil {
				return
			}
			name := strings.TrimPrefix(objKey(obj), pkg.PkgPath+".")
			p.decls[objKey(obj)] = decl{node: node, pkg: pkg, name: prefix + name}
		}
		for _, f := range pkg.Syntax {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					add(pkg.TypesInfo.Defs[d.Name], d)
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						switch s := spec.(type) {
						case *ast.TypeSpec:
							add(pkg.TypesInfo.Defs[s.Name], s)
						case *ast.ValueSpec:
							for _, n := range s.Names {
								var node ast.Node = s
								if d.Tok.String() == "const" {
									node = d // iota makes a constant depend on its group
								}
								add(pkg.TypesInfo.Defs[n], node)
							}
						}
					}
				}
			}
		}
	}
	return p
}

func (p *program) inModule(path string) bool {
	return p.module != "" && (path == p.module || strings.HasPrefix(path, p.module+"/"))
}

// fingerprint digests what the function obj reaches.
func (p *program) fingerprint(obj *types.Func) fingerprint {
	seen := map[string]bool{}
	parts := map[string]bool{}
	queue := []string{objKey(obj)}
	seen[queue[0]] = true
	for len(queue) > 0 {
		key := queue[0]
		queue = queue[1:]
		d := p.digest(key)
		parts[d.part] = true
		for _, m := range d.mods {
			parts[m] = true
		}
		for _, r := range d.refs {
			if !seen[r] {
				seen[r] = true
				queue = append(queue, r)
			}
		}
	}
	list := make([]string, 0, len(parts))
	for part := range parts {
		list = append(list, part)
	}
	slices.Sort(list)
	sum := sha256.Sum256([]byte(strings.Join(list, "\n")))
	return fingerprint{Sum: hex.EncodeToString(sum[:8]), Parts: list}
}

// digest digests the declaration of key and lists what it uses, once.
func (p *program) digest(key string) digested {
	if d, ok := p.walked[key]; ok {
		return d
	}
	decl, ok := p.decls[key]
	if !ok {
		d := digested{part: strings.TrimPrefix(key, p.module+"/") + ":unloaded"}
		p.walked[key] = d
		return d
	}
	d := digested{part: decl.name + ":" + digestNode(decl.node)}
	ast.Inspect(decl.node, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		used := decl.pkg.TypesInfo.Uses[id]
		if used == nil || used.Pkg() == nil {
			return true
		}
		if v, ok := used.(*types.Var); ok && v.IsField() {
			return true
		}
		if _, isFunc := used.(*types.Func); !isFunc && used.Parent() != used.Pkg().Scope() {
			return true // a local
		}
		if !p.inModule(used.Pkg().Path()) {
			if imp := decl.pkg.Imports[used.Pkg().Path()]; imp != nil && imp.Module != nil && !imp.Module.Main {
				d.mods = append(d.mods, imp.Module.Path+"@"+imp.Module.Version)
			}
			return true
		}
		d.refs = append(d.refs, objKey(used))
		return true
	})
	p.walked[key] = d
	return d
}

// digestNode digests a declaration's syntax without positions or comments.
func digestNode(n ast.Node) string {
	h := sha256.New()
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case nil:
			h.Write([]byte{')'})
			return false
		case *ast.CommentGroup, *ast.Comment:
			return false
		case *ast.Ident:
			fmt.Fprintf(h, "(I%s", n.Name)
		case *ast.BasicLit:
			fmt.Fprintf(h, "(L%d %s", n.Kind, n.Value)
		case *ast.BinaryExpr:
			fmt.Fprintf(h, "(B%s", n.Op)
		case *ast.UnaryExpr:
			fmt.Fprintf(h, "(U%s", n.Op)
		case *ast.AssignStmt:
			fmt.Fprintf(h, "(A%s", n.Tok)
		case *ast.IncDecStmt:
			fmt.Fprintf(h, "(D%s", n.Tok)
		case *ast.BranchStmt:
			fmt.Fprintf(h, "(R%s", n.Tok)
		case *ast.GenDecl:
			fmt.Fprintf(h, "(G%s", n.Tok)
		case *ast.RangeStmt:
			fmt.Fprintf(h, "(N%s", n.Tok)
		case *ast.ChanType:
			fmt.Fprintf(h, "(C%d", n.Dir)
		// Nodes whose meaning hangs on a position, not on a child: a[i:]
		// against a[:i], f(xs...) against f(xs), type A = B against type A B.
		case *ast.SliceExpr:
			fmt.Fprintf(h, "(S%t%t%t%t", n.Low != nil, n.High != nil, n.Max != nil, n.Slice3)
		case *ast.CallExpr:
			fmt.Fprintf(h, "(K%t", n.Ellipsis.IsValid())
		case *ast.TypeSpec:
			fmt.Fprintf(h, "(T%t", n.Assign.IsValid())
		default:
			fmt.Fprintf(h, "(%T", n)
		}
		return true
	})
	return hex.EncodeToString(h.Sum(nil)[:4])
}

// The generated file records each function's fingerprint in a line like
//
//	// cachegen:fingerprint/v2 RunMonteCarlo version=1 sum=… parts=RunMonteCarlo:…,stats:…
//
// v2 names the digest scheme. Records of another scheme cannot be compared
// and are replaced without complaint when a new cachegen changes the
// scheme, so only a change made in the same run as such an upgrade goes
// unnoticed.
const recordTag = "cachegen:fingerprint/v2"

var recordRE = regexp.MustCompile(`(?m)^// ` + regexp.QuoteMeta(recordTag) + ` (\S+) version=(\d+) sum=([0-9a-f]+) parts=(\S*)$`)

type record struct {
	version int
	sum     string
	parts   []string
}

func recordLine(name string, version int, fp fingerprint) string {
	return fmt.Sprintf("%s %s version=%d sum=%s parts=%s", recordTag, name, version, fp.Sum, strings.Join(fp.Parts, ","))
}

func readRecords(src []byte) map[string]record {
	out := map[string]record{}
	for _, m := range recordRE.FindAllSubmatch(src, -1) {
		v, _ := strconv.Atoi(string(m[2]))
		out[string(m[1])] = record{version: v, sum: string(m[3]), parts: strings.Split(string(m[4]), ",")}
	}
	return out
}

// changedNames lists the declarations whose digests differ between two
// fingerprints, by name.
func changedNames(old, new []string) []string {
	names := map[string]bool{}
	for _, pair := range [][2][]string{{old, new}, {new, old}} {
		for _, p := range pair[0] {
			if !slices.Contains(pair[1], p) {
				names[strings.Split(p, ":")[0]] = true
			}
		}
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
