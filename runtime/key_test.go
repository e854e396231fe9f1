package runtime

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cachegen/cachegen/internal/keying"
)

// The reference guide publishes these keys; they are the test vectors of
// the key scheme.
func TestKeySeedAvalancheTable(t *testing.T) {
	cases := []struct {
		snr, n, seed, version int
		want                  string
	}{
		{300, 100, 42, 1, "c66f1de772e87e1f"},
		{500, 100, 42, 1, "9285575b7463bb49"},
		{300, 500, 42, 1, "6fac88a9a7f15806"},
		{300, 100, 99, 1, "016ca99823aed73b"},
		{300, 100, 42, 2, "c8a86fc5d05a0dc8"},
	}
	for _, c := range cases {
		got, err := paramsKey(map[string]any{"snr": c.snr, "n_scenes": c.n, "seed": c.seed, "version": c.version})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("Key(snr=%d, n_scenes=%d, seed=%d, version=%d) = %s, want %s", c.snr, c.n, c.seed, c.version, got, c.want)
		}
	}
}

// The reference list_cache table shows keys of decorated calls, which add
// __fn__ and __version__ to the bound arguments.
func TestCallKeySeedListCache(t *testing.T) {
	cases := []struct {
		call Call
		want string
	}{
		{Call{Func: "run_monte_carlo", Version: 1, Params: map[string]any{"snr": 300, "n_scenes": 1000, "seed": 42}}, "75163166b943ab9c"},
		{Call{Func: "run_monte_carlo", Version: 1, Params: map[string]any{"snr": 500, "n_scenes": 1000, "seed": 42}}, "535049cbf0ad6e34"},
		{Call{Func: "run_snr_sweep", Version: 1, Params: map[string]any{"snr_list": []int{100, 200, 300, 500, 1000}, "n_scenes": 500, "seed": 42}}, "6bf98e1fe60a10c9"},
	}
	for _, c := range cases {
		got, err := c.call.Key()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s%v: key %s, want %s", c.call.Func, c.call.Params, got, c.want)
		}
	}
}

func TestCallKeyRejectsReservedNames(t *testing.T) {
	_, err := Call{Func: "f", Params: map[string]any{"__fn__": "g"}}.Key()
	if err == nil || !strings.Contains(err.Error(), `"__fn__" is reserved`) {
		t.Fatalf("err = %v, want a reserved-name error", err)
	}
}

func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := keying.Canonical(map[string]any{"x": v})
	if err != nil {
		t.Fatalf("keying.Canonical(%#v): %v", v, err)
	}
	s := string(b)
	return s[len(`{"x": `) : len(s)-1]
}

