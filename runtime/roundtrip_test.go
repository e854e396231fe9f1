package runtime

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"testing/quick"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keying"
)

func valueOf(x any) reflect.Value { return reflect.ValueOf(x) }

func equalValues(a, b reflect.Value) bool {
	return equalBy(a, b, func(a, b reflect.Value) (bool, bool) {
		if a.Type() == keying.TimeType {
			return reflect.DeepEqual(a.Interface(), b.Interface()), true
		}
		return false, false
	})
}

// equalBy compares a and b as values, floats by their bits, nil apart
// from empty, by what references refer to; special, when it reports
// true, decides for a pair of its own.
func equalBy(a, b reflect.Value, special func(a, b reflect.Value) (equal, decided bool)) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	if eq, ok := special(a, b); ok {
		return eq
	}
	rec := func(a, b reflect.Value) bool { return equalBy(a, b, special) }
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float()) ||
			a.Kind() == reflect.Float32 && math.Float32bits(float32(a.Float())) == math.Float32bits(float32(b.Float()))
	case reflect.Complex64, reflect.Complex128:
		ca, cb := a.Complex(), b.Complex()
		return math.Float64bits(real(ca)) == math.Float64bits(real(cb)) && math.Float64bits(imag(ca)) == math.Float64bits(imag(cb))
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return rec(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		fallthrough
	case reflect.Array:
		for i := range a.Len() {
			if !rec(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			if !rec(a.MapIndex(k), b.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if !rec(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

func TestDeepEqualBitsCanFail(t *testing.T) {
	if deepEqualBits(0.0, math.Copysign(0, -1)) || deepEqualBits([]int(nil), []int{}) || deepEqualBits(mcResult{Bias: 1}, mcResult{Bias: 2}) {
		t.Fatal("deepEqualBits equates values that differ")
	}
	if !deepEqualBits(math.NaN(), math.NaN()) {
		t.Fatal("deepEqualBits tells a NaN from itself")
	}
}

type inner struct {
	Name string
	Vals map[string][]float64
}

type rich struct {
	F       float64
	F32     float32
	I       int64
	U       uint8
	B       bool
	S       string
	Bytes   []byte
	Nil     []int
	Empty   []int
	NilMap  map[string]int
	EmptyM  map[string]int
	P       *int
	PNil    *int
	In      inner
	InPtr   *inner
	Arr     [3]float64
	When    time.Time
	Took    time.Duration
	Nested  [][]string
	IntKeys map[int]string
}

// roundTrip stores v through Do and loads it back with a fresh Cache on
// the same directory, so the loaded value comes from the entry's bytes.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	dir := t.TempDir()
	c, _ := openDir(t, dir)
	call := Call{Func: "roundtrip", Params: map[string]any{}}
	if _, err := Do(context.Background(), c, call, func(context.Context) (T, error) { return v, nil }); err != nil {
		t.Fatal(err)
	}
	fresh, _ := openDir(t, dir)
	got, err := Do(context.Background(), fresh, call, func(context.Context) (T, error) {
		t.Fatal("the stored entry was not served")
		return v, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestResultsRoundTripExactly(t *testing.T) {
	zero := 0
	full := rich{
		F: math.NaN(), F32: float32(math.Inf(-1)), I: math.MinInt64, U: 255,
		B: true, S: "a\xffb😀", Bytes: []byte{0, 1, 2}, Empty: []int{}, EmptyM: map[string]int{},
		P: &zero, In: inner{Name: "x", Vals: map[string][]float64{"a": {1, math.NaN()}, "nil": nil}},
		InPtr: &inner{}, Arr: [3]float64{math.Inf(1), -1, math.SmallestNonzeroFloat64},
		When: time.Date(2026, 3, 31, 7, 8, 26, 123456789, time.UTC), Took: 2*time.Second + 1,
		Nested: [][]string{nil, {}, {"a"}}, IntKeys: map[int]string{-1: "m", 1: "p"},
	}
	nanPayload := math.Float64frombits(0x7ff8_dead_beef_0001)
	t.Run("struct of every kind", func(t *testing.T) {
		if got := roundTrip(t, full); !deepEqualBits(got, full) {
			t.Errorf("got  %#v\nwant %#v", got, full)
		}
	})
	t.Run("zero struct", func(t *testing.T) {
		if got := roundTrip(t, rich{}); !deepEqualBits(got, rich{}) {
			t.Errorf("got %#v", got)
		}
	})
	t.Run("NaN payload", func(t *testing.T) {
		if got := roundTrip(t, nanPayload); math.Float64bits(got) != math.Float64bits(nanPayload) {
			t.Errorf("NaN bits %x, want %x", math.Float64bits(got), math.Float64bits(nanPayload))
		}
	})
	t.Run("negative zero", func(t *testing.T) {
		if got := roundTrip(t, math.Copysign(0, -1)); !math.Signbit(got) {
			t.Error("-0.0 came back as 0.0")
		}
	})
	t.Run("nil slice", func(t *testing.T) {
		if got := roundTrip(t, []float64(nil)); got != nil {
			t.Errorf("nil slice came back as %#v", got)
		}
	})
	t.Run("empty slice", func(t *testing.T) {
		if got := roundTrip(t, []float64{}); got == nil {
			t.Error("empty slice came back nil")
		}
	})
	t.Run("pointer to zero", func(t *testing.T) {
		if got := roundTrip(t, &zero); got == nil || *got != 0 {
			t.Errorf("pointer to zero came back as %v", got)
		}
	})
	t.Run("local time", func(t *testing.T) {
		want := time.Date(2026, 3, 31, 7, 8, 26, 5, time.Local)
		if got := roundTrip(t, want); !got.Equal(want) || got.Format(time.RFC3339Nano) != want.Format(time.RFC3339Nano) {
			t.Errorf("time came back as %v, want %v", got, want)
		}
	})
	t.Run("big float slice", func(t *testing.T) {
		xs := make([]float64, 10000)
		for i := range xs {
			xs[i] = math.Float64frombits(rand.Uint64())
		}
		if got := roundTrip(t, xs); !deepEqualBits(got, xs) {
			t.Error("a slice of random float bits did not round-trip")
		}
	})
}

type quickValue struct {
	A []float64
	B map[string]int32
	C *string
	D [][]byte
	E struct {
		X uint16
		Y []bool
	}
	F map[int64]*float32
}

// A property test: random values of a nested type round-trip exactly,
// including random float bit patterns.
func TestResultsRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	f := func(v quickValue) bool {
		for i := range v.A {
			if r.IntN(4) == 0 {
				v.A[i] = math.Float64frombits(r.Uint64())
			}
		}
		got := roundTrip(t, v)
		if !deepEqualBits(got, v) {
			t.Logf("got  %#v\nwant %#v", got, v)
			return false
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 40}); err != nil {
		t.Fatal(err)
	}
}

// corruptions maps an entry file's bytes to damaged copies: a flipped bit
// and a 3-byte overwrite in each region (header fields, metadata, payload,
// trailer), truncations, extensions and foreign content.
func corruptions(data []byte, otherEntry []byte) map[string][]byte {
	m := map[string][]byte{}
	flip := func(name string, off int) {
		d := append([]byte(nil), data...)
		d[off] ^= 0x10
		m[name] = d
		// The same place overwritten with three bytes of a pattern.
		o := append([]byte(nil), data...)
		for i := off; i < off+3 && i < len(o); i++ {
			o[i] ^= 0xa5
		}
		m[name+", 3 bytes overwritten"] = o
	}
	h, _ := entry.ParseHeader(data, int64(len(data)))
	metaEnd := entry.HeaderSize + int(h.MetaLen)
	flip("flipped magic", 0)
	flip("flipped length", 13)
	flip("flipped time", 25)
	flip("flipped type digest", 41)
	flip("flipped key digest", 60)
	flip("flipped code fingerprint", 81)
	flip("flipped metadata", entry.HeaderSize+1)
	flip("flipped payload", metaEnd+1)
	flip("flipped last payload byte", len(data)-entry.TrailerSize-1)
	flip("flipped entry.Header checksum", len(data)-entry.TrailerSize)
	flip("flipped payload checksum", len(data)-1)
	m["zero length"] = nil
	m["header only"] = data[:entry.HeaderSize]
	m["truncated by one"] = data[:len(data)-1]
	m["truncated payload"] = data[:metaEnd+2]
	m["one byte longer"] = append(append([]byte(nil), data...), 0)
	m["foreign file"] = []byte("this is not a cache entry, but long enough to have a entry.Header and more: 0123456789012345678901234567890123456789")
	m["moved entry"] = otherEntry

	// A well-formed entry of another format version, checksums and all.
	v2 := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(v2[8:], entry.Format+1)
	payEnd := len(data) - entry.TrailerSize
	binary.LittleEndian.PutUint32(v2[payEnd:], entry.Checksum(v2[:metaEnd]))
	m["other format version"] = v2
	return m
}

func TestCorruptEntriesAreMisses(t *testing.T) {
	dir := t.TempDir()
	c, _ := openDir(t, dir)
	want := mcResult{Precision: 0.00326, Errors: []float64{1, 2, 3}}
	var n counter
	Do(context.Background(), c, mcCall(300), n.fn(want))
	Do(context.Background(), c, mcCall(500), n.fn(mcResult{Precision: 0.002}))
	key, _ := mcCall(300).Key()
	other, _ := mcCall(500).Key()
	path := c.disk.Path(key)
	good, _ := os.ReadFile(path)
	moved, _ := os.ReadFile(c.disk.Path(other))

	for name, bad := range corruptions(good, moved) {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			before := c.Stats()
			got, err := Do(context.Background(), c, mcCall(300), n.fn(want))
			if err != nil || !deepEqualBits(got, want) {
				t.Fatalf("got (%+v, %v), want the right result", got, err)
			}
			after := c.Stats()
			wantCorrupt := before.Corrupt + 1
			if name == "other format version" {
				wantCorrupt = before.Corrupt // written by another cachegen: a miss, not damage
			}
			if after.Computations != before.Computations+1 || after.Corrupt != wantCorrupt {
				t.Errorf("stats went from %+v to %+v: want one computation and %d corrupt entries counted", before, after, wantCorrupt-before.Corrupt)
			}
			// The entry was replaced: the next call is a hit.
			Do(context.Background(), c, mcCall(300), n.fn(want))
			if c.Stats().Hits != after.Hits+1 {
				t.Error("the corrupt entry was not replaced by a good one")
			}
		})
	}
}

func TestEveryTruncationIsAMiss(t *testing.T) {
	c, _ := open(t)
	Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 42, nil })
	key, _ := mcCall(1).Key()
	path := c.disk.Path(key)
	good, _ := os.ReadFile(path)
	for n := range len(good) {
		os.WriteFile(path, good[:n], 0o600)
		ran := false
		v, err := Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { ran = true; return 42, nil })
		if v != 42 || err != nil || !ran {
			t.Fatalf("truncated to %d bytes: got (%v, %v), computed %v", n, v, err, ran)
		}
	}
	if c.Stats().Corrupt != int64(len(good)) {
		t.Errorf("Corrupt = %d, want %d", c.Stats().Corrupt, len(good))
	}
}

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
}

