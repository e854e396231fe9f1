package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// A Package is the source of one package as a fingerprint reads it:
// every file of it, whatever its build constraints, but its tests and the
// files cachegen generated. Its declarations are digested from their
// syntax, with every variant of a name (declared in files whose build
// constraints exclude one another) in one digest, so that one digest holds
// for every build configuration.
type Package struct {
	Path, Dir, Name string
	decls           map[string][]*Variant // by name: "F", "T", "T.M", "init", or a constant's or variable's name
	methods         map[string][]string   // receiver type name -> "T.M" names
	atInit          []string              // variables with initialisers, in file order
	inits           []string              // init functions and blank variables' initialisers, "init#digest"
	fileInfos       []*File
	seq             map[string]int // by name: where its first variant stands (see Seq)
	nseq            int
	imports         []string             // every import path of its files, once each
	files           map[string]*ast.File // the parsed files, by base name
	native          *string              // digest of the package's assembly, C and other non-Go sources, once read
	digests         map[string]string
	asm             []asmFile           // its assembly files, once read
	links           map[string][]string // //go:linkname targets by local name, once read
}

// A File is what a declaration's meaning depends on beyond its own syntax.
type File struct {
	Name        string   // base name
	directives  string   // build constraints, by line and by file name, and //go:debug lines
	debug       []string // its //go:debug lines
	Constrained bool     // a //go:build line or a _GOOS/_GOARCH name suffix excludes it from some builds
	Imports     []Import
	cgo         string // the preamble of import "C"
}

// An Import is an import declaration of a file.
type Import struct {
	Name string // as written: "" when the file does not rename it, "_" or "."
	Path string
}

