package runtime

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
)

// fuzzValue is a result of the kinds a cache stores: floats of every bit
// pattern, nil and empty containers apart, arrays, pointers, nested
// structs, maps of them, a big.Int and a time in a zone of its own.
type fuzzValue struct {
	F64    []float64
	F32    [3]float32
	M      map[string][]int8
	P      *float64
	B      []byte
	S      []string
	Nested []fuzzInner
	Mp     map[int32]*fuzzInner
	I      *big.Int
	T      time.Time
}

type fuzzInner struct {
	X float64
	Y []uint16
	Z map[string]bool
}

// fuzzBytes hands out the fuzzer's bytes, then zeros.
type fuzzBytes []byte

func (b *fuzzBytes) next(n int) []byte {
	out := make([]byte, n)
	copy(out, *b)
	*b = (*b)[min(n, len(*b)):]
	return out
}

func (b *fuzzBytes) u8() int       { return int(b.next(1)[0]) }
func (b *fuzzBytes) u64() uint64   { return binary.LittleEndian.Uint64(b.next(8)) }
func (b *fuzzBytes) f64() float64  { return math.Float64frombits(b.u64()) }
func (b *fuzzBytes) f32() float32  { return math.Float32frombits(uint32(b.u64())) }
func (b *fuzzBytes) str() string   { return string(b.next(b.u8() % 5)) }
func (b *fuzzBytes) count() int    { return b.u8()%6 - 1 } // -1: nil
func (b *fuzzBytes) small() uint16 { return uint16(b.u64()) }

// fuzzSlice makes a nil, empty or short slice of elements from elem.
func fuzzSlice[T any](b *fuzzBytes, elem func() T) []T {
	n := b.count()
	if n < 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = elem()
	}
	return out
}

// fuzzMap makes a nil, empty or small map.
func fuzzMap[K comparable, V any](b *fuzzBytes, key func() K, val func() V) map[K]V {
	n := b.count()
	if n < 0 {
		return nil
	}
	out := make(map[K]V, n)
	for range n {
		out[key()] = val()
	}
	return out
}

func (b *fuzzBytes) inner() *fuzzInner {
	if b.u8()%4 == 0 {
		return nil
	}
	return &fuzzInner{
		X: b.f64(),
		Y: fuzzSlice(b, b.small),
		Z: fuzzMap(b, b.str, func() bool { return b.u8()%2 == 0 }),
	}
}

func valueFrom(data []byte) fuzzValue {
	b := fuzzBytes(data)
	v := fuzzValue{
		F64: fuzzSlice(&b, b.f64),
		F32: [3]float32{b.f32(), b.f32(), b.f32()},
		M:   fuzzMap(&b, b.str, func() []int8 { return fuzzSlice(&b, func() int8 { return int8(b.u8()) }) }),
		B:   fuzzSlice(&b, func() byte { return byte(b.u8()) }),
		S:   fuzzSlice(&b, b.str),
		Nested: fuzzSlice(&b, func() fuzzInner {
			if in := b.inner(); in != nil {
				return *in
			}
			return fuzzInner{}
		}),
		Mp: fuzzMap(&b, func() int32 { return int32(b.u64()) }, b.inner),
	}
	if b.u8()%2 == 0 {
		x := b.f64()
		v.P = &x
	}
	if b.u8()%2 == 0 {
		v.I = new(big.Int).SetBytes(b.next(b.u8() % 24))
		if b.u8()%2 == 0 {
			v.I.Neg(v.I)
		}
	}
	sec := int64(b.u64()%(1<<34)) - 1<<33 // some 270 years either side of 1970
	zone := time.FixedZone(b.str(), int(b.u64()%(28*3600))-14*3600)
	switch b.u8() % 3 {
	case 0:
		v.T = time.Unix(sec, int64(b.u64()%1e9)).In(zone)
	case 1:
		v.T = time.Unix(sec, int64(b.u64()%1e9)).UTC()
	}
	return v
}

// equalFuzz compares as equalValues does (floats by their bits, nil apart
// from empty), big integers by value.
func equalFuzz(a, b fuzzValue) bool {
	return equalBy(reflect.ValueOf(a), reflect.ValueOf(b), func(a, b reflect.Value) (bool, bool) {
		switch a.Type() {
		case reflect.TypeFor[time.Time]():
			return reflect.DeepEqual(a.Interface(), b.Interface()), true
		case reflect.TypeFor[big.Int]():
			x, y := a.Addr().Interface().(*big.Int), b.Addr().Interface().(*big.Int)
			return x.Cmp(y) == 0, true
		}
		return false, false
	})
}

// A property of what the cache stores, over values the fuzzer makes:
// decode(encode(v)) equals v, float bits, nil and empty, zone names and
// offsets to the second included. `go test -fuzz FuzzResultsRoundTrip
// ./runtime` searches further than the seeds.
func FuzzResultsRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Add(bytes.Repeat([]byte{0x00, 0x01, 0x02, 0x7f, 0x80, 0xf8}, 200))
	for i := range 40 {
		seed := make([]byte, 512)
		for j := range seed {
			seed[j] = byte((i*131 + j*j*7 + j) ^ (i << 3))
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v := valueFrom(data)
		if p := entry.StoreProblem(reflect.TypeFor[fuzzValue]()); p != nil {
			t.Fatalf("the fuzzed type cannot be stored: %v", p)
		}
		parts, err := entry.EncodeResult(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := entry.DecodeResult[fuzzValue](bytes.Join(parts, nil), false)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !equalFuzz(got, v) {
			t.Fatalf("round trip of\n%s\ngave\n%s", dump(v), dump(got))
		}
	})
}

func dump(v fuzzValue) string { return fmt.Sprintf("%#v", v) }
