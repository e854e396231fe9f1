package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A pkg is the source of one package: every file of it, whatever its build
// constraints, but its tests and the files cachegen generated.
type pkg struct {
	path, dir, name string
	mod             *localMod
	decls           map[string][]*variant // by name: "F", "T", "T.M", "init", or a constant's or variable's name
	methods         map[string][]string   // receiver type name -> "T.M" names
	atInit          []string              // what runs when the package is initialised: "init", and variables with initialisers
	blank           []string              // import paths imported for their side effects
	imports         []string              // every import path of its files, once each
	native          *string               // digest of the package's assembly, C and other non-Go sources, once read
}

// A file is what a declaration's meaning depends on beyond its own syntax.
type file struct {
	directives string // build constraints, by line and by file name, and //go:debug lines
	imports    []importSpec
	cgo        string // the preamble of import "C"
}

type importSpec struct {
	name string // as written: "" when the file does not rename it, "_" or "."
	path string
}

// A variant is one declaration of a name. A name may be declared in
// several files whose build constraints exclude one another; all count.
type variant struct {
	node       ast.Node // nil for a file that does not parse
	file       *file
	directives string   // the //go: lines of its doc comment
	embeds     []string // the patterns of its //go:embed lines
	bodyless   bool     // a function implemented in assembly
	raw        []byte   // the digest of a file that does not parse
}

// nativeExts are the extensions of the non-Go sources a package can build
// from, as the go command lists them.
var nativeExts = []string{".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".m", ".s", ".S", ".sx", ".f", ".F", ".for", ".f90", ".syso"}

// goFiles lists the names of dir's Go files that can be part of its
// package under some build configuration: not tests, not names the go
// command ignores.
func goFileNames(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || n[0] == '.' || n[0] == '_' {
			continue
		}
		names = append(names, n)
	}
	return names
}

// readPkg parses every file of the package in dir.
func readPkg(fset *token.FileSet, importPath, dir string, mod *localMod) *pkg {
	pk := &pkg{path: importPath, dir: dir, mod: mod, decls: map[string][]*variant{}, methods: map[string][]string{}}
	type parsed struct {
		ast  *ast.File
		file *file
		raw  []byte
	}
	var files []parsed
	var clauses []*ast.File
	for _, n := range goFileNames(dir) {
		src, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil || IsGenerated(src) {
			continue
		}
		clause, err := parser.ParseFile(fset, "", src, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			continue // no package clause: no file of any package
		}
		clauses = append(clauses, clause)
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			sum := sha256.Sum256(src)
			files = append(files, parsed{ast: clause, raw: []byte(n + ":" + hex.EncodeToString(sum[:]))})
			continue
		}
		simplify(f)
		files = append(files, parsed{ast: f, file: fileOf(f, n)})
	}
	pk.name = majorityName(clauses)
	aliases := map[string]string{}
	for _, f := range files {
		if f.ast.Name.Name != pk.name {
			continue // a program beside the package, behind a build tag
		}
		if f.raw != nil {
			pk.add("init", &variant{raw: f.raw})
			continue
		}
		pk.index(f.ast, f.file, aliases)
	}
	pk.resolveAliases(aliases)
	if _, ok := pk.decls["init"]; ok {
		pk.atInit = append([]string{"init"}, pk.atInit...)
	}
	return pk
}

// resolveAliases files the methods declared on an alias (type A = T;
// func (A) M()) under T as well: reaching T reaches them, and "T.M" names
// them.
func (pk *pkg) resolveAliases(aliases map[string]string) {
	target := func(name string) string {
		for range 10 { // an alias of an alias, but not a cycle
			t, ok := aliases[name]
			if !ok {
				break
			}
			name = t
		}
		return name
	}
	for base, methods := range pk.methods {
		t := target(base)
		if t == base {
			continue
		}
		for _, m := range methods {
			if !slices.Contains(pk.methods[t], m) {
				pk.methods[t] = append(pk.methods[t], m)
			}
			canonical := t + strings.TrimPrefix(m, base)
			if _, ok := pk.decls[canonical]; !ok {
				pk.decls[canonical] = pk.decls[m]
			}
		}
	}
}

// majorityName returns the package name most files declare, counting
// first the files no build constraint excludes (a program beside a
// package, such as a generator behind //go:build ignore, does not name
// the package); ties go to the first in name order.
func majorityName(files []*ast.File) string {
	count := func(unconstrained bool) string {
		n := map[string]int{}
		best := ""
		for _, f := range files {
			if unconstrained && buildLine(f) != "" {
				continue
			}
			n[f.Name.Name]++
			if best == "" || n[f.Name.Name] > n[best] {
				best = f.Name.Name
			}
		}
		return best
	}
	if name := count(true); name != "" {
		return name
	}
	return count(false)
}

