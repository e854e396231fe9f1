package keying

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"unicode/utf8"
)

// The bound keying checks before it spells a string is the length of its
// spelling, exactly, so that the two cannot drift apart: spelledLen for
// what string spells, and what stringOrBytes makes room for, for a
// string that is not UTF-8, spelled in hex.
func TestSpelledLenIsTheSpelling(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	runes := []rune{'a', '"', '\\', '\n', '\r', '\t', '\b', '\f', 0, 0x1b, 0x7f, 0x9b, 'é', 0x202e, 0xffff, 0x1f600, 0x10ffff}
	hexChecked := 0
	for range 2000 {
		var b []byte
		for range r.IntN(20) {
			if r.IntN(10) == 0 {
				b = append(b, byte(r.IntN(256))) // perhaps not UTF-8
			} else {
				b = utf8.AppendRune(b, runes[r.IntN(len(runes))])
			}
		}
		s := string(b)
		if n, got := spelledLen(s), len(AppendString(nil, s)); n != got {
			t.Fatalf("spelledLen(%q) = %d, spelling %d bytes", s, n, got)
		}
		if utf8.ValidString(s) || hexChecked == 20 {
			continue
		}
		hexChecked++
		// Just room enough for its hex spelling: spelled; a byte less: refused.
		e := keyEncoder{}
		if err := e.stringOrBytes(s, reflect.TypeFor[string]()); err != nil {
			t.Fatal(err)
		}
		full := keyEncoder{buf: make([]byte, maxCanonical-len(e.buf))}
		if err := full.stringOrBytes(s, reflect.TypeFor[string]()); err != nil {
			t.Fatalf("%q refused with just room for its %d bytes: %v", s, len(e.buf), err)
		}
		over := keyEncoder{buf: make([]byte, maxCanonical-len(e.buf)+1)}
		if over.stringOrBytes(s, reflect.TypeFor[string]()) == nil {
			t.Fatalf("%q spelled past the bound", s)
		}
	}
}
