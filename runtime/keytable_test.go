package runtime

import (
	"bytes"
	"context"
	"reflect"
	"strings"
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

// tableDo calls Do twice for the call of a function whose result is v,
// of type T, which the table says cannot be stored: each call computes,
// none stores or counts an entry corrupt, and the function is warned of
// once, by its type and the reason.
func tableDo[T any](t *testing.T, v any, why string) {
	c, log := open(t)
	call := Call{Func: "example.com/table.Build", Version: 1, Params: map[string]any{"n": 1}}
	computed := 0
	for range 2 {
		got, err := Do(context.Background(), c, call, func(context.Context) (T, error) {
			computed++
			return v.(T), nil
		})
		if err != nil || !reflect.DeepEqual(any(got), v) {
			t.Fatalf("Do = %#v, %v: want the computed %#v", got, err, v)
		}
	}
	s := c.Stats()
	if computed != 2 || s.Unstorable != 2 || s.BytesWritten != 0 || s.Corrupt != 0 {
		t.Errorf("computed %d, %+v: want two computations, both unstorable, nothing stored, nothing corrupt (%s)", computed, s, why)
	}
	warns := strings.Count(log.String(), "WARN")
	typ := reflect.TypeFor[T]().String()
	if warns != 1 || !strings.Contains(log.String(), "cannot be stored exactly") || !strings.Contains(log.String(), typ) {
		t.Errorf("log %q: want one warning naming %s and why it cannot be stored", log, typ)
	}
}

type tableFuncs struct {
	trip func(any) (any, error, error)
	do   func(*testing.T, any, string)
}

func of[T any]() tableFuncs { return tableFuncs{tableTrip[T], tableDo[T]} }

// TestResultTable runs the table of storable result types that the
// generator's tests run too: a result of each type the generator accepts
// comes back from the cache exactly, and one of each type it refuses does
// not.
func TestResultTable(t *testing.T) {
	trips := map[string]tableFuncs{
		"ResultInt":            of[keycases.ResultInt](),
		"ResultFloats":         of[keycases.ResultFloats](),
		"ResultStruct":         of[keycases.ResultStruct](),
		"ResultUnexported":     of[keycases.ResultUnexported](),
		"ResultBinary":         of[keycases.ResultBinary](),
		"ResultText":           of[keycases.ResultText](),
		"ResultTextOnly":       of[keycases.ResultTextOnly](),
		"ResultGob":            of[keycases.ResultGob](),
		"ResultGobNested":      of[keycases.ResultGobNested](),
		"ResultPromoted":       of[keycases.ResultPromoted](),
		"ResultBigInt":         of[keycases.ResultBigInt](),
		"ResultBigFloat":       of[keycases.ResultBigFloat](),
		"ResultBigFloatIn":     of[keycases.ResultBigFloatIn](),
		"ResultBigRat":         of[keycases.ResultBigRat](),
		"ResultBigRatIn":       of[keycases.ResultBigRatIn](),
		"ResultPattern":        of[keycases.ResultPattern](),
		"ResultTime":           of[keycases.ResultTime](),
		"ResultMapOfBigInts":   of[keycases.ResultMapOfBigInts](),
		"ResultBigFloatPP":     of[keycases.ResultBigFloatPP](),
		"ResultIP":             of[keycases.ResultIP](),
		"ResultURL":            of[keycases.ResultURL](),
		"ResultOmitEmpty":      of[keycases.ResultOmitEmpty](),
		"ResultShadowed":       of[keycases.ResultShadowed](),
		"ResultSameTag":        of[keycases.ResultSameTag](),
		"ResultPtrToSlice":     of[keycases.ResultPtrToSlice](),
		"ResultAny":            of[keycases.ResultAny](),
		"ResultMapAny":         of[keycases.ResultMapAny](),
		"ResultTimeKeys":       of[keycases.ResultTimeKeys](),
		"ResultTimeStructKeys": of[keycases.ResultTimeStructKeys](),
		"ResultTimeValues":     of[keycases.ResultTimeValues](),
	}
	for _, c := range keycases.ResultCases {
		trip, ok := trips[c.Type]
		if !ok {
			t.Fatalf("%s: no round trip for it in this test", c.Type)
		}
		got, err, problem := trip.trip(c.Value)
		if exact := err == nil && reflect.DeepEqual(got, c.Value); exact != c.Storable {
			t.Errorf("%s: round trip exact=%v (got %#v, err %v), want %v: %s", c.Type, exact, got, err, c.Storable, c.Why)
		}
		// The runtime's own check, which Do applies, says the same.
		if (problem == nil) != c.Storable {
			t.Errorf("%s: StoreProblem = %v, want storable=%v: %s", c.Type, problem, c.Storable, c.Why)
		}
		// And Do, called directly, computes what it refuses every time,
		// and says so once.
		if !c.Storable {
			t.Run(c.Type, func(t *testing.T) { trip.do(t, c.Value, c.Why) })
		}
	}
}