// Numeric slices stored as raw blocks round-trip exactly: nil and empty,
// nested in struct fields, every width, and negative integers.
func TestRawBlocksRoundTrip(t *testing.T) {
	want := blockOuter{
		Name: "x", Xs: []float64{math.Copysign(0, -1), math.NaN(), math.Inf(-1), 1e-310},
		Ints: []int{-1, math.MinInt64, math.MaxInt64}, Empty: []int32{},
		In: blockInner{F32: []float32{-1.5, float32(math.NaN())}, I8: []int8{-128, 127}},
	}
	got := roundTrip(t, want)
	if !deepEqualBits(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	if got.Nil != nil || got.Empty == nil {
		t.Fatal("nil and empty slices were confused")
	}
	top := roundTrip(t, []int64{-5, 7})
	if !deepEqualBits(top, []int64{-5, 7}) {
		t.Fatalf("top-level slice came back as %v", top)
	}
}

// A big slice is aliased from the bytes a hit read, and a second hit is a
// separate copy: changing one result changes no other.
func TestHitsDoNotShareMemory(t *testing.T) {
	c, _ := open(t)
	compute := func(context.Context) ([]float64, error) { return make([]float64, 1000), nil }
	Do(context.Background(), c, mcCall(1), compute)
	a, _ := Do(context.Background(), c, mcCall(1), compute)
	b, _ := Do(context.Background(), c, mcCall(1), compute)
	a[0] = 1
	if b[0] != 0 {
		t.Fatal("two hits share one slice")
	}
}
