package entry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime/metrics"
	"testing"
)

// allocated returns the bytes the process has allocated so far.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// payloadOf wraps a CBOR body as a payload of no numeric blocks.
func payloadOf(body []byte) []byte {
	le := binary.LittleEndian
	out := le.AppendUint32(nil, 0)
	out = le.AppendUint64(out, uint64(len(body)))
	out = append(out, body...)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	return out
}

type bombTarget struct {
	A []string
	B map[int]*float64
	C [][]int
}

// decodeAll decodes data as each of several result types, and returns
// the largest number of bytes one decoding allocated.
func decodeAll(data []byte) (most uint64, errs []error) {
	measure := func(f func() error) {
		// The first run builds the decoder's caches for the type and the
		// shapes it meets, once a process; of the runs after it, the
		// least is taken, since what the counter reads is the process's
		// (a fuzzing worker's other goroutines allocate too).
		f()
		least := ^uint64(0)
		var err error
		for range 3 {
			before := allocated()
			err = f()
			least = min(least, allocated()-before)
		}
		most = max(most, least)
		errs = append(errs, err)
	}
	measure(func() error { _, err := DecodeResult[[][]int](data, false); return err })
	measure(func() error { _, err := DecodeResult[[]map[string]int](data, false); return err })
	measure(func() error { _, err := DecodeResult[map[string][]any](data, false); return err })
	measure(func() error { _, err := DecodeResult[any](data, false); return err })
	measure(func() error { _, err := DecodeResult[bombTarget](data, false); return err })
	measure(func() error { _, err := Describe(data, nil); return err })
	return most, errs
}

// bound is what decoding data may allocate.
func bound(data []byte) uint64 { return uint64(MaxInflation*len(data) + InflationSlack + 32<<10) }

func TestDecodingInflatingPayloadsIsRefusedFirst(t *testing.T) {
	const n = 4 << 20
	arrayOf := func(elem byte) []byte {
		return append(binary.BigEndian.AppendUint32([]byte{0x9a}, n), bytes.Repeat([]byte{elem}, n)...)
	}
	bombs := map[string][]byte{
		// An array of four million empty arrays: 4 MiB that would be
		// 96 MiB of slice headers, or more as []any.
		"empty arrays": arrayOf(0x80),
		// Empty maps, each a map header.
		"empty maps": arrayOf(0xa0),
		// An indefinite array of empty arrays.
		"indefinite": append(append([]byte{0x9f}, bytes.Repeat([]byte{0x80}, n)...), 0xff),
		// Containers that claim more elements than bytes remain.
		"a lying array":  {0x9b, 0, 0, 0, 1, 0, 0, 0, 0},
		"a lying map":    {0xbb, 0, 0, 0, 1, 0, 0, 0, 0},
		"a lying string": {0x5b, 0, 0, 0, 1, 0, 0, 0, 0},
	}
	for name, body := range bombs {
		data := payloadOf(body)
		most, errs := decodeAll(data)
		if most > bound(data) {
			t.Errorf("%s: a decoding allocated %d bytes for a %d-byte payload, more than %d", name, most, len(data), bound(data))
		}
		for i, err := range errs {
			if err == nil && name != "empty arrays" && name != "indefinite" {
				t.Errorf("%s: decoding %d accepted it", name, i)
			}
		}
	}
	// The bombs are refused as inflating, before anything is decoded.
	if _, err := DecodeResult[[]any](payloadOf(bombs["empty maps"]), false); !errors.Is(err, ErrInflates) {
		t.Errorf("empty maps as []any: err = %v, want ErrInflates", err)
	}
	if _, err := Describe(payloadOf(bombs["empty maps"]), nil); !errors.Is(err, ErrInflates) {
		t.Errorf("empty maps described: err = %v, want ErrInflates", err)
	}
}

func TestDecodingGoodPayloadsIsNotRefused(t *testing.T) {
	type row struct {
		Name  string
		Tags  []string
		Score map[string]float64
	}
	rows := make([]row, 20000)
	for i := range rows {
		rows[i] = row{Name: "r", Tags: []string{"a", "b"}, Score: map[string]float64{"x": 1}}
	}
	parts, err := EncodeResult(rows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeResult[[]row](bytes.Join(parts, nil), false)
	if err != nil || len(got) != len(rows) {
		t.Fatalf("a good payload: %d rows, %v", len(got), err)
	}
	if _, err := Describe(bytes.Join(parts, nil), nil); err != nil {
		t.Errorf("describing a good payload: %v", err)
	}
}

// FuzzDecodeBounded decodes any bytes as several result types: no decoding
// allocates more than MaxInflation times the bytes, plus InflationSlack.
func FuzzDecodeBounded(f *testing.F) {
	parts, _ := EncodeResult(bombTarget{A: []string{"x"}, B: map[int]*float64{1: new(float64)}, C: [][]int{{1}, {}}})
	f.Add(bytes.Join(parts, nil))
	f.Add(payloadOf([]byte{0x9f, 0x80, 0x80, 0xff}))
	f.Add(payloadOf([]byte{0x83, 0xa0, 0xa0, 0xa0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if most, _ := decodeAll(data); most > bound(data) {
			t.Fatalf("a decoding allocated %d bytes for %d bytes of payload, more than %d", most, len(data), bound(data))
		}
	})
}

type bigInner struct {
	X    int
	Fill [4096]byte
}

type outer struct {
	*bigInner
	Y int
}

// TestDecodingChargesWhatFieldsReach: a field promoted through an
// embedded pointer makes the decoder allocate its target, and each small
// map a group of slots.
func TestDecodingChargesWhatFieldsReach(t *testing.T) {
	elems := 1 << 16
	body := binary.BigEndian.AppendUint32([]byte{0x9a}, uint32(elems))
	for range elems {
		body = append(body, 0xa1, 0x61, 'x', 0x00) // {"x": 0}
	}
	data := payloadOf(body)
	var err error
	a := allocated()
	_, err = DecodeResult[[]outer](data, false)
	if got := allocated() - a; got > bound(data) || !errors.Is(err, ErrInflates) {
		t.Errorf("embedded pointers: allocated %d MiB for %d KiB (err %v), want it refused first", got>>20, len(data)>>10, err)
	}
	body = binary.BigEndian.AppendUint32([]byte{0x9a}, uint32(elems))
	for range elems {
		body = append(body, 0xa1, 0x00, 0x19, 0x01, 0x00) // {0: 256}
	}
	data = payloadOf(body)
	a = allocated()
	_, err = DecodeResult[[]any](data, false)
	if got := allocated() - a; got > bound(data) || !errors.Is(err, ErrInflates) {
		t.Errorf("small maps in []any: allocated %d MiB for %d KiB (err %v), want it refused first", got>>20, len(data)>>10, err)
	}
}

// TestResultsThatWouldInflateAreNotStored: a result the decoder would
// refuse is refused when it is encoded, not stored to miss forever.
func TestResultsThatWouldInflateAreNotStored(t *testing.T) {
	many := make([]map[string]int, 1<<16)
	for i := range many {
		many[i] = map[string]int{}
	}
	if _, err := EncodeResult(many); !errors.Is(err, ErrInflates) {
		t.Errorf("65536 empty maps: err = %v, want ErrInflates", err)
	}
}
