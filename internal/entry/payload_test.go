package entry

import (
	"bytes"
	"reflect"
	"testing"
)

type blockInner struct {
	F32 []float32
	I8  []int8
}

type blockOuter struct {
	Name  string
	Xs    []float64
	Ints  []int
	Nil   []uint16
	Empty []int32
	In    blockInner
	Skip  []float64 `json:"-"`
}

// TestPlanFindsEveryBlock checks which numeric slices a result type
// stores as raw blocks: through struct fields, but not a field the
// encoding skips.
func TestPlanFindsEveryBlock(t *testing.T) {
	if slots := planOf(reflect.TypeFor[blockOuter]()); len(slots) != 6 {
		t.Fatalf("%d raw-block slots, want 6 (Xs, Ints, Nil, Empty, In.F32, In.I8; not the skipped field)", len(slots))
	}
}

// Hostile bytes below the checksums: the payload decoder never panics,
// and what it accepts it accepts whole.
func FuzzDecodePayload(f *testing.F) {
	parts, err := EncodeResult(blockOuter{Name: "x", Xs: []float64{1, 2}, Ints: []int{-1}, Empty: []int32{}, In: blockInner{I8: []int8{3}}})
	if err != nil {
		f.Fatal(err)
	}
	good := bytes.Join(parts, nil)
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, alias := range []bool{true, false} {
			v, err := DecodeResult[blockOuter](data, alias)
			if err == nil && bytes.Equal(data, good) && (v.Name != "x" || len(v.Xs) != 2 || v.Ints[0] != -1) {
				t.Fatalf("the good payload decoded to %+v", v)
			}
		}
	})
}
