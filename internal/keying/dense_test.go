package keying

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/keytable"
)

// gonum's mat.Dense and mat.VecDense are keyed by the rules RuleMatrix and
// RuleVector, which read them through RawMatrix and RawVector. This
// module does not require gonum (internal/gonumtest, a module of its own,
// tests the real types), so the rules are tried here on stand-ins of the
// same shape, registered as known types of this test's own.

type rawMatrix struct {
	Rows, Cols, Stride int
	Data               []float64
}

type denseStandIn struct{ mat rawMatrix }

func (m *denseStandIn) RawMatrix() rawMatrix { return m.mat }

type rawVector struct {
	N, Inc int
	Data   []float64
}

type vecStandIn struct{ mat rawVector }

func (v *vecStandIn) RawVector() rawVector { return v.mat }

// wrongShape is registered as a matrix but has no RawMatrix: the general
// rules key it.
type wrongShape struct{ A int }

func init() {
	for _, k := range []struct {
		t    reflect.Type
		rule keytable.Rule
	}{
		{reflect.TypeFor[denseStandIn](), keytable.RuleMatrix},
		{reflect.TypeFor[vecStandIn](), keytable.RuleVector},
		{reflect.TypeFor[wrongShape](), keytable.RuleMatrix},
	} {
		keytable.Known[k.t.PkgPath()+"."+k.t.Name()] = keytable.KnownType{Rule: k.rule}
	}
}

func floatBytes(xs ...float64) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// A dense matrix is its shape and its elements in row order, read in
// place: a view keys like a copy of what it shows.
func TestDenseMatricesAndVectors(t *testing.T) {
	const pkg = "github.com/cachegen/cachegen/internal/keying."
	whole := &denseStandIn{rawMatrix{Rows: 2, Cols: 2, Stride: 2, Data: []float64{1, 2, 3, 4}}}
	view := &denseStandIn{rawMatrix{Rows: 2, Cols: 2, Stride: 3, Data: []float64{1, 2, 99, 3, 4, 99}}}
	want := `{"__type__": "` + pkg + `denseStandIn", "cols": 2, "len": 4, "rows": 2, "sha256": "` + hexSHA256(floatBytes(1, 2, 3, 4)) + `"}`
	if got := spelled(t, whole); got != want {
		t.Errorf("a 2x2 matrix:\n got %s\nwant %s", got, want)
	}
	if got := spelled(t, view); got != want {
		t.Errorf("a view with a stride of 3 keys unlike a copy:\n got %s\nwant %s", got, want)
	}
	transposed := &denseStandIn{rawMatrix{Rows: 4, Cols: 1, Stride: 1, Data: []float64{1, 2, 3, 4}}}
	if spelled(t, transposed) == want {
		t.Error("a 4x1 matrix of the same elements keys like the 2x2")
	}
	empty := &denseStandIn{}
	if got := spelled(t, empty); got != `{"__type__": "`+pkg+`denseStandIn", "cols": 0, "len": 0, "rows": 0, "sha256": "`+hexSHA256(nil)+`"}` {
		t.Errorf("an empty matrix: %s", got)
	}

	vec := &vecStandIn{rawVector{N: 3, Inc: 1, Data: []float64{1, 2, 3}}}
	strided := &vecStandIn{rawVector{N: 3, Inc: 2, Data: []float64{1, 0, 2, 0, 3}}}
	want = `{"__type__": "` + pkg + `vecStandIn", "len": 3, "sha256": "` + hexSHA256(floatBytes(1, 2, 3)) + `"}`
	for name, v := range map[string]any{"a vector": vec, "a strided view": strided} {
		if got := spelled(t, v); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}

	// A shape that does not lie in the data, or reads an element twice,
	// is refused, never read out of bounds.
	for name, v := range map[string]any{
		"rows past the data":          &denseStandIn{rawMatrix{Rows: 3, Cols: 2, Stride: 2, Data: []float64{1, 2, 3, 4}}},
		"a stride shorter than a row": &denseStandIn{rawMatrix{Rows: 2, Cols: 2, Stride: 1, Data: []float64{1, 2, 3, 4}}},
		"columns past the data":       &denseStandIn{rawMatrix{Rows: 1, Cols: 5, Stride: 5, Data: []float64{1, 2, 3, 4}}},
		"a vector past its data":      &vecStandIn{rawVector{N: 3, Inc: 2, Data: []float64{1, 2, 3}}},
	} {
		if err := spellErr(v); !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "do not lie in its") {
			t.Errorf("%s: %v, want it refused", name, err)
		}
	}
	// A shape the rule cannot read (a negative increment, a type without
	// the method) falls to the general rules, which refuse the stand-ins'
	// unexported fields and key the exported ones.
	if err := spellErr(&vecStandIn{rawVector{N: 2, Inc: -1, Data: []float64{1, 2}}}); !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "unexported field") {
		t.Errorf("a negative increment: %v", err)
	}
	if got := spelled(t, wrongShape{7}); got != `{"A": 7}` {
		t.Errorf("a known type of another shape: %s, want its fields", got)
	}
}
