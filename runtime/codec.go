package runtime

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Results are stored as CBOR (RFC 8949), configured so that every value
// the generator accepts comes back exactly: float bits (NaN payloads, ±Inf,
// -0.0) are kept, nil and empty slices and maps stay distinct, pointers to
// zero values come back as pointers, times keep their nanoseconds and
// offset, and strings keep invalid UTF-8.
var (
	encMode = mustEncMode(cbor.EncOptions{
		Sort:          cbor.SortCoreDeterministic, // the same value, the same bytes: ModeVerify compares them
		ShortestFloat: cbor.ShortestFloatNone,
		NaNConvert:    cbor.NaNConvertNone,
		InfConvert:    cbor.InfConvertNone,
		Time:          cbor.TimeRFC3339Nano,
		NilContainers: cbor.NilContainerAsNull,
		String:        cbor.StringToTextString,
	})
	decMode = mustDecMode(cbor.DecOptions{
		MaxNestedLevels:  256,
		MaxArrayElements: 1<<31 - 1,
		MaxMapPairs:      1<<31 - 1,
		UTF8:             cbor.UTF8DecodeInvalid,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	})
)

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

var typeSums sync.Map // reflect.Type -> [8]byte

// typeSum returns a digest of the structure of t: kinds, element types,
// and struct field names and tags, recursively. An entry records the digest
// of the result type it was stored with, and a load for another structure
// is a miss, so that a result type edited without a version bump cannot
// decode into a wrong value.
func typeSum(t reflect.Type) [8]byte {
	if s, ok := typeSums.Load(t); ok {
		return s.([8]byte)
	}
	var b strings.Builder
	describeType(&b, t, map[reflect.Type]int{})
	full := sha256.Sum256([]byte(b.String()))
	var s [8]byte
	copy(s[:], full[:])
	typeSums.Store(t, s)
	return s
}

func describeType(b *strings.Builder, t reflect.Type, seen map[reflect.Type]int) {
	if n, ok := seen[t]; ok {
		fmt.Fprintf(b, "@%d", n) // a recursive type refers back to itself
		return
	}
	if t.Name() != "" {
		seen[t] = len(seen)
	}
	b.WriteString(t.Kind().String())
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		b.WriteByte('(')
		describeType(b, t.Elem(), seen)
		b.WriteByte(')')
	case reflect.Array:
		b.WriteString("(" + strconv.Itoa(t.Len()) + ",")
		describeType(b, t.Elem(), seen)
		b.WriteByte(')')
	case reflect.Map:
		b.WriteByte('(')
		describeType(b, t.Key(), seen)
		b.WriteByte(',')
		describeType(b, t.Elem(), seen)
		b.WriteByte(')')
	case reflect.Struct:
		b.WriteByte('{')
		for i := range t.NumField() {
			f := t.Field(i)
			fmt.Fprintf(b, "%s %q ", f.Name, f.Tag)
			describeType(b, f.Type, seen)
			b.WriteByte(';')
		}
		b.WriteByte('}')
	}
}
