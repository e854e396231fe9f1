package generator

import (
	"go/types"
	"testing"

	"github.com/cachegen/cachegen/internal/keytable/keycases"
	"golang.org/x/tools/go/packages"
)

// TestKeyTable runs the table of keyable types that the runtime's tests
// run too: the generator accepts exactly the parameter types whose values
// the runtime keys.
func TestKeyTable(t *testing.T) {
	scope := tableScope(t)
	for _, c := range keycases.Cases {
		obj := scope.Lookup(c.Type)
		if obj == nil {
			t.Fatalf("the table names %s, which it does not declare", c.Type)
		}
		pr := (&checker{}).keyProblem(obj.Type(), true, map[types.Type]bool{})
		if keyed := pr == nil; keyed != c.Keyable {
			t.Errorf("%s: accepted=%v (%v), want %v: %s", c.Type, keyed, pr, c.Keyable, c.Why)
		}
	}
}

// TestResultTable runs the table of storable result types that the
// runtime's tests run too: the generator accepts exactly the result types
// the runtime stores exactly.
func TestResultTable(t *testing.T) {
	scope := tableScope(t)
	for _, c := range keycases.ResultCases {
		obj := scope.Lookup(c.Type)
		if obj == nil {
			t.Fatalf("the table names %s, which it does not declare", c.Type)
		}
		pr := (&checker{}).storeProblem(obj.Type(), true, map[types.Type]bool{})
		if stored := pr == nil; stored != c.Storable {
			t.Errorf("%s: accepted=%v (%v), want %v: %s", c.Type, stored, pr, c.Storable, c.Why)
		}
	}
}

// tableScope loads the package of the cases, as the generator sees it.
func tableScope(t *testing.T) *types.Scope {
	t.Helper()
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedTypes | packages.NeedName}, "github.com/cachegen/cachegen/internal/keytable/keycases")
	if err != nil || len(pkgs) != 1 || pkgs[0].Types == nil {
		t.Fatalf("loading the table: %v %v", err, pkgs)
	}
	return pkgs[0].Types.Scope()
}
