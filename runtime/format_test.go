package runtime

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keying"
	"golang.org/x/tools/txtar"
)

var updateFormat = flag.Bool("update", false, "rewrite testdata/entry.txtar with the entries written now")

const goldenEntries = "testdata/entry.txtar"

// pinnedResult is the result the pinned entries hold.
var pinnedResult = mcResult{Precision: 0.5, Bias: -0.25, Errors: []float64{1, 2, 3}}

// pinnedEntries returns the entries, unsigned and signed, that the cache
// writes for fixed inputs.
func pinnedEntries(t *testing.T) map[string][]byte {
	t.Helper()
	call := mcCall(300)
	call.Code, call.TTL = "0123456789abcdef", time.Hour
	id, err := call.identity(keying.MemDigester)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := entry.EncodeResult(pinnedResult)
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
// inputs with those recorded in testdata/entry.txtar, and reads every
// recorded entry of the current format (the current ones, and those of
// earlier releases kept under compat-) as a load does, and encodes it
// again, byte for byte. A change of layout that does not bump
// entry.Format fails. If the change only adds what readers ignore (an
// optional metadata field), so that entries written before still read,
// record it with -update (go test ./runtime -run TestEntryFormatIsPinned
// -update), which keeps the earlier record under compat-, to be read
// still; otherwise bump entry.Format.
func TestEntryFormatIsPinned(t *testing.T) {
	got := pinnedEntries(t)
	ar, err := txtar.ParseFile(goldenEntries)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = strings.TrimSpace(string(f.Data))
	}
	if *updateFormat {
		updateGolden(t, ar, files, got)
		return
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
			t.Errorf("the %s entry's bytes changed while entry.Format stayed %d: bump it if entries written before could be misread; if they still read, record the change with -update", name, entry.Format)
		}
	}
	for _, f := range ar.Files {
		name, ok := strings.CutSuffix(f.Name, ".hex")
		if !ok {
			continue
		}
		kind := strings.TrimPrefix(name, "compat-")
		kind = kind[:strings.IndexByte(kind+"-", '-')]
		data, err := hex.DecodeString(strings.TrimSpace(string(f.Data)))
		if err != nil {
			t.Fatal(err)
		}
		checkRecorded(t, f.Name, data, signKey[kind])
	}
}

// checkRecorded reads a recorded entry as a load does, and encodes it
// again, byte for byte.
func checkRecorded(t *testing.T, name string, golden, signKey []byte) {
	t.Helper()
	h, mb, payload, err := entry.Parse(golden, nil)
	if err != nil {
		t.Fatalf("%s: the recorded entry does not parse: %v", name, err)
	}
	if signKey != nil {
		if err := entry.CheckMAC(signKey, h.Sum, h, golden); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	m, err := entry.DecodeMeta(mb)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	v, err := entry.DecodeResult[mcResult](payload, false)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if want := pinnedResult; !deepEqualBits(v, want) {
		t.Errorf("%s: result %+v, want %+v", name, v, want)
	}
	again, err := entry.EncodeResult(v)
	if err != nil {
		t.Fatal(err)
	}
	re := entry.Header{ComputedAt: h.ComputedAt, Duration: h.Duration, TypeSum: h.TypeSum, Sum: h.Sum, Code: h.Code}
	parts, err := entry.Encode(re, m, again, signKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.Join(parts, nil), golden) {
		t.Errorf("%s, decoded and encoded again, differs from the recorded bytes", name)
	}
}

// updateGolden records got as the current entries; if the format did not
// change, the records they replace are kept under compat-, to be read
// still.
func updateGolden(t *testing.T, ar *txtar.Archive, files map[string]string, got map[string][]byte) {
	t.Helper()
	out := &txtar.Archive{Comment: []byte("Entries the cache writes for fixed inputs, in hex: see TestEntryFormatIsPinned.\n"),
		Files: []txtar.File{{Name: "format", Data: []byte(strconv.Itoa(entry.Format) + "\n")}}}
	for _, name := range []string{"signed", "unsigned"} {
		out.Files = append(out.Files, txtar.File{Name: name + ".hex", Data: []byte(hex.EncodeToString(got[name]) + "\n")})
	}
	if files["format"] == strconv.Itoa(entry.Format) {
		n := 0
		for _, f := range ar.Files {
			if strings.HasPrefix(f.Name, "compat-") {
				out.Files = append(out.Files, f)
				n++
			}
		}
		for _, name := range []string{"signed", "unsigned"} {
			if old := files[name+".hex"]; old != "" && old != hex.EncodeToString(got[name]) {
				out.Files = append(out.Files, txtar.File{Name: fmt.Sprintf("compat-%s-%d.hex", name, n), Data: []byte(old + "\n")})
			}
		}
	}
	if err := os.WriteFile(goldenEntries, txtar.Format(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newEntry returns the parts of the entry a cache writes for a result,
// for tests that plant entries.
func newEntry(id identity, call Call, tsum [8]byte, blocks []entry.Block, start time.Time, took time.Duration, payload [][]byte, signKey []byte) ([][]byte, error) {
	h, m := entryOf(id, call, tsum, blocks, start, took)
	return entry.Encode(h, m, payload, signKey)
}
