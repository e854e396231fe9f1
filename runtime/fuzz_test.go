package runtime

import (
	"bytes"
	"context"
	"math"
	"os"
	"testing"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/remote"
)

// validEntry returns the bytes of a real entry file.
func validEntry(tb testing.TB) []byte {
	c, err := Open(tb.TempDir(), WithLogger(discardLogger()))
	if err != nil {
		tb.Fatal(err)
	}
	Do(context.Background(), c, mcCall(300), func(context.Context) (mcResult, error) {
		return mcResult{Precision: 0.5, Errors: []float64{1, math.NaN()}}, nil
	})
	key, _ := mcCall(300).Key()
	data, err := os.ReadFile(c.disk.Path(key))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// Scenario 9: hostile entry bytes never panic, and nothing but a whole,
// checked entry is ever served.
func FuzzDecodeEntry(f *testing.F) {
	good := validEntry(f)
	f.Add(good)
	f.Add(good[:entry.HeaderSize])
	f.Add([]byte("cachegen"))
	dir := f.TempDir()
	c, err := Open(dir, WithLogger(discardLogger()))
	if err != nil {
		f.Fatal(err)
	}
	key, _ := mcCall(300).Key()
	os.MkdirAll(dir+"/"+key[:2], 0o700)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The bounded readers: a head read, and a remote value read header
		// first, never read past the bytes there are, whatever the header
		// claims.
		r := &boundedReader{data: data}
		entry.ReadHead(r, int64(len(data)))
		if r.past > 0 {
			t.Fatalf("ReadHead asked for %d bytes past the %d-byte value: what it allocates follows the header, not the value", r.past, len(data))
		}
		s := newMemStore()
		s.set(key, data)
		remote.New(s, "fuzz", remote.Options{}).Get(context.Background(), key, []byte("a signing key of enough bytes"))
		// Through a cache: a call on these bytes returns the right value,
		// whatever they are.
		os.WriteFile(c.disk.Path(key), data, 0o600)
		got, err := Do(context.Background(), c, mcCall(300), func(context.Context) (mcResult, error) {
			return mcResult{Precision: 0.5, Errors: []float64{1, math.NaN()}}, nil
		})
		if err != nil || got.Precision != 0.5 || len(got.Errors) != 2 || got.Errors[0] != 1 {
			t.Fatalf("Do on fuzzed entry bytes returned (%+v, %v)", got, err)
		}
		h, mb, payload, err := entry.Parse(data, nil)
		if err != nil {
			return
		}
		if _, err := entry.DecodeMeta(mb); err != nil {
			return
		}
		if _, err := entry.DecodeResult[mcResult](payload, false); err != nil && bytes.Equal(data, good) {
			t.Fatalf("the good entry does not decode: %v (entry.Header %+v)", err, h)
		}
	})
}

// Scenario 9: the key encoder is deterministic on any input, and its
// output is ASCII, as Python's ensure_ascii makes it.
func FuzzCanonical(f *testing.F) {
	f.Add("snr", 300.0, int64(42), "é😀\xff", []byte{1, 2})
	f.Add("", math.Inf(-1), int64(math.MinInt64), "\x00\"\\", []byte(nil))
	f.Fuzz(func(t *testing.T, name string, x float64, n int64, s string, b []byte) {
		params := map[string]any{"name": name, "x": x, "n": n, "s": s, "b": b, "list": []any{s, x, n}, "m": map[string]any{s: x}}
		first, err := keying.Canonical(params)
		if err != nil {
			return // invalid UTF-8 in a map key is refused
		}
		again, _ := keying.Canonical(params)
		if !bytes.Equal(first, again) {
			t.Fatalf("Canonical is not deterministic:\n%s\n%s", first, again)
		}
		for _, c := range first {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("Canonical wrote byte %#x: %q", c, first)
			}
		}
	})
}

// boundedReader reads data, and counts how far past its end a reader
// asked for bytes.
type boundedReader struct {
	data []byte
	past int64
}

func (r *boundedReader) ReadAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(r.data)) {
		r.past = max(r.past, end-int64(len(r.data)))
	}
	return bytes.NewReader(r.data).ReadAt(p, off)
}