func (pk *pkg) add(name string, v *variant) { pk.decls[name] = append(pk.decls[name], v) }

// index adds the declarations of one file, and notes its type aliases of
// the package's own types.
func (pk *pkg) index(f *ast.File, fi *file, aliases map[string]string) {
	for _, imp := range fi.imports {
		if imp.name == "_" {
			pk.blank = append(pk.blank, imp.path)
		}
		if imp.path != "C" && !slices.Contains(pk.imports, imp.path) {
			pk.imports = append(pk.imports, imp.path)
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			v := &variant{node: d, file: fi, directives: goDirectives(d.Doc), bodyless: d.Body == nil}
			name := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) > 0 {
				base := recvBase(d.Recv.List[0].Type)
				name = base + "." + name
				if !slices.Contains(pk.methods[base], name) {
					pk.methods[base] = append(pk.methods[base], name)
				}
			}
			pk.add(name, v)
		case *ast.GenDecl:
			single := !d.Lparen.IsValid()
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					doc := s.Doc
					if single {
						doc = d.Doc
					}
					pk.add(s.Name.Name, &variant{node: s, file: fi, directives: goDirectives(doc)})
					if s.Assign.IsValid() {
						if t := recvBase(s.Type); t != "?" {
							aliases[s.Name.Name] = t
						}
					}
				case *ast.ValueSpec:
					doc := s.Doc
					if single {
						doc = d.Doc
					}
					if d.Tok == token.CONST {
						// iota, or a spec that repeats the one before it,
						// makes a constant depend on its whole group.
						var node ast.Node = s
						if groupBound(d) {
							node = d
						}
						for _, n := range s.Names {
							if n.Name != "_" {
								pk.add(n.Name, &variant{node: node, file: fi, directives: goDirectives(doc)})
							}
						}
						continue
					}
					v := &variant{node: s, file: fi, directives: goDirectives(doc), embeds: embedPatterns(doc)}
					blankDone := false
					for _, n := range s.Names {
						switch {
						case n.Name == "_" && !blankDone:
							pk.add("init", v) // run for its side effects
							blankDone = true
						case n.Name != "_":
							pk.add(n.Name, v)
							if len(s.Values) > 0 && !slices.Contains(pk.atInit, n.Name) {
								pk.atInit = append(pk.atInit, n.Name)
							}
						}
					}
				}
			}
		}
	}
}

// groupBound reports whether the constants of a group depend on their
// place in it: through iota, or a spec without values that repeats the
// one before.
func groupBound(d *ast.GenDecl) bool {
	if len(d.Specs) < 2 {
		return false
	}
	bound := false
	for _, spec := range d.Specs {
		s := spec.(*ast.ValueSpec)
		if len(s.Values) == 0 {
			return true
		}
		ast.Inspect(s, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && id.Name == "iota" {
				bound = true
			}
			return !bound
		})
	}
	return bound
}

// recvBase returns the type name of a method's receiver expression.
func recvBase(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return "?"
		}
	}
}

// fileOf reads what of a file, beyond its declarations, changes what they
// do: its build constraints (by //go:build or // +build line, and by a
// _GOOS or _GOARCH suffix of its name), its //go:debug lines, its imports
// and its cgo preamble.
func fileOf(f *ast.File, name string) *file {
	fi := &file{}
	var b strings.Builder
	b.WriteString("build " + buildLine(f) + "\n")
	b.WriteString("name " + osArchSuffix(name) + "\n")
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:debug") {
				b.WriteString(c.Text + "\n")
			}
		}
	}
	fi.directives = b.String()
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for _, spec := range gd.Specs {
			s := spec.(*ast.ImportSpec)
			p, err := strconv.Unquote(s.Path.Value)
			if err != nil {
				continue
			}
			imp := importSpec{path: p}
			if s.Name != nil {
				imp.name = s.Name.Name
			}
			fi.imports = append(fi.imports, imp)
			if p == "C" {
				doc := s.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				fi.cgo = rawText(doc)
			}
		}
	}
	return fi
}

// buildLine returns a file's build constraint, normalised, or "".
func buildLine(f *ast.File) string {
	var plus []string
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			switch {
			case constraint.IsGoBuild(c.Text):
				if x, err := constraint.Parse(c.Text); err == nil {
					return x.String()
				}
				return c.Text
			case constraint.IsPlusBuild(c.Text):
				if x, err := constraint.Parse(c.Text); err == nil {
					plus = append(plus, x.String())
				} else {
					plus = append(plus, c.Text)
				}
			}
		}
	}
	return strings.Join(plus, " && ")
}