// A Variant is one declaration of a name. A name may be declared in
// several files whose build constraints exclude one another; all count.
type Variant struct {
	Node       ast.Node // nil for a file that does not parse
	File       *File
	directives string   // the //go: lines of its doc comment
	embeds     []string // the patterns of its //go:embed lines
	Bodyless   bool     // a function implemented elsewhere: in assembly, or linked by //go:linkname
	UsesC      bool     // it refers to C.name
	Var        bool     // a package-level variable
	seq        int      // where it stands among the package's declarations
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

// ReadPackage parses every file of the package in dir, with import path
// importPath. A directory that cannot be read gives a package without
// declarations.
func ReadPackage(fset *token.FileSet, importPath, dir string) *Package {
	pk := &Package{Path: importPath, Dir: dir, decls: map[string][]*Variant{}, methods: map[string][]string{},
		files: map[string]*ast.File{}, digests: map[string]string{}, seq: map[string]int{}}
	type parsed struct {
		ast  *ast.File
		file *File
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
		if buildLine(f) == "ignore" {
			continue // never built: a program beside the package, by convention
		}
		simplify(f)
		files = append(files, parsed{ast: f, file: fileOf(f, n)})
	}
	pk.Name = majorityName(clauses)
	aliases := map[string]string{}
	for _, f := range files {
		if f.ast.Name.Name != pk.Name {
			continue // a program beside the package, behind a build tag
		}
		if f.raw != nil {
			pk.add("init", &Variant{raw: f.raw})
			continue
		}
		pk.files[f.file.Name] = f.ast
		pk.fileInfos = append(pk.fileInfos, f.file)
		pk.index(f.ast, f.file, aliases)
	}
	pk.resolveAliases(aliases)
	// Each init runs: each is a declaration of its own, named by its
	// digest (and, for the second of two alike, its rank among them), so
	// that one can count for a function and another not.
	alike := map[string]int{}
	for _, v := range pk.decls["init"] {
		d := pk.variantDigest(v)[:8]
		alike[d]++
		name := "init#" + d
		if alike[d] > 1 {
			name += "#" + strconv.Itoa(alike[d])
		}
		pk.decls[name] = []*Variant{v}
		pk.inits = append(pk.inits, name)
		pk.seq[name] = v.seq
	}
	delete(pk.decls, "init")
	return pk
}

// Seq returns where a declaration stands among the package's, in the
// order of its files' names and of the declarations in each: the order
// the go command initialises variables and runs inits in, dependencies
// aside. -1 when it declares no such name.
func (pk *Package) Seq(name string) int {
	if s, ok := pk.seq[name]; ok {
		return s
	}
	return -1
}

// Inits returns the names of what runs when the package is initialised
// for its effects alone: its init functions and the initialisers of its
// blank variables, "init#" and the digest of each.
func (pk *Package) Inits() []string { return pk.inits }

// Has reports whether the package declares name ("F", "T", "T.M", "init",
// a constant or a variable).
func (pk *Package) Has(name string) bool { return len(pk.decls[name]) > 0 }

// Variants returns the declarations of name, one per file that declares it.
func (pk *Package) Variants(name string) []*Variant { return pk.decls[name] }

// Names returns the names the package declares, sorted.
func (pk *Package) Names() []string {
	names := make([]string, 0, len(pk.decls))
	for n := range pk.decls {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Methods returns the methods declared on the type name (also those
// declared on an alias of it), as "T.M" names.
func (pk *Package) Methods(name string) []string { return pk.methods[name] }

// Initialised returns the package-level variables declared with an
// initialiser, in file order.
func (pk *Package) Initialised() []string { return pk.atInit }

// Imports returns the import paths of the package's files, once each.
func (pk *Package) Imports() []string { return pk.imports }

// File returns the parsed file of that base name, if the package has it.
func (pk *Package) File(name string) *ast.File { return pk.files[name] }

// Linknames returns the targets of the //go:linkname directives of the
// package's files that name the local function name.
func (pk *Package) Linknames(name string) []string {
	if pk.links == nil {
		pk.links = map[string][]string{}
		for _, f := range pk.files {
			for _, cg := range f.Comments {
				for _, c := range cg.List {
					if strings.HasPrefix(c.Text, "//go:linkname") {
						for _, l := range Linknames([]byte(c.Text)) {
							pk.links[l[0]] = append(pk.links[l[0]], l[1])
						}
					}
				}
			}
		}
	}
	return pk.links[name]
}

// resolveAliases files the methods declared on an alias (type A = T;
// func (A) M()) under T as well: reaching T reaches them, and "T.M" names
// them.
func (pk *Package) resolveAliases(aliases map[string]string) {
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

func (pk *Package) add(name string, v *Variant) {
	v.seq = pk.nseq
	pk.nseq++
	if _, ok := pk.seq[name]; !ok {
		pk.seq[name] = v.seq
	}
	pk.decls[name] = append(pk.decls[name], v)
}

// index adds the declarations of one file, and notes its type aliases of
// the package's own types.
func (pk *Package) index(f *ast.File, fi *File, aliases map[string]string) {
	for _, imp := range fi.Imports {
		if imp.Path != "C" && !slices.Contains(pk.imports, imp.Path) {
			pk.imports = append(pk.imports, imp.Path)
		}
	}
	cName := ""
	for _, imp := range fi.Imports {
		if imp.Path == "C" {
			cName = "C"
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			v := &Variant{Node: d, File: fi, directives: goDirectives(d.Doc), Bodyless: d.Body == nil, UsesC: usesC(d, cName)}
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
			bound := d.Tok == token.CONST && groupBound(d)
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					doc := s.Doc
					if single {
						doc = d.Doc
					}
					pk.add(s.Name.Name, &Variant{Node: s, File: fi, directives: goDirectives(doc), UsesC: usesC(s, cName)})
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
						if bound {
							node = d
						}
						for _, n := range s.Names {
							if n.Name != "_" {
								pk.add(n.Name, &Variant{Node: node, File: fi, directives: goDirectives(doc), UsesC: usesC(node, cName)})
							}
						}
						continue
					}
					v := &Variant{Node: s, File: fi, directives: goDirectives(doc), embeds: embedPatterns(doc), UsesC: usesC(s, cName), Var: true}
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

// usesC reports whether a declaration refers to C.name, where cName is
// what its file imports "C" as ("" when it does not).
func usesC(n ast.Node, cName string) bool {
	if cName == "" {
		return false
	}
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == cName {
				found = true
			}
		}
		return !found
	})
	return found
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
func fileOf(f *ast.File, name string) *File {
	fi := &File{Name: name}
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
				fi.debug = append(fi.debug, c.Text)
			}
		}
	}
	fi.directives = b.String()
	fi.Constrained = buildLine(f) != "" || osArchSuffix(name) != ""
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
			imp := Import{Path: p}
			if s.Name != nil {
				imp.Name = s.Name.Name
			}
			fi.Imports = append(fi.Imports, imp)
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

// AsmDefines reports whether the package's assembly defines the function
// name: a TEXT ·name(SB) line.
func (pk *Package) AsmDefines(name string) bool {
	pk.readAsm()
	for _, f := range pk.asm {
		if _, ok := f.blocks[name]; ok {
			return true
		}
	}
	return false
}

// An asmFile is what a function's digest reads of an assembly file: the
// lines every function of the file shares (#include, #define, DATA,
// GLOBL), and each function's TEXT block.
type asmFile struct {
	name   string
	shared string
	blocks map[string]string
}

// readAsm reads the package's assembly files, once.
func (pk *Package) readAsm() {
	if pk.asm != nil {
		return
	}
	pk.asm = []asmFile{}
	entries, _ := os.ReadDir(pk.Dir)
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); ext != ".s" && ext != ".S" && ext != ".sx" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(pk.Dir, e.Name()))
		if err != nil {
			continue
		}
		f := asmFile{name: e.Name(), blocks: map[string]string{}}
		var shared strings.Builder
		sym := ""
		for _, line := range strings.Split(string(data), "\n") {
			t := strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(t, "TEXT"):
				sym = ""
				if _, rest, ok := strings.Cut(t, "\u00b7"); ok {
					if s, _, ok := strings.Cut(rest, "(SB)"); ok {
						s, _, _ = strings.Cut(s, "<") // ·f<ABIInternal>(SB)
						sym = s
					}
				}
			case strings.HasPrefix(t, "#") || strings.HasPrefix(t, "DATA") || strings.HasPrefix(t, "GLOBL"):
				shared.WriteString(t + "\n")
				continue
			}
			if sym != "" {
				f.blocks[sym] += t + "\n"
			}
		}
		f.shared = shared.String()
		pk.asm = append(pk.asm, f)
	}
}

