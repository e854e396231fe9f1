package fingerprint

import (
	"bytes"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// go:linkname links a function without a body to code elsewhere: pulled,
// by the bodiless function's own directive
//
//	//go:linkname now example.com/clock.Now
//	func now() int64
//
// or pushed onto it, by the directive of the function with the body
//
//	//go:linkname impl example.com/sim.now
//	func impl() int64 { ... }
//
// A fingerprint that reaches such a function counts the code it is linked
// to, found in its directive, and in the directives of the local
// packages' files.

var linknameRE = regexp.MustCompile(`(?m)^[ \t]*//go:linkname[ \t]+(\S+)[ \t]+(\S+)[ \t]*$`)

// linkedTo returns the declarations a bodiless function name of pk is
// linked to: those its package's directives pull, and those whose
// directives push onto it.
func (p *Program) linkedTo(pk *pkg, name string) []key {
	p.readLinknames()
	var out []key
	for _, target := range p.pulls[key{pk.path, name}] {
		if k, ok := splitLinkname(target); ok {
			out = append(out, k)
		}
	}
	out = append(out, p.pushes[pk.path+"."+name]...)
	if pk.name == "main" {
		out = append(out, p.pushes["main."+name]...) // the linker's name for it
	}
	return out
}

// splitLinkname splits a linkname target, "example.com/p.F" or
// "example.com/p.(*T).M", into its package and declaration name. A dot in
// the last element of the path is spelled %2e, as the linker spells it.
func splitLinkname(target string) (key, bool) {
	slash := strings.LastIndex(target, "/")
	dot := strings.Index(target[slash+1:], ".")
	if dot < 0 {
		return key{}, false
	}
	pkg, name := target[:slash+1+dot], target[slash+2+dot:]
	if unescaped, err := url.PathUnescape(pkg); err == nil {
		pkg = unescaped
	}
	name = strings.NewReplacer("(*", "", ")", "").Replace(name)
	return key{pkg, name}, name != ""
}

// readLinknames reads, once, the //go:linkname directives of every local
// package's files (a directive may stand anywhere in its file): by
// target, the functions that name it (p.pushes), and by function, the
// targets it names (p.pulls).
func (p *Program) readLinknames() {
	if p.pushes != nil {
		return
	}
	p.pushes, p.pulls = map[string][]key{}, map[key][]string{}
	for i := range p.mods.local {
		m := &p.mods.local[i]
		walkModule(m, func(path string, d fs.DirEntry) {
			name := d.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				return
			}
			src, err := os.ReadFile(path)
			if err != nil || !bytes.Contains(src, []byte("//go:linkname")) {
				return
			}
			rel, _ := filepath.Rel(m.dir, filepath.Dir(path))
			importPath := m.path
			if rel != "." {
				importPath += "/" + filepath.ToSlash(rel)
			}
			for _, l := range linknameRE.FindAllStringSubmatch(string(src), -1) {
				p.pushes[l[2]] = append(p.pushes[l[2]], key{importPath, l[1]})
				p.pulls[key{importPath, l[1]}] = append(p.pulls[key{importPath, l[1]}], l[2])
			}
		})
	}
}
