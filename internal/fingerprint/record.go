package fingerprint

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// A Record is what a generated file remembers of one function: the
// version and fingerprint it was generated from, and the earlier
// fingerprints whose results were declared the same (cachegen -accept).
// It is written as one comment line:
//
//	// cachegen:fingerprint/v5 Run version=1 sum=… accepted=… uses=… parts=Run:…,stats:…,math.*:…
//
// v5 names the digest scheme (see Scheme). Records of another scheme
// cannot be compared, and are replaced.
type Record struct {
	Name     string // F, or T.M
	Version  int
	Sum      string
	Accepted []string // earlier sums whose entries stay valid
	Uses     []string // the declared functions its wrappers call, qualified, whose code counts too
	Parts    []string
}

const recordTag = "cachegen:fingerprint/" + Scheme

var recordRE = regexp.MustCompile(`(?m)^// ` + regexp.QuoteMeta(recordTag) + ` (\S+) version=(\d+) sum=([0-9a-f]+)(?: accepted=([0-9a-f,]+))?(?: uses=(\S+))? parts=(\S*)$`)

// Line returns the record's comment text, without the leading "// ".
func (r Record) Line() string {
	accepted, uses := "", ""
	if len(r.Accepted) > 0 {
		accepted = " accepted=" + strings.Join(r.Accepted, ",")
	}
	if len(r.Uses) > 0 {
		uses = " uses=" + strings.Join(r.Uses, ",")
	}
	return fmt.Sprintf("%s %s version=%d sum=%s%s%s parts=%s", recordTag, r.Name, r.Version, r.Sum, accepted, uses, strings.Join(r.Parts, ","))
}

// ParseRecords reads the records of a generated file, by function name.
func ParseRecords(src []byte) map[string]Record {
	out := map[string]Record{}
	for _, m := range recordRE.FindAllSubmatch(src, -1) {
		v, _ := strconv.Atoi(string(m[2]))
		r := Record{Name: string(m[1]), Version: v, Sum: string(m[3]), Parts: strings.Split(string(m[6]), ",")}
		if len(m[4]) > 0 {
			r.Accepted = strings.Split(string(m[4]), ",")
		}
		if len(m[5]) > 0 {
			r.Uses = strings.Split(string(m[5]), ",")
		}
		out[r.Name] = r
	}
	return out
}

// Changed names the declarations whose parts differ between two
// fingerprints, sorted.
func Changed(old, new []string) []string {
	names := map[string]bool{}
	for _, pair := range [][2][]string{{old, new}, {new, old}} {
		for _, p := range pair[0] {
			if !slices.Contains(pair[1], p) {
				name, _, _ := strings.Cut(p, ":")
				names[name] = true
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

// maxNamed is how many changed names a message lists before it counts the
// rest, and maxNamedWidth how many characters the names listed may take.
const (
	maxNamed      = 6
	maxNamedWidth = 100
)

// ChangedList lists names for a message, the first few by name and the
// rest by their count: "a, b, c and 4 more". It names at most maxNamed,
// in at most maxNamedWidth characters (but always the first), so that a
// message stays one readable line however much changed.
func ChangedList(names []string) string {
	var b strings.Builder
	n := 0
	for i, name := range names {
		sep := ", "
		if i == 0 {
			sep = ""
		}
		fits := n < maxNamed-1 || n == maxNamed-1 && len(names) == maxNamed
		if n > 0 && (!fits || b.Len()+len(sep)+len(name) > maxNamedWidth) {
			break
		}
		b.WriteString(sep + name)
		n++
	}
	if rest := len(names) - n; rest > 0 {
		fmt.Fprintf(&b, " and %d more", rest)
	}
	return b.String()
}

// Current returns the records in the generated files of the packages of
// funcs (qualified names, "example.com/sim.Run", "example.com/sim.Model.Fit")
// that belong to the module that holds dir: by qualified name, the code
// each cached function of those packages runs now, as its wrappers were
// generated. It reads the directories of those packages, and nothing else.
func Current(dir string, funcs []string) (map[string]Record, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var gomod []byte
	for {
		if gomod, err = os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(root) == root {
			return nil, fmt.Errorf("no go.mod in %s or a directory above it", dir)
		}
		root = filepath.Dir(root)
	}
	modPath := modfile.ModulePath(gomod)
	if modPath == "" {
		return nil, fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
	}
	// The package of a qualified name is what precedes the first dot after
	// its last slash.
	pkgs := map[string]bool{}
	for _, fn := range funcs {
		if pkg := PackageOf(fn); pkg != "" && (pkg == modPath || strings.HasPrefix(pkg, modPath+"/")) {
			pkgs[pkg] = true
		}
	}
	out := map[string]Record{}
	for pkg := range pkgs {
		pkgDir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, modPath), "/")))
		files, _ := filepath.Glob(filepath.Join(pkgDir, "*.go"))
		for _, p := range files {
			if strings.HasSuffix(p, "_test.go") || !generatedFile(p) {
				continue
			}
			src, err := os.ReadFile(p)
			if err != nil || !IsGenerated(src) {
				continue
			}
			for name, r := range ParseRecords(src) {
				out[pkg+"."+name] = r
			}
		}
	}
	return out, nil
}

// PackageOf returns the import path of the package of a qualified name
// ("example.com/sim.F", "example.com/sim.T.M"): what precedes the first
// dot after its last slash; "" when there is none.
func PackageOf(fn string) string {
	slash := strings.LastIndex(fn, "/") + 1
	dot := strings.Index(fn[slash:], ".")
	if dot < 0 {
		return ""
	}
	return fn[:slash+dot]
}

// generatedFile reports whether the file at p starts as a generated file
// of cachegen's does, reading its first line alone.
func generatedFile(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	return IsGenerated(append(head[:n:n], '\n'))
}
