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
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateAPI = flag.Bool("update-api", false, "rewrite testdata/api/*.txt with the packages' exported APIs")

// apiPackages are the packages whose exported API is checked in: the
// runtime, the two it is the facade of, and the maintenance beside it.
var apiPackages = []struct{ dir, name, list string }{
	{".", "runtime", "runtime.txt"},
	{"sweep", "sweep", "sweep.txt"},
	{"../remote", "remote", "remote.txt"},
	{"../maintain", "maintain", "maintain.txt"},
}

// TestExportedAPI checks each package's exported API, one declaration a
// line, against its checked-in list: growing an API is a decision made in
// review (go test ./runtime -run TestExportedAPI -update-api rewrites the
// lists).
func TestExportedAPI(t *testing.T) {
	for _, p := range apiPackages {
		lines, _ := exportedAPI(t, p.dir, p.name)
		got := strings.Join(lines, "\n") + "\n"
		path := "../testdata/api/" + p.list
		if *updateAPI {
			os.MkdirAll("../testdata/api", 0o755)
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
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
					t.Errorf("%s: new: %s", p.name, l)
				}
			}
			for _, l := range w {
				if !slices.Contains(g, l) {
					t.Errorf("%s: gone: %s", p.name, l)
				}
			}
			t.Errorf("the exported API of %s differs from %s: if the change is meant, run go test ./runtime -run TestExportedAPI -update-api and commit the list", p.name, path)
		}
	}
}

// TestRuntimeIndexIsSmall checks what go doc ./runtime lists: at most 45
// names (the package's constants, variables, functions and types, and the
// constructors listed under their types), none of them a store
// implementer's or a sweep's.
func TestRuntimeIndexIsSmall(t *testing.T) {
	api, index := exportedAPI(t, ".", "runtime")
	// What users and generated code call, and nothing for maintenance
	// (package maintain): as go doc -all ./runtime | grep -cE '^(func|type) '
	// counts its functions, methods and types.
	var decls []string
	for _, l := range api {
		if strings.HasPrefix(l, "func ") || strings.HasPrefix(l, "type ") {
			decls = append(decls, l)
		}
	}
	if len(decls) > 40 {
		t.Errorf("runtime declares %d functions, methods and types, more than 40:\n%s", len(decls), strings.Join(decls, "\n"))
	}
	// And its code stays small: what is not a call's path belongs in the
	// packages beside it (maintain, sweep, remote) or under internal/.
	files, _ := filepath.Glob("*.go")
	lines := 0
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines += bytes.Count(b, []byte("\n"))
		}
	}
	if lines > 2500 {
		t.Errorf("runtime's non-test code is %d lines, more than 2500", lines)
	}
	if len(index) > 45 {
		t.Errorf("go doc ./runtime lists %d names, more than 45:\n%s", len(index), strings.Join(index, "\n"))
	}
	for _, name := range index {
		if strings.Contains(name, "Store") && name != "StoreAs" || strings.Contains(name, "Leas") || strings.Contains(name, "Sweep") ||
			slices.Contains([]string{"Workers", "FailFast", "Shard", "ShardCount", "OnProgress", "Quiet", "Point", "Progress", "Register", "Opener", "ReplyLimiter", "ReplySlack", "DefaultMaxEntry"}, name) {
			t.Errorf("go doc ./runtime lists %s, which belongs to remote or sweep", name)
		}
	}
}

// exportedAPI returns the exported API of the package in dir, one
// declaration a line, sorted; and the names go doc's index lists.
func exportedAPI(t *testing.T, dir, name string) (lines, index []string) {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	d := doc.New(pkgs[name], "github.com/cachegen/cachegen/"+name, 0)
	text := func(n any) string {
		var b bytes.Buffer
		format.Node(&b, fset, n)
		return strings.Join(strings.Fields(b.String()), " ")
	}
	values := func(vs []*doc.Value, kind string, listed bool) {
		for _, v := range vs {
			for _, s := range v.Decl.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if n.IsExported() {
						lines = append(lines, kind+" "+n.Name)
						if listed {
							index = append(index, n.Name)
						}
					}
				}
			}
		}
	}
	fn := func(f *doc.Func, listed bool) {
		f.Decl.Body, f.Decl.Doc = nil, nil
		lines = append(lines, text(f.Decl))
		if listed {
			index = append(index, f.Name)
		}
	}
	values(d.Consts, "const", true)
	values(d.Vars, "var", true)
	for _, f := range d.Funcs {
		fn(f, true)
	}
	for _, ty := range d.Types {
		index = append(index, ty.Name)
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
		values(ty.Consts, "const", false)
		values(ty.Vars, "var", false)
		for _, f := range ty.Funcs {
			fn(f, true)
		}
		for _, m := range ty.Methods {
			fn(m, false)
		}
	}
	slices.Sort(lines)
	return lines, index
}
