package fingerprint

import (
	"net/url"
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
// to, found in its directive, and in the directives of the other
// packages' files.

var linknameRE = regexp.MustCompile(`(?m)^[ \t]*//go:linkname[ \t]+(\S+)[ \t]+(\S+)[ \t]*$`)

// Linknames returns the //go:linkname directives of a file's source (a
// directive may stand anywhere in its file), each as its local name and
// its target.
func Linknames(src []byte) [][2]string {
	var out [][2]string
	for _, l := range linknameRE.FindAllSubmatch(src, -1) {
		out = append(out, [2]string{string(l[1]), string(l[2])})
	}
	return out
}

// SplitLinkname splits a linkname target, "example.com/p.F" or
// "example.com/p.(*T).M", into its package's import path and the
// declaration's name ("F", "T.M"). A dot in the last element of the path
// is spelled %2e, as the linker spells it.
func SplitLinkname(target string) (pkg, name string, ok bool) {
	slash := strings.LastIndex(target, "/")
	dot := strings.Index(target[slash+1:], ".")
	if dot < 0 {
		return "", "", false
	}
	pkg, name = target[:slash+1+dot], target[slash+2+dot:]
	if unescaped, err := url.PathUnescape(pkg); err == nil {
		pkg = unescaped
	}
	name = strings.NewReplacer("(*", "", ")", "").Replace(name)
	return pkg, name, name != ""
}