// asmDigest digests what the package's assembly holds of the function
// name: its TEXT blocks in every file that defines it, with the lines
// those files share, and the package's headers; "" when no file defines
// it.
func (pk *Package) asmDigest(name string) string {
	pk.readAsm()
	var b strings.Builder
	for _, f := range pk.asm {
		if block, ok := f.blocks[name]; ok {
			fmt.Fprintf(&b, "%s\x00%s\x00%s\x00", f.name, f.shared, block)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	entries, _ := os.ReadDir(pk.Dir)
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); ext == ".h" || ext == ".hh" || ext == ".hpp" || ext == ".hxx" {
			data, _ := os.ReadFile(filepath.Join(pk.Dir, e.Name()))
			fmt.Fprintf(&b, "%s\x00%s\x00", e.Name(), data)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// nativeDigest digests a package's non-Go sources: assembly, C, headers,
// object files. A function that calls into C counts them, and so does one
// without a body that no assembly defines (its code may be C's).
func (pk *Package) nativeDigest() string {
	if pk.native != nil {
		return *pk.native
	}
	entries, _ := os.ReadDir(pk.Dir)
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() || !slices.Contains(nativeExts, filepath.Ext(e.Name())) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(pk.Dir, e.Name()))
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

// PackageName returns the name the package in dir declares, from its
// files' package clauses alone.
func PackageName(fset *token.FileSet, dir string) string {
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