// osArchSuffix returns the _GOOS, _GOARCH or _GOOS_GOARCH suffix that
// constrains a file by its name, as the go command reads it, or "".
func osArchSuffix(name string) string {
	name = strings.TrimSuffix(name, ".go")
	i := strings.Index(name, "_")
	if i < 0 {
		return ""
	}
	l := strings.Split(name[i:], "_")
	n := len(l)
	if n >= 2 && knownOS[l[n-2]] && knownArch[l[n-1]] {
		return l[n-2] + "_" + l[n-1]
	}
	if knownOS[l[n-1]] || knownArch[l[n-1]] {
		return l[n-1]
	}
	return ""
}

// The operating systems and architectures the go command knows, for the
// file names that constrain a build.
var (
	knownOS   = setOf("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris wasip1 windows zos")
	knownArch = setOf("386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm")
)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// goDirectives returns the //go: lines of a doc comment.
func goDirectives(doc *ast.CommentGroup) string {
	if doc == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range doc.List {
		if strings.HasPrefix(c.Text, "//go:") {
			b.WriteString(c.Text + "\n")
		}
	}
	return b.String()
}

func rawText(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range cg.List {
		b.WriteString(c.Text + "\n")
	}
	return b.String()
}

// embedPatterns returns the patterns of a doc comment's //go:embed lines,
// unquoted.
func embedPatterns(doc *ast.CommentGroup) []string {
	if doc == nil {
		return nil
	}
	var pats []string
	for _, c := range doc.List {
		args, ok := strings.CutPrefix(c.Text, "//go:embed")
		if !ok || args != "" && args[0] != ' ' && args[0] != '\t' {
			continue
		}
		for args = strings.TrimSpace(args); args != ""; args = strings.TrimSpace(args) {
			var pat string
			switch args[0] {
			case '"':
				i := 1
				for i < len(args) && args[i] != '"' {
					if args[i] == '\\' {
						i++
					}
					i++
				}
				if i >= len(args) {
					pats = append(pats, args) // malformed: the build fails; keep its text
					args = ""
					continue
				}
				pat, _ = strconv.Unquote(args[:i+1])
				args = args[i+1:]
			case '`':
				end := strings.IndexByte(args[1:], '`')
				if end < 0 {
					pats = append(pats, args)
					args = ""
					continue
				}
				pat, args = args[1:end+1], args[end+2:]
			default:
				i := strings.IndexAny(args, " \t")
				if i < 0 {
					i = len(args)
				}
				pat, args = args[:i], args[i:]
			}
			pats = append(pats, pat)
		}
	}
	return pats
}

// embedDigest digests the files that patterns embed from dir: names and
// contents, as the go command selects them.
func embedDigest(dir string, patterns []string) string {
	var lines []string
	fileLine := func(p string) {
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			lines = append(lines, filepath.ToSlash(rel)+" unreadable")
			return
		}
		sum := sha256.Sum256(data)
		lines = append(lines, filepath.ToSlash(rel)+" "+hex.EncodeToString(sum[:]))
	}
	for _, pat := range patterns {
		all := strings.HasPrefix(pat, "all:")
		pat = strings.TrimPrefix(pat, "all:")
		matches, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(path.Clean(pat))))
		if err != nil || len(matches) == 0 {
			lines = append(lines, "pattern "+pat+" matches nothing")
			continue
		}
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				continue
			}
			if !fi.IsDir() {
				fileLine(m)
				continue
			}
			filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				if p != m && !all && (d.Name()[0] == '.' || d.Name()[0] == '_') {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type().IsRegular() {
					fileLine(p)
				}
				return nil
			})
		}
	}
	slices.Sort(lines)
	lines = slices.Compact(lines)
	return strings.Join(lines, "\n")
}

// nativeDigest digests a package's non-Go sources: assembly, C, headers,
// object files. A function without a body, or one that calls into C,
// counts them.
func (pk *pkg) nativeDigest() string {
	if pk.native != nil {
		return *pk.native
	}
	entries, _ := os.ReadDir(pk.dir)
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() || !slices.Contains(nativeExts, filepath.Ext(e.Name())) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(pk.dir, e.Name()))
		sum := sha256.Sum256(data)
		if err != nil {
			sum = sha256.Sum256([]byte(err.Error()))
		}
		b.WriteString(e.Name() + " " + hex.EncodeToString(sum[:]) + "\n")
	}
	s := b.String()
	pk.native = &s
	return s
}

// packageName returns the name a local package declares, from its
// files' package clauses alone.
func packageName(fset *token.FileSet, dir string) string {
	var files []*ast.File
	for _, n := range goFileNames(dir) {
		src, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil || IsGenerated(src) {
			continue
		}
		if f, err := parser.ParseFile(fset, "", src, parser.PackageClauseOnly|parser.ParseComments); err == nil {
			files = append(files, f)
		}
	}
	return majorityName(files)
}
