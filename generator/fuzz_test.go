package generator

import (
	"strings"
	"testing"
)

// Scenario 9: any directive text parses or is refused with an error;
// nothing it accepts is malformed.
func FuzzParseDirective(f *testing.F) {
	for _, s := range []string{"//cache:version=1", "//cache:version=2 ignore=a,b with=X ttl=90m", "//cache:version=", "//cache:version=1 ignore=,", "//cache:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d, err := parseDirective(text)
		if err != nil {
			return
		}
		if d.Version < 0 || d.TTL < 0 {
			t.Fatalf("%q parsed to %+v", text, d)
		}
		for _, n := range append(d.Ignore, d.With...) {
			if n == "" || strings.ContainsAny(n, " \t,") {
				t.Fatalf("%q parsed to a bad name %q", text, n)
			}
		}
	})
}
