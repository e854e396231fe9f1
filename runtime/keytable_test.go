package runtime

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keytable/keycases"
)

// tableTrip stores and loads v as a result of type T, and returns what
// the runtime's own check of T says.
func tableTrip[T any](v any) (any, error, error) {
	problem := entry.StoreProblem(reflect.TypeFor[T]())
	parts, err := entry.EncodeResult(v.(T))
	if err != nil {
		return nil, err, problem
	}
	got, err := entry.DecodeResult[T](bytes.Join(parts, nil), false)
	return got, err, problem
}

// TestResultTable runs the table of storable result types that the
// generator's tests run too: a result of each type the generator accepts
// comes back from the cache exactly, and one of each type it refuses does
// not.
func TestResultTable(t *testing.T) {
	trips := map[string]func(any) (any, error, error){
		"ResultInt":          tableTrip[keycases.ResultInt],
		"ResultFloats":       tableTrip[keycases.ResultFloats],
		"ResultStruct":       tableTrip[keycases.ResultStruct],
		"ResultUnexported":   tableTrip[keycases.ResultUnexported],
		"ResultBinary":       tableTrip[keycases.ResultBinary],
		"ResultText":         tableTrip[keycases.ResultText],
		"ResultTextOnly":     tableTrip[keycases.ResultTextOnly],
		"ResultGob":          tableTrip[keycases.ResultGob],
		"ResultGobNested":    tableTrip[keycases.ResultGobNested],
		"ResultPromoted":     tableTrip[keycases.ResultPromoted],
		"ResultBigInt":       tableTrip[keycases.ResultBigInt],
		"ResultBigFloat":     tableTrip[keycases.ResultBigFloat],
		"ResultBigFloatIn":   tableTrip[keycases.ResultBigFloatIn],
		"ResultBigRat":       tableTrip[keycases.ResultBigRat],
		"ResultBigRatIn":     tableTrip[keycases.ResultBigRatIn],
		"ResultDense":        tableTrip[keycases.ResultDense],
		"ResultSymDense":     tableTrip[keycases.ResultSymDense],
		"ResultPattern":      tableTrip[keycases.ResultPattern],
		"ResultTime":         tableTrip[keycases.ResultTime],
		"ResultMapOfBigInts": tableTrip[keycases.ResultMapOfBigInts],
		"ResultBigFloatPP":   tableTrip[keycases.ResultBigFloatPP],
		"ResultIP":           tableTrip[keycases.ResultIP],
		"ResultURL":          tableTrip[keycases.ResultURL],
		"ResultOmitEmpty":    tableTrip[keycases.ResultOmitEmpty],
		"ResultShadowed":     tableTrip[keycases.ResultShadowed],
		"ResultSameTag":      tableTrip[keycases.ResultSameTag],
		"ResultPtrToSlice":   tableTrip[keycases.ResultPtrToSlice],
		"ResultAny":          tableTrip[keycases.ResultAny],
		"ResultMapAny":       tableTrip[keycases.ResultMapAny],
	}
	for _, c := range keycases.ResultCases {
		trip, ok := trips[c.Type]
		if !ok {
			t.Fatalf("%s: no round trip for it in this test", c.Type)
		}
		got, err, problem := trip(c.Value)
		if exact := err == nil && reflect.DeepEqual(got, c.Value); exact != c.Storable {
			t.Errorf("%s: round trip exact=%v (got %#v, err %v), want %v: %s", c.Type, exact, got, err, c.Storable, c.Why)
		}
		// The runtime's own check, which Do applies, says the same.
		if (problem == nil) != c.Storable {
			t.Errorf("%s: StoreProblem = %v, want storable=%v: %s", c.Type, problem, c.Storable, c.Why)
		}
	}
}
