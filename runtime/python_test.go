package runtime

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/keying"
)

// pythonCheck reads JSON lines, each a Python value (as a literal, a float
// by its bits, a string by its UTF-8 bytes, or canonical text to parse)
// and the spelling Canonical gave it, and prints every line whose spelling
// differs from json.dumps(value, sort_keys=True).
const pythonCheck = `
import json, struct, sys
bad = 0
for line in sys.stdin:
    c = json.loads(line)
    k = c["kind"]
    if k == "literal":
        v = eval(c["py"])
    elif k == "float":
        v = struct.unpack("<d", bytes.fromhex(c["bits"]))[0]
    elif k == "string":
        v = bytes.fromhex(c.get("utf8", "")).decode("utf-8")
    else:
        v = json.loads(c["go"])
    got = json.dumps(v, sort_keys=True)
    if got != c["go"]:
        bad += 1
        print(json.dumps({"case": c, "python": got}))
print("checked", file=sys.stderr)
`

type pyCase struct {
	Kind string `json:"kind"`
	Py   string `json:"py,omitempty"`
	Bits string `json:"bits,omitempty"`
	UTF8 string `json:"utf8,omitempty"`
	Go   string `json:"go"`
}

// TestCanonicalMatchesPython is the differential test of the key scheme:
// it runs Python's json.dumps on the committed vectors, on random floats
// and strings, and on random nested values, and compares byte for byte.
func TestCanonicalMatchesPython(t *testing.T) {
	py := python(t) // without it, the committed vectors still run in TestCanonicalPythonSpelling
	var cases []pyCase
	for _, c := range pythonCases {
		cases = append(cases, pyCase{Kind: "literal", Py: c.py, Go: canonical(t, c.v)})
	}
	r := rand.New(rand.NewPCG(1, 2))
	specials := []float64{0, 1, -1, 0.5, 1e16, 1e15, 9.999999999999999e15, 1e-4, 9.99e-5, 1e-5, 1e21, 1e22, 1e23, 2.5e-324, math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.123456789}
	for range 3000 {
		specials = append(specials, math.Float64frombits(r.Uint64()))
		specials = append(specials, r.NormFloat64()*math.Pow(10, float64(r.IntN(40)-20)))
	}
	for _, f := range specials {
		if math.IsNaN(f) && math.Float64bits(f) != keying.CanonicalNaN {
			// Python spells every NaN alike; a key keeps the bits of all
			// but the canonical one (TestCanonicalGoValues).
			continue
		}
		var b [8]byte
		for i := range b {
			b[i] = byte(math.Float64bits(f) >> (8 * i))
		}
		cases = append(cases, pyCase{Kind: "float", Bits: hex.EncodeToString(b[:]), Go: canonical(t, f)})
	}
	for range 1000 {
		s := randomString(r)
		cases = append(cases, pyCase{Kind: "string", UTF8: hex.EncodeToString([]byte(s)), Go: canonical(t, s)})
	}
	for range 300 {
		cases = append(cases, pyCase{Kind: "parse", Go: canonical(t, randomNatural(r, 4))})
	}

	in, err := os.Create(filepath.Join(t.TempDir(), "cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(in)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	in.Seek(0, 0)
	cmd := exec.Command(py, "-c", pythonCheck)
	cmd.Stdin = in
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || !strings.Contains(stderr.String(), "checked") {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if n++; n <= 10 {
			t.Errorf("differs from Python: %s", sc.Text())
		}
	}
	if n > 10 {
		t.Errorf("… and %d more", n-10)
	}
	t.Logf("%d cases checked against %s", len(cases), py)
}

func randomString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(12) {
		switch r.IntN(4) {
		case 0:
			b.WriteRune(rune(r.IntN(0x80)))
		case 1:
			b.WriteRune(rune(0x80 + r.IntN(0x800-0x80)))
		case 2:
			c := rune(0x800 + r.IntN(0x10000-0x800))
			if 0xd800 <= c && c < 0xe000 {
				c = 0xfffd
			}
			b.WriteRune(c)
		default:
			b.WriteRune(rune(0x10000 + r.IntN(0x110000-0x10000)))
		}
	}
	return b.String()
}

// randomNatural returns a random value of the types a JSON decoder makes.
func randomNatural(r *rand.Rand, depth int) any {
	n := r.IntN(7)
	if depth == 0 {
		n = r.IntN(5)
	}
	switch n {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return int(r.Int64()) >> r.IntN(64)
	case 3:
		return math.Float64frombits(r.Uint64())
	case 4:
		return randomString(r)
	case 5:
		l := make([]any, r.IntN(5))
		for i := range l {
			l[i] = randomNatural(r, depth-1)
		}
		return l
	default:
		m := map[string]any{}
		for i := range r.IntN(5) {
			m[randomString(r)+strconv.Itoa(i)] = randomNatural(r, depth-1)
		}
		return m
	}
}

// pythonDigest reads a file of cases, each a line of JSON (the kind and
// length of a numeric slice and the key spelling Go gave it) followed by
// its little-endian bytes, and prints every case whose spelling differs
// from the one doc.go gives in Python's hashlib.
const pythonDigest = `
import json, sys
from hashlib import sha256
bad = 0
with open(sys.argv[1], "rb") as f:
    while True:
        line = f.readline()
        if not line:
            break
        c = json.loads(line)
        b = f.read(c["bytes"])
        if len(b) <= 2**20:
            want = {"__type__": "[]" + c["elem"], "len": c["len"], "sha256": sha256(b).hexdigest()}
        else:
            tree = sha256(b"".join(sha256(b[i:i + 2**20]).digest() for i in range(0, len(b), 2**20))).hexdigest()
            want = {"__type__": "[]" + c["elem"], "chunk": 2**20, "len": c["len"], "sha256tree": tree}
        if json.dumps(want, sort_keys=True) != c["go"]:
            print(json.dumps({"case": c, "python": json.dumps(want, sort_keys=True)}))
print("checked", file=sys.stderr)
`

// TestDigestsMatchPython checks the digests of numeric slices, flat and
// tree, on either side of the 1 MiB boundary, against doc.go's recipe run
// by Python's hashlib.
func TestDigestsMatchPython(t *testing.T) {
	py := python(t)
	r := rand.New(rand.NewPCG(3, 4))
	f, err := os.Create(filepath.Join(t.TempDir(), "digests"))
	if err != nil {
		t.Fatal(err)
	}
	add := func(v any, elem string, n int, raw []byte) {
		line, _ := json.Marshal(map[string]any{"elem": elem, "len": n, "bytes": len(raw), "go": canonical(t, v)})
		f.Write(append(line, '\n'))
		f.Write(raw)
	}
	for _, n := range []int{0, 1, 65, 1 << 17, 1<<17 + 1, 3<<17 + 5, 1 << 19} {
		xs := make([]float64, n)
		raw := make([]byte, 8*n)
		for i := range xs {
			xs[i] = r.NormFloat64()
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(xs[i]))
		}
		if n > 64 { // shorter ones are JSON arrays
			add(xs, "float64", n, raw)
		}
		bs := raw[:n]
		add(bs, "uint8", n, bs)
		is := make([]int32, n/4)
		for i := range is {
			is[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		if len(is) > 64 {
			add(is, "int32", len(is), raw[:4*len(is)])
		}
	}
	f.Close()
	cmd := exec.Command(py, "-c", pythonDigest, f.Name())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || !strings.Contains(stderr.String(), "checked") {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	if len(out) > 0 {
		t.Errorf("differs from Python:\n%.3000s", out)
	}
	if !strings.Contains(canonical(t, make([]float64, 1<<17+1)), `"sha256tree"`) || strings.Contains(canonical(t, make([]float64, 1<<17)), "tree") {
		t.Error("the tree does not start just over 1 MiB")
	}
}

// python returns the path of python3, and skips the test without one,
// unless under CI, where it must run.
func python(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 is not installed, and CI must run the differential tests against Python")
		}
		t.Skip("python3 is not installed: skipping the differential test against Python")
	}
	return py
}
