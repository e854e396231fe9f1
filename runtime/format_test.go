package runtime

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
	"golang.org/x/tools/txtar"
)

var updateFormat = flag.Bool("update", false, "rewrite testdata/entry.txtar with the entries written now")

const goldenEntries = "testdata/entry.txtar"

// pinnedEntries returns the entries, unsigned and signed, that the cache
// writes for fixed inputs.
func pinnedEntries(t *testing.T) map[string][]byte {
	t.Helper()
	call := mcCall(300)
	call.Code, call.TTL = "0123456789abcdef", time.Hour
	id, err := call.identity(memDigester)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := entry.EncodeResult(mcResult{Precision: 0.5, Bias: -0.25, Errors: []float64{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for name, key := range map[string][]byte{"unsigned": nil, "signed": []byte("a signing key of enough bytes")} {
		parts, err := newEntry(id, call, entry.TypeSum(reflect.TypeFor[mcResult]()), entry.BlocksOf(reflect.TypeFor[mcResult]()), time.Unix(1700000000, 0), 1500*time.Millisecond, payload, key)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = bytes.Join(parts, nil)
	}
	return out
}

// TestEntryFormatIsPinned compares the entries the cache writes for fixed
// inputs with those recorded in testdata/entry.txtar, and decodes each
// recorded entry and encodes it again, byte for byte: a change of layout
// that does not bump entry.Format fails, and one that does asks for the
// record to be rewritten (go test ./runtime -run TestEntryFormatIsPinned
// -update).
func TestEntryFormatIsPinned(t *testing.T) {
	got := pinnedEntries(t)
	if *updateFormat {
		ar := &txtar.Archive{Comment: []byte("Entries the cache writes for fixed inputs, in hex: see TestEntryFormatIsPinned.\n"),
			Files: []txtar.File{{Name: "format", Data: []byte(strconv.Itoa(entry.Format) + "\n")}}}
		for _, name := range []string{"signed", "unsigned"} {
			ar.Files = append(ar.Files, txtar.File{Name: name + ".hex", Data: []byte(hex.EncodeToString(got[name]) + "\n")})
		}
		if err := os.WriteFile(goldenEntries, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	ar, err := txtar.ParseFile(goldenEntries)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = strings.TrimSpace(string(f.Data))
	}
	if files["format"] != strconv.Itoa(entry.Format) {
		t.Fatalf("entry.Format is %d and the recorded entries are of format %s: record the new format with -update", entry.Format, files["format"])
	}
	signKey := map[string][]byte{"unsigned": nil, "signed": []byte("a signing key of enough bytes")}
	for _, name := range []string{"unsigned", "signed"} {
		golden, err := hex.DecodeString(files[name+".hex"])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[name], golden) {
			t.Errorf("the %s entry's bytes changed while entry.Format stayed %d: bump it, so that old entries are not misread", name, entry.Format)
		}
		h, mb, payload, err := entry.Parse(golden, nil)
		if err != nil {
			t.Fatalf("%s: the recorded entry does not parse: %v", name, err)
		}
		m, err := entry.DecodeMeta(mb)
		if err != nil {
			t.Fatal(err)
		}
		v, err := entry.DecodeResult[mcResult](payload, false)
		if err != nil {
			t.Fatal(err)
		}
		again, err := entry.EncodeResult(v)
		if err != nil {
			t.Fatal(err)
		}
		re := entry.Header{ComputedAt: h.ComputedAt, Duration: h.Duration, TypeSum: h.TypeSum, Sum: h.Sum, Code: h.Code}
		parts, err := entry.Encode(re, m, again, signKey[name])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.Join(parts, nil), golden) {
			t.Errorf("the %s entry, decoded and encoded again, differs from the recorded bytes", name)
		}
	}
}
