package fingerprint

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// A Record is what a generated file remembers of one function: the
// version and fingerprint it was generated from, and the earlier
// fingerprints whose results were declared the same (cachegen -accept).
// It is written as one comment line:
//
//	// cachegen:fingerprint/v4 Run version=1 sum=… accepted=… uses=… parts=Run:…,stats:…
//
// v4 names the digest scheme (see Scheme). Records of another scheme
// cannot be compared, and are replaced.
type Record struct {
	Name     string // F, or T.M
	Version  int
	Sum      string
	Accepted []string // earlier sums whose entries stay valid
	Uses     []string // the declared functions its wrappers call, qualified (see Program.Of)
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
// fingerprints.
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

// Record returns the record of the function name that the generated files
// of a local package hold, if any.
func (p *Program) Record(pkgPath, name string) (Record, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pk := p.pkg(pkgPath)
	if pk == nil {
		return Record{}, false
	}
	entries, _ := os.ReadDir(pk.dir)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(pk.dir, e.Name()))
		if err != nil || !IsGenerated(src) {
			continue
		}
		if r, ok := ParseRecords(src)[name]; ok {
			return r, true
		}
	}
	return Record{}, false
}
