package gonumtest

import (
	"strings"
	"testing"

	"github.com/cachegen/cachegen/generator"
)

// TestGeneratorAcceptsWhatTheRuntimeKeys runs the generator over
// testdata/cases, one function per gonum type: it accepts as a parameter
// exactly the types keyCases says the runtime keys, and as a result
// exactly those resultCases says the runtime stores. An interface
// parameter or result is refused: the key cannot tell implementations
// apart, and a load cannot know which type to make.
func TestGeneratorAcceptsWhatTheRuntimeKeys(t *testing.T) {
	res, err := generator.Generate(generator.Config{Dir: "testdata/cases"})
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{}
	for _, r := range res {
		for _, e := range r.Errs {
			// path:line:col: Func: message
			parts := strings.SplitN(e.Error(), ": ", 3)
			if len(parts) < 3 {
				t.Fatalf("error without a position and a function: %v", e)
			}
			refused[parts[1]] = parts[2]
		}
	}
	want := map[string]bool{"KeyMatrix": false, "ResultMatrix": false}
	for _, c := range keyCases {
		want[c.name] = c.keyable
	}
	for _, rc := range resultCases() {
		if !strings.HasPrefix(rc.name, "Empty") { // values, not types
			want[rc.name] = rc.storable
		}
	}
	for name, accepted := range want {
		why, isRefused := refused[name]
		if isRefused == accepted {
			t.Errorf("%s: generator refused=%v (%s), want accepted=%v", name, isRefused, why, accepted)
		}
		delete(refused, name)
	}
	for name, why := range refused {
		t.Errorf("%s: refused, and no case says why: %s", name, why)
	}
	if len(want) != 8 {
		t.Fatalf("%d cases: testdata/cases declares 8 functions", len(want))
	}
}
