package entry

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Counts []int32 `json:"counts"`
	Label  string
}

type described struct {
	Mean    float64
	Samples []float64
	Missing []float64
	Inner   inner
	Names   []string
	Raw     []byte
	Tag     *[]byte // not a block: a CBOR byte string
	When    time.Time
	ByIndex map[int]string
}

func TestDescribe(t *testing.T) {
	tag := bytes.Repeat([]byte{0xcd}, 30)
	v := described{
		Mean:    0.5,
		Samples: []float64{1.5, -2, 3, 4, 5, 6, 7},
		Inner:   inner{Counts: []int32{-1, 2}, Label: "band 7"},
		Names:   make([]string, 25),
		Raw:     bytes.Repeat([]byte{0xab}, 30),
		Tag:     &tag,
		When:    time.Date(2026, 11, 28, 12, 0, 0, 5, time.UTC),
		ByIndex: map[int]string{2: "b", 1: "a"},
	}
	parts, err := EncodeResult(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Describe(bytes.Join(parts, nil), BlocksOf(reflect.TypeFor[described]()))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"Mean": 0.5`,
		`"Samples": []float64, 7 elements: [1.5, -2, 3, 4, 5, …]`,
		`"Missing": null`,
		`"counts": []int32, 2 elements: [-1, 2]`,
		`"Label": "band 7"`,
		`… (25 elements)`,
		`"Raw": []uint8, 30 elements: [171, 171, 171, 171, 171, …]`,
		`"Tag": h'cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd' … (30 bytes)`,
		`"When": "2026-11-28T12:00:00.000000005Z"`,
		`1: "a"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the description lacks %s:\n%s", want, got)
		}
	}

	// Without the blocks' description, a block is shown by its size.
	got, err = Describe(bytes.Join(parts, nil), nil)
	if err != nil || !strings.Contains(got, "with numeric blocks of 56, 0, 8, 30 bytes") {
		t.Errorf("without blocks: %v\n%s", err, got)
	}
	// A result that is itself a slice.
	parts, _ = EncodeResult([]uint16{7, 8})
	if got, err := Describe(bytes.Join(parts, nil), BlocksOf(reflect.TypeFor[[]uint16]())); err != nil || got != "[]uint16, 2 elements: [7, 8]" {
		t.Errorf("a slice result: %q, %v", got, err)
	}
	// One element is one element.
	parts, _ = EncodeResult([]float64{7})
	if got, _ := Describe(bytes.Join(parts, nil), BlocksOf(reflect.TypeFor[[]float64]())); got != "[]float64, 1 element: [7]" {
		t.Errorf("a one-element slice: %q", got)
	}
	// Junk is an error, not a panic.
	for _, junk := range [][]byte{nil, {1, 0, 0, 0}, bytes.Repeat([]byte{0xff}, 64)} {
		if _, err := Describe(junk, nil); err == nil {
			t.Errorf("Describe(%x) did not fail", junk)
		}
	}
}

type numbered struct {
	Samples []float64 `cbor:"1,keyasint"`
	Name    string    `cbor:"2,keyasint"`
}

type arrayed struct {
	_       struct{} `cbor:",toarray"`
	Name    string
	Samples []float64
}

type arrayKeyed struct {
	Counts  map[[2]int]string
	Samples []float64
}

// TestDescribeOddShapes shows the blocks of results whose fields are
// numbered, or encoded as an array, and results whose map keys have no
// Go value of type any.
func TestDescribeOddShapes(t *testing.T) {
	got := describeOf(t, numbered{Samples: []float64{1, 2}, Name: "x"})
	if !strings.Contains(got, "1: []float64, 2 elements: [1, 2]") || strings.Contains(got, `"1"`) {
		t.Errorf("a keyasint block is not shown in its place:\n%s", got)
	}
	got = describeOf(t, arrayed{Name: "x", Samples: []float64{1, 2}})
	if !strings.Contains(got, `"x"`) || !strings.Contains(got, "with numeric blocks:\n  float64 at Samples: []float64, 2 elements: [1, 2]") {
		t.Errorf("a block of a toarray struct is not listed:\n%s", got)
	}
	got = describeOf(t, arrayKeyed{Counts: map[[2]int]string{{1, 2}: "a"}, Samples: []float64{3}})
	if !strings.Contains(got, `[1, 2]: "a"`) || !strings.Contains(got, "float64 at Samples: []float64, 1 element: [3]") {
		t.Errorf("a result with array map keys is not shown in diagnostic notation:\n%s", got)
	}
}

// describeOf describes v as stored.
func describeOf[T any](t *testing.T, v T) string {
	t.Helper()
	parts, err := EncodeResult(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Describe(bytes.Join(parts, nil), BlocksOf(reflect.TypeFor[T]()))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func FuzzDescribe(f *testing.F) {
	parts, _ := EncodeResult(described{Samples: []float64{1}})
	f.Add(bytes.Join(parts, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		Describe(data, nil)
		Describe(data, BlocksOf(reflect.TypeFor[described]()))
	})
}
