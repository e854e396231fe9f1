package keying

import (
	"testing"

	"github.com/cachegen/cachegen/internal/keytable/keycases"
)

// TestKeyTable runs the table of keyable types that the generator's tests
// run too: keying spells exactly the values of the types the generator
// accepts.
func TestKeyTable(t *testing.T) {
	for _, c := range keycases.Cases {
		_, err := Canonical(map[string]any{"x": c.Value})
		if keyed := err == nil; keyed != c.Keyable {
			t.Errorf("%s: keyed=%v (%v), want %v: %s", c.Type, keyed, err, c.Keyable, c.Why)
		}
	}
}
