package runtime

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/cachegen/cachegen/internal/entry"
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

// tableTrip stores and loads v as a result of type T.
func tableTrip[T any](v any) (any, error) {
	parts, err := entry.EncodeResult(v.(T))
	if err != nil {
		return nil, err
	}
	return entry.DecodeResult[T](bytes.Join(parts, nil), false)
}

// TestResultTable runs the table of storable result types that the
// generator's tests run too: a result of each type the generator accepts
// comes back from the cache exactly, and one of each type it refuses does
// not.
func TestResultTable(t *testing.T) {
	trips := map[string]func(any) (any, error){
		"ResultInt":          tableTrip[keytable.ResultInt],
		"ResultFloats":       tableTrip[keytable.ResultFloats],
		"ResultStruct":       tableTrip[keytable.ResultStruct],
		"ResultUnexported":   tableTrip[keytable.ResultUnexported],
		"ResultBinary":       tableTrip[keytable.ResultBinary],
		"ResultText":         tableTrip[keytable.ResultText],
		"ResultTextOnly":     tableTrip[keytable.ResultTextOnly],
		"ResultGob":          tableTrip[keytable.ResultGob],
		"ResultGobNested":    tableTrip[keytable.ResultGobNested],
		"ResultPromoted":     tableTrip[keytable.ResultPromoted],
		"ResultBigInt":       tableTrip[keytable.ResultBigInt],
		"ResultBigFloat":     tableTrip[keytable.ResultBigFloat],
		"ResultBigFloatIn":   tableTrip[keytable.ResultBigFloatIn],
		"ResultBigRat":       tableTrip[keytable.ResultBigRat],
		"ResultBigRatIn":     tableTrip[keytable.ResultBigRatIn],
		"ResultDense":        tableTrip[keytable.ResultDense],
		"ResultSymDense":     tableTrip[keytable.ResultSymDense],
		"ResultPattern":      tableTrip[keytable.ResultPattern],
		"ResultTime":         tableTrip[keytable.ResultTime],
		"ResultMapOfBigInts": tableTrip[keytable.ResultMapOfBigInts],
	}
	for _, c := range keytable.ResultCases {
		trip, ok := trips[c.Type]
		if !ok {
			t.Fatalf("%s: no round trip for it in this test", c.Type)
		}
		got, err := trip(c.Value)
		if exact := err == nil && reflect.DeepEqual(got, c.Value); exact != c.Storable {
			t.Errorf("%s: round trip exact=%v (got %#v, err %v), want %v: %s", c.Type, exact, got, err, c.Storable, c.Why)
		}
	}
}