// pythonCases are values whose spelling must be what Python's
// json.dumps(v, sort_keys=True) gives for the Python value py.
// TestCanonicalMatchesPython runs Python on them when it is installed; the
// spellings below were produced by it.
var pythonCases = []struct {
	name string
	v    any
	py   string
	want string
}{
	{"int", 300, "300", "300"},
	{"negative int64", int64(-9223372036854775808), "-9223372036854775808", "-9223372036854775808"},
	{"max uint64", uint64(math.MaxUint64), "18446744073709551615", "18446744073709551615"},
	{"int8", int8(-7), "-7", "-7"},
	{"uint16", uint16(65535), "65535", "65535"},
	{"float integral", 300.0, "300.0", "300.0"},
	{"float small", 1e-05, "1e-05", "1e-05"},
	{"float 1e-4", 0.0001, "0.0001", "0.0001"},
	{"float 1e16", 1e16, "1e+16", "1e+16"},
	{"float 1e15", 1e15, "1e15", "1000000000000000.0"},
	{"float tenth", 0.1, "0.1", "0.1"},
	{"float third", 1.0 / 3, "1/3", "0.3333333333333333"},
	{"float big", 123456789012345678.0, "123456789012345678.0", "1.2345678901234568e+17"},
	{"float max", math.MaxFloat64, "1.7976931348623157e308", "1.7976931348623157e+308"},
	{"float denormal", 5e-324, "5e-324", "5e-324"},
	{"float negative", -2.5e-7, "-2.5e-7", "-2.5e-07"},
	{"float32 tenth", float32(0.1), "0.10000000149011612", "0.10000000149011612"},
	{"negative zero", math.Copysign(0, -1), "-0.0", "-0.0"},
	{"NaN", math.Float64frombits(0x7ff8000000000000), "float('nan')", "NaN"},
	{"Inf", math.Inf(1), "float('inf')", "Infinity"},
	{"-Inf", math.Inf(-1), "float('-inf')", "-Infinity"},
	{"true", true, "True", "true"},
	{"nil", nil, "None", "null"},
	{"ascii string", "snr", "'snr'", `"snr"`},
	{"escapes", "a\"b\\c\n\r\t\b\f", `'a"b\\c\n\r\t\b\f'`, `"a\"b\\c\n\r\t\b\f"`},
	{"controls", "\x00\x1f\x7f", `'\x00\x1f\x7f'`, `"\u0000\u001f\u007f"`},
	{"latin", "é", `'\u00e9'`, `"\u00e9"`},
	{"astral", "😀", `'\U0001F600'`, `"\ud83d\ude00"`},
	{"list", []int{100, 200}, "[100, 200]", "[100, 200]"},
	{"empty list", []string{}, "[]", "[]"},
	{"nested", map[string]any{"b": []any{1, 2.5, "x"}, "a": map[string]any{}}, "{'b': [1, 2.5, 'x'], 'a': {}}", `{"a": {}, "b": [1, 2.5, "x"]}`},
	{"int keys sort numerically", map[int]string{10: "a", 2: "b", -1: "c"}, "{10: 'a', 2: 'b', -1: 'c'}", `{"-1": "c", "2": "b", "10": "a"}`},
	{"unicode keys sort by code point", map[string]int{"é": 1, "z": 2, "😀": 3, "ａ": 4}, "{'é': 1, 'z': 2, '😀': 3, 'ａ': 4}", `{"z": 2, "\u00e9": 1, "\uff41": 4, "\ud83d\ude00": 3}`},
}

func TestCanonicalPythonSpelling(t *testing.T) {
	for _, c := range pythonCases {
		if got := canonical(t, c.v); got != c.want {
			t.Errorf("%s: Canonical spelling %s, want %s", c.name, got, c.want)
		}
	}
}

