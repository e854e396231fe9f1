package runtime

import (
	"bytes"
	"flag"
	"go/ast"
	"go/doc"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

var updateAPI = flag.Bool("update-api", false, "rewrite testdata/api/runtime.txt with the package's exported API")

// TestExportedAPI checks the package's exported API, one declaration a
// line, against the checked-in list: growing the API is a decision made in
// review (go test ./runtime -update-api rewrites the list).
func TestExportedAPI(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	d := doc.New(pkgs["runtime"], "github.com/cachegen/cachegen/runtime", 0)
	var lines []string
	text := func(n any) string {
		var b bytes.Buffer
		format.Node(&b, fset, n)
		return strings.Join(strings.Fields(b.String()), " ")
	}
	values := func(vs []*doc.Value, kind string) {
		for _, v := range vs {
			for _, s := range v.Decl.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if n.IsExported() {
						lines = append(lines, kind+" "+n.Name)
					}
				}
			}
		}
	}
	fn := func(f *doc.Func) {
		f.Decl.Body, f.Decl.Doc = nil, nil
		lines = append(lines, text(f.Decl))
	}
	values(d.Consts, "const")
	values(d.Vars, "var")
	for _, f := range d.Funcs {
		fn(f)
	}
	for _, ty := range d.Types {
		spec := ty.Decl.Specs[0].(*ast.TypeSpec)
		switch u := spec.Type.(type) {
		case *ast.StructType:
			lines = append(lines, "type "+ty.Name+" struct")
			for _, f := range u.Fields.List {
				for _, n := range f.Names {
					if n.IsExported() {
						lines = append(lines, "field "+ty.Name+"."+n.Name+" "+text(f.Type))
					}
				}
			}
		case *ast.InterfaceType:
			lines = append(lines, "type "+ty.Name+" interface")
			for _, m := range u.Methods.List {
				for _, n := range m.Names {
					lines = append(lines, "method "+ty.Name+"."+n.Name+text(m.Type)[len("func"):])
				}
			}
		default:
			spec.Doc, spec.Comment = nil, nil
			lines = append(lines, "type "+text(spec))
		}
		values(ty.Consts, "const")
		values(ty.Vars, "var")
		for _, f := range ty.Funcs {
			fn(f)
		}
		for _, m := range ty.Methods {
			fn(m)
		}
	}
	slices.Sort(lines)
	got := strings.Join(lines, "\n") + "\n"
	const path = "../testdata/api/runtime.txt"
	if *updateAPI {
		os.MkdirAll("../testdata/api", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./runtime -run TestExportedAPI -update-api writes it)", err)
	}
	if got != string(want) {
		w := strings.Split(strings.TrimSpace(string(want)), "\n")
		g := strings.Split(strings.TrimSpace(got), "\n")
		for _, l := range g {
			if !slices.Contains(w, l) {
				t.Errorf("new: %s", l)
			}
		}
		for _, l := range w {
			if !slices.Contains(g, l) {
				t.Errorf("gone: %s", l)
			}
		}
		t.Errorf("the exported API differs from %s: if the change is meant, run go test ./runtime -run TestExportedAPI -update-api and commit the list", path)
	}
}
