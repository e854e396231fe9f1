package runtime

import (
	"testing"

	"github.com/cachegen/cachegen/internal/keytable"
)

// TestKeyTable runs the table of keyable types that the generator's tests
// run too: the runtime keys exactly the values of the types the generator
// accepts.
func TestKeyTable(t *testing.T) {
	for _, c := range keytable.Cases {
		_, err := canonicalJSON(map[string]any{"x": c.Value})
		if keyed := err == nil; keyed != c.Keyable {
			t.Errorf("%s: keyed=%v (%v), want %v: %s", c.Type, keyed, err, c.Keyable, c.Why)
		}
	}
}