func TestCanonicalSortsParamsAndUsesPythonSeparators(t *testing.T) {
	got, err := keying.Canonical(map[string]any{"snr": 300, "n_scenes": 100, "seed": 42})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"n_scenes": 100, "seed": 42, "snr": 300}`; string(got) != want {
		t.Fatalf("Canonical = %s, want %s", got, want)
	}
}

type point struct {
	X, Y float64
	Tag  string
}

type celsius float64

func TestCanonicalGoValues(t *testing.T) {
	when := time.Date(2026, 3, 31, 7, 8, 26, 500, time.UTC)
	paris := time.FixedZone("CET", 3600)
	var zeroPtr *int
	seven := 7
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"struct by exported field names, sorted", point{X: 1, Y: 2, Tag: "a"}, `{"Tag": "a", "X": 1.0, "Y": 2.0}`},
		{"pointer is its target", &seven, "7"},
		{"nil pointer", zeroPtr, "null"},
		{"pointer to nil", &zeroPtr, `{"__type__": "**int", "__value__": null}`},
		{"time in UTC", when, `"2026-03-31T07:08:26.0000005Z"`},
		{"time in a zone: offset to the second, zone identity, name", when.In(paris), `"2026-03-31T08:08:26.0000005+01:00:00 ` + keying.ZoneID(paris) + ` CET"`},
		{"Go's NaN keeps its bits", math.NaN(), `{"__type__": "NaN", "bits": "7ff8000000000001"}`},
		{"a negative NaN keeps its sign", math.Float64frombits(0xfff8000000000000), `{"__type__": "NaN", "bits": "fff8000000000000"}`},
		{"float32 NaN payload", math.Float32frombits(0x7f800001), `{"__type__": "NaN", "bits": "7f800001"}`},
		{"canonical float32 NaN", math.Float32frombits(0x7fc00000), "NaN"},
		{"duration is nanoseconds", 2 * time.Second, "2000000000"},
		{"binary marshaler before text", netip.MustParseAddr("10.0.0.1"), `{"__type__": "net/netip.Addr", "len": 4, "sha256": "47b774c93d5c0301cf44937581d402c39bb7c58fd7470032df9750abc5d52f00"}`},
		{"pointer-receiver text marshaler", big.NewInt(12345), `"12345"`},
		{"named float", celsius(21.5), "21.5"},
		{"complex", complex(1, -2), `{"__type__": "complex128", "imag": -2.0, "real": 1.0}`},
		{"nil slice", []int(nil), "null"},
		{"nil map", map[string]int(nil), "null"},
		{"empty map", map[string]int{}, "{}"},
		{"array", [3]int{1, 2, 3}, "[1, 2, 3]"},
		{"uint keys", map[uint8]bool{3: true, 1: false}, `{"1": false, "3": true}`},
		{"interface holding a non-JSON type is tagged", []any{int64(1)}, `[{"__type__": "int64", "__value__": 1}]`},
		{"interface holding int is plain", []any{1}, `[1]`},
		{"invalid UTF-8", "a\xffb", `{"__hex__": "61ff62", "__type__": "string"}`},
		{"short byte slice is a digest", []byte("hi"), `{"__type__": "[]uint8", "len": 2, "sha256": "` + sha256hex([]byte("hi")) + `"}`},
	}
	for _, c := range cases {
		if got := canonical(t, c.v); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestCanonicalLongNumericSlicesAreDigests(t *testing.T) {
	xs := make([]float64, 65)
	for i := range xs {
		xs[i] = float64(i) / 3
	}
	le := make([]byte, 0, 8*len(xs))
	for _, x := range xs {
		le = binary.LittleEndian.AppendUint64(le, math.Float64bits(x))
	}
	want := `{"__type__": "[]float64", "len": 65, "sha256": "` + sha256hex(le) + `"}`
	if got := canonical(t, xs); got != want {
		t.Errorf("[]float64 of 65: got %s, want %s", got, want)
	}
	var arr [65]float64
	copy(arr[:], xs)
	if got := canonical(t, arr); got != want {
		t.Errorf("[65]float64 (not addressable): got %s, want %s", got, want)
	}
	if got := canonical(t, &arr); got != want {
		t.Errorf("*[65]float64 (addressable): got %s, want %s", got, want)
	}
	ints := make([]int32, 65)
	ints[64] = -1
	le = le[:0]
	for _, x := range ints {
		le = binary.LittleEndian.AppendUint32(le, uint32(x))
	}
	want = `{"__type__": "[]int32", "len": 65, "sha256": "` + sha256hex(le) + `"}`
	if got := canonical(t, ints); got != want {
		t.Errorf("[]int32 of 65: got %s, want %s", got, want)
	}
	short := canonical(t, xs[:64])
	if !strings.HasPrefix(short, "[0.0, 0.3333333333333333,") {
		t.Errorf("a 64-element slice should stay a JSON array, got %.40s…", short)
	}
}

// Two values that a function could tell apart must never share a key.
func TestKeySoundness(t *testing.T) {
	var nilPtr *[]int
	emptyPtr := &[]int{}
	long := make([]float64, 100)
	longer := make([]float64, 100)
	longer[99] = math.Copysign(0, -1)
	pairs := []struct {
		name string
		a, b any
	}{
		{"invalid UTF-8 vs U+FFFD", "\xff", "\ufffd"},
		{"nil vs empty slice", []int(nil), []int{}},
		{"nil vs empty map", map[string]int(nil), map[string]int{}},
		{"int vs int64 in an interface", []any{1}, []any{int64(1)}},
		{"int vs float64 in an interface", []any{1}, []any{1.0}},
		{"[]int vs []any in an interface", []any{[]int{1}}, []any{[]any{1}}},
		{"a nil slice vs a nil map in an interface", []any{[]any(nil)}, []any{map[string]any(nil)}},
		{"a nil slice in an interface vs nil", []any{[]any(nil)}, []any{nil}},
		{"a map that reads like a tag", []any{map[string]any{"__type__": "int64", "__value__": 1}}, []any{int64(1)}},
		{"0.0 vs -0.0 in a digest", long, longer},
		{"nil pointer vs pointer to nil", nilPtr, &nilPtr},
		{"pointer to empty vs pointer to nil", emptyPtr, &nilPtr},
		{"NaN vs null", math.NaN(), nil},
		{"64 zeros vs 65 zeros", make([]float64, 64), make([]float64, 65)},
		{"uint8 vs uint16 digests", make([]uint8, 100), make([]uint16, 50)},
	}
	for _, p := range pairs {
		ka, err := paramsKey(map[string]any{"x": p.a})
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		kb, err := paramsKey(map[string]any{"x": p.b})
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if ka == kb {
			t.Errorf("%s: both keyed %s (%s)", p.name, ka, canonical(t, p.a))
		}
	}
}

type withSecret struct {
	Rate   float64
	secret int
}

type cyclic struct{ Next *cyclic }

func TestCanonicalRefusesUnkeyableValues(t *testing.T) {
	loop := &cyclic{}
	loop.Next = loop
	m := map[string]any{}
	m["self"] = m
	cases := []struct {
		name, wantMsg string
		v             any
	}{
		{"func", "parameter x: type func() cannot be keyed", func() {}},
		{"chan", "parameter x: type chan int cannot be keyed", make(chan int)},
		{"unsafe.Pointer", "parameter x: type unsafe.Pointer cannot be keyed", unsafe.Pointer(nil)},
		{"unexported field", `parameter x: type runtime.withSecret has unexported field "secret"`, withSecret{}},
		{"pointer cycle", "parameter x: field Next: type *runtime.cyclic: the value refers to itself (a cycle)", loop},
		{"map cycle", "refers to itself (a cycle)", m},
		{"float map keys", "map keys of type float64 cannot be keyed", map[float64]int{1: 1}},
	}
	for _, c := range cases {
		_, err := paramsKey(map[string]any{"x": c.v})
		if !errors.Is(err, ErrUnkeyable) {
			t.Errorf("%s: err = %v, want ErrUnkeyable", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.wantMsg) {
			t.Errorf("%s: err = %q, want it to contain %q", c.name, err, c.wantMsg)
		}
	}
}

func TestCanonicalIsDeterministic(t *testing.T) {
	// The same maps, filled in other orders, spell alike: keys sorted by
	// code point, integer keys numerically.
	m1, m2 := map[string]int{}, map[string]int{}
	for _, k := range []string{"e", "a", "d", "b", "c"} {
		m1[k] = int(k[0] - 'a' + 1)
	}
	for _, k := range []string{"c", "b", "d", "a", "e"} {
		m2[k] = int(k[0] - 'a' + 1)
	}
	k1, k2 := map[int]int{}, map[int]int{}
	for _, k := range []int{10, 9, 3, 5} {
		k1[k] = k
	}
	for _, k := range []int{5, 3, 9, 10} {
		k2[k] = k
	}
	want := `{"k": {"3": 3, "5": 5, "9": 9, "10": 10}, "m": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}}`
	for i := range 50 {
		m, k := m1, k1
		if i%2 == 1 {
			m, k = m2, k2
		}
		got, err := keying.Canonical(map[string]any{"m": m, "k": k})
		if err != nil || string(got) != want {
			t.Fatalf("canonical text %s (%v), want %s", got, err, want)
		}
	}
}

// paramsKey is the key of params as the reference decorator computes it:
// the first 16 hex digits of the SHA-256 of their canonical text.
func paramsKey(params map[string]any) (string, error) {
	c, err := keying.Canonical(params)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:8]), nil
}
