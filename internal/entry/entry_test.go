package entry

import (
	"bytes"
	"errors"
	"testing"
)

// EncodeTo writes, byte for byte, the unsigned entry Encode returns, for
// payloads of one part and of several, smaller and larger than the chunk
// it checksums at a time; a failing writer's error comes back.
func TestEncodeToIsEncode(t *testing.T) {
	h := Header{ComputedAt: 1700000000, Duration: 42, Sum: [32]byte{1, 2, 3}}
	m := Meta{Func: "example.com/sim.Run", Version: 2, Params: []byte(`{"x": 1}`)}
	big := make([]byte, parallelCRC+5)
	for i := range big {
		big[i] = byte(i * 7)
	}
	for _, payload := range [][][]byte{{}, {[]byte("small")}, {big}, {big[:100], big, big[:parallelCRC-1]}, {big[:parallelCRC-1]}} {
		parts, err := Encode(h, m, payload, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Join(parts, nil)
		var got bytes.Buffer
		n, err := EncodeTo(&got, h, m, payload)
		if err != nil || n != int64(len(want)) || !bytes.Equal(got.Bytes(), want) {
			t.Errorf("EncodeTo wrote %d bytes (%v), differing from Encode's %d", n, err, len(want))
		}
		if _, _, _, err := Parse(got.Bytes(), nil); err != nil {
			t.Errorf("EncodeTo's entry does not parse: %v", err)
		}
	}
	if _, err := EncodeTo(failingWriter{}, h, m, [][]byte{big}); !errors.Is(err, errFull) {
		t.Errorf("EncodeTo on a failing writer: %v", err)
	}
}

var errFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }
