package keying

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, on a machine without a zone database
	"unsafe"
)

// spelled returns the canonical spelling of v as the only parameter x.
func spelled(t *testing.T, v any) string {
	t.Helper()
	b, err := Canonical(map[string]any{"x": v})
	if err != nil {
		t.Fatalf("Canonical(%#v): %v", v, err)
	}
	s := string(b)
	return s[len(`{"x": `) : len(s)-1]
}

// spellErr returns the error of keying v as the only parameter x.
func spellErr(v any) error {
	_, err := Canonical(map[string]any{"x": v})
	return err
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type point struct {
	X, Y float64
	Tag  string
}

type celsius float64

// The spellings of values JSON has are Python's json.dumps(v,
// sort_keys=True); the rest follow docs/keyspec.md.
func TestSpellings(t *testing.T) {
	when := time.Date(2026, 3, 31, 7, 8, 26, 500, time.UTC)
	cet := time.FixedZone("CET", 3600)
	var nilPtr *int
	seven := 7
	cases := []struct {
		name string
		v    any
		want string
	}{
		// As Python spells them.
		{"int", 300, "300"},
		{"min int64", int64(math.MinInt64), "-9223372036854775808"},
		{"max uint64", uint64(math.MaxUint64), "18446744073709551615"},
		{"int8", int8(-7), "-7"},
		{"uintptr", uintptr(9), "9"},
		{"float integral", 300.0, "300.0"},
		{"float small", 1e-05, "1e-05"},
		{"float 1e-4", 0.0001, "0.0001"},
		{"float 1e16", 1e16, "1e+16"},
		{"float 1e15", 1e15, "1000000000000000.0"},
		{"float third", 1.0 / 3, "0.3333333333333333"},
		{"float big", 123456789012345678.0, "1.2345678901234568e+17"},
		{"float max", math.MaxFloat64, "1.7976931348623157e+308"},
		{"float denormal", 5e-324, "5e-324"},
		{"float negative small", -2.5e-7, "-2.5e-07"},
		{"float 12.5", 12.5, "12.5"},
		{"float32 tenth", float32(0.1), "0.10000000149011612"},
		{"negative zero", math.Copysign(0, -1), "-0.0"},
		{"canonical NaN", math.Float64frombits(CanonicalNaN), "NaN"},
		{"Inf", math.Inf(1), "Infinity"},
		{"-Inf", math.Inf(-1), "-Infinity"},
		{"float32 Inf", float32(math.Inf(1)), "Infinity"},
		{"float32 -Inf", float32(math.Inf(-1)), "-Infinity"},
		{"true", true, "true"},
		{"nil", nil, "null"},
		{"string", "snr", `"snr"`},
		{"escapes", "a\"b\\c\n\r\t\b\f", `"a\"b\\c\n\r\t\b\f"`},
		{"controls", "\x00\x1f\x7f", `"\u0000\u001f\u007f"`},
		{"latin", "é", `"\u00e9"`},
		{"astral", "😀", `"\ud83d\ude00"`},
		{"list", []int{100, 200}, "[100, 200]"},
		{"empty list", []string{}, "[]"},
		{"nested", map[string]any{"b": []any{1, 2.5, "x"}, "a": map[string]any{}}, `{"a": {}, "b": [1, 2.5, "x"]}`},

		// Go values, by the specification's rules.
		{"struct: exported fields by name", point{X: 1, Y: 2, Tag: "a"}, `{"Tag": "a", "X": 1.0, "Y": 2.0}`},
		{"blank fields hold nothing", struct{ _, A int }{A: 1}, `{"A": 1}`},
		{"pointer is its target", &seven, "7"},
		{"nil pointer", nilPtr, "null"},
		{"pointer to nil", &nilPtr, `{"__type__": "**int", "__value__": null}`},
		{"time in UTC", when, `"2026-03-31T07:08:26.0000005Z"`},
		{"time in a zone", when.In(cet), `"2026-03-31T08:08:26.0000005+01:00:00 ` + ZoneID(cet) + ` CET"`},
		{"Go's NaN keeps its bits", math.NaN(), `{"__type__": "NaN", "bits": "7ff8000000000001"}`},
		{"negative NaN keeps its sign", math.Float64frombits(0xfff8000000000000), `{"__type__": "NaN", "bits": "fff8000000000000"}`},
		{"float32 NaN payload", math.Float32frombits(0x7f800001), `{"__type__": "NaN", "bits": "7f800001"}`},
		{"canonical float32 NaN", math.Float32frombits(0x7fc00000), "NaN"},
		{"duration is nanoseconds", 2 * time.Second, "2000000000"},
		{"named float", celsius(21.5), "21.5"},
		{"complex128", complex(1, -2), `{"__type__": "complex128", "imag": -2.0, "real": 1.0}`},
		{"complex64", complex64(complex(0.5, 1)), `{"__type__": "complex64", "imag": 1.0, "real": 0.5}`},
		{"complex64 keeps a NaN's bits", complex(math.Float32frombits(0x7f800001), 0), `{"__type__": "complex64", "imag": 0.0, "real": {"__type__": "NaN", "bits": "7f800001"}}`},
		{"nil slice", []int(nil), "null"},
		{"nil map", map[string]int(nil), "null"},
		{"empty map", map[string]int{}, "{}"},
		{"array", [3]int{1, 2, 3}, "[1, 2, 3]"},
		{"int keys sort numerically", map[int]string{10: "a", 2: "b", -1: "c"}, `{"-1": "c", "2": "b", "10": "a"}`},
		{"uint keys sort numerically", map[uint16]bool{300: true, 3: false, 20: true}, `{"3": false, "20": true, "300": true}`},
		{"string keys sort by code point", map[string]int{"é": 1, "z": 2, "😀": 3, "ａ": 4}, `{"z": 2, "\u00e9": 1, "\uff41": 4, "\ud83d\ude00": 3}`},
		{"text marshaler keys by their text", map[netip.Addr]int{netip.MustParseAddr("10.0.0.2"): 2, netip.MustParseAddr("10.0.0.10"): 10}, `{"10.0.0.10": 10, "10.0.0.2": 2}`},
		{"a map with a reserved key is tagged", map[string]int{"__x": 1}, `{"__type__": "map[string]int", "__value__": {"__x": 1}}`},
		{"interface holding int is plain", []any{1, 2.5, "s", true}, `[1, 2.5, "s", true]`},
		{"interface holding a non-JSON type is tagged", []any{int64(1)}, `[{"__type__": "int64", "__value__": 1}]`},
		{"interface holding a nil slice is tagged", []any{[]any(nil)}, `[{"__type__": "[]interface {}", "__value__": null}]`},
		{"interface holding a Go NaN is tagged", []any{math.NaN()}, `[{"__type__": "float64", "__value__": {"__type__": "NaN", "bits": "7ff8000000000001"}}]`},
		{"interface holding canonical NaN is plain", []any{math.Float64frombits(CanonicalNaN)}, `[NaN]`},
		{"interface holding a map with a reserved key", []any{map[string]any{"__type__": 1}}, `[{"__type__": "map[string]interface {}", "__value__": {"__type__": "map[string]interface {}", "__value__": {"__type__": 1}}}]`},
		{"interface holding invalid UTF-8", []any{"\xff"}, `[{"__type__": "string", "__value__": {"__hex__": "ff", "__type__": "string"}}]`},
		{"names of unnamed types", []any{&seven, []int{1}, [2]int8{}, map[string]int{}}, `[{"__type__": "*int", "__value__": 7}, {"__type__": "[]int", "__value__": [1]}, {"__type__": "[2]int8", "__value__": [0, 0]}, {"__type__": "map[string]int", "__value__": {}}]`},
		{"unnamed structs name their fields and tags", []any{struct {
			D int `k:"v"`
			time.Duration
		}{}}, `[{"__type__": "struct { D int \"k:\\\"v\\\"\"; time.Duration }", "__value__": {"D": 0, "Duration": 0}}]`},
		{"invalid UTF-8", "a\xffb", `{"__hex__": "61ff62", "__type__": "string"}`},
		{"short byte slice is a digest", []byte("hi"), `{"__type__": "[]uint8", "len": 2, "sha256": "` + hexSHA256([]byte("hi")) + `"}`},
		{"binary marshaler first", netip.MustParseAddr("10.0.0.1"), `{"__type__": "net/netip.Addr", "len": 4, "sha256": "` + hexSHA256([]byte{10, 0, 0, 1}) + `"}`},
		{"pointer-receiver text marshaler", big.NewInt(12345), `"12345"`},
		{"big.Float keeps precision, mode and accuracy", big.NewFloat(1.5), `"0x.cp+1 prec=53 mode=ToNearestEven acc=Exact"`},
		{"net.IP is its bytes", net.IP{10, 0, 0, 1}, `{"__type__": "[]uint8", "len": 4, "sha256": "` + hexSHA256([]byte{10, 0, 0, 1}) + `"}`},
		{"nil net.IP", net.IP(nil), "null"},
		{"url.URL by its fields", &url.URL{Scheme: "s", User: url.UserPassword("u", "p")}, `{"ForceQuery": false, "Fragment": "", "Host": "", "OmitHost": false, "Opaque": "", "Path": "", "RawFragment": "", "RawPath": "", "RawQuery": "", "Scheme": "s", "User": {"password": "p", "set": true, "username": "u"}}`},
		{"a type's own key", KeyBy(point{X: 1}, func(p point) float64 { return p.X }), "1.0"},
		{"a type parameter of interface type keeps the dynamic type", Typed[any](int64(1)), `{"__type__": "int64", "__value__": 1}`},
		{"a type parameter of concrete type", Typed[int](1), "1"},
		{"a type argument", TypeArg[map[string]point](), `"map[string]github.com/cachegen/cachegen/internal/keying.point"`},
	}
	for _, c := range cases {
		if got := spelled(t, c.v); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	if got, want := TypeName[[]*point](), "[]*github.com/cachegen/cachegen/internal/keying.point"; got != want {
		t.Errorf("TypeName = %s, want %s", got, want)
	}
}

func TestParamsAreSortedWithPythonSeparators(t *testing.T) {
	sp, err := Spell(map[string]any{"snr": 300, "n_scenes": []int{1, 2}, "seed": "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"n_scenes": [1, 2], "seed": "s", "snr": 300}`; string(sp.Text) != want {
		t.Fatalf("Spell = %s, want %s", sp.Text, want)
	}
	for name, want := range map[string]string{"n_scenes": "[1, 2]", "seed": `"s"`, "snr": "300"} {
		s := sp.Spans[name]
		if got := string(sp.Text[s.Start:s.End]); got != want {
			t.Errorf("span of %s holds %q, want %q", name, got, want)
		}
	}
	if len(sp.Inputs) != 0 || len(sp.Seen) != 0 {
		t.Errorf("params without files read files: %+v %+v", sp.Inputs, sp.Seen)
	}
	// The reference guide's test vector.
	b, _ := Canonical(map[string]any{"snr": 300, "n_scenes": 100, "seed": 42, "version": 1})
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:8]) != "c66f1de772e87e1f" {
		t.Errorf("the published key: %s spells %s", hex.EncodeToString(sum[:8]), b)
	}
}

// Maps filled in any order spell alike: keys sorted by code point,
// integer keys numerically.
func TestMapKeyOrderIsCanonical(t *testing.T) {
	want := `{"k": {"-3": -3, "5": 5, "9": 9, "10": 10}, "m": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}}`
	orders := [][]string{{"e", "a", "d", "b", "c"}, {"c", "b", "d", "a", "e"}}
	for i := range 20 {
		m := map[string]int{}
		for _, k := range orders[i%2] {
			m[k] = int(k[0] - 'a' + 1)
		}
		k := map[int64]int{}
		for _, n := range []int{10, 9, -3, 5} {
			k[int64(n)] = n
		}
		got, err := Canonical(map[string]any{"m": m, "k": k})
		if err != nil || string(got) != want {
			t.Fatalf("canonical text %s (%v), want %s", got, err, want)
		}
	}
}

// Two values that a function could tell apart never spell alike.
func TestSoundness(t *testing.T) {
	var nilPtr *[]int
	emptyPtr := &[]int{}
	long := make([]float64, 100)
	longer := make([]float64, 100)
	longer[99] = math.Copysign(0, -1)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	winter := time.Date(2026, 1, 15, 12, 0, 0, 0, paris)
	t1 := time.Date(1900, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 3600+30))
	t2 := t1.Add(30 * time.Second).In(time.FixedZone("LMT", 3600))
	third := new(big.Float).SetPrec(8).Quo(big.NewFloat(1), big.NewFloat(3))
	type node struct{ L, R *node }
	leaf := &node{}
	s, q := math.Float32frombits(0x7f800001), math.Float32frombits(0x7fc00001)
	var a, b [65]float32
	a[0], b[0] = s, q
	arr := []float64{1, 2, 3, 4}
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
		{"a nil slice in an interface vs nil", []any{[]any(nil)}, []any{nil}},
		{"a map that reads like a tag", []any{map[string]any{"__type__": "int64", "__value__": 1}}, []any{int64(1)}},
		{"a static map with a tag's keys", map[string]int{"__type__": 1}, map[string]int{"__type__": 1, "x": 0}},
		{"0.0 vs -0.0 in a digest", long, longer},
		{"nil pointer vs pointer to nil", nilPtr, &nilPtr},
		{"pointer to empty vs pointer to nil", emptyPtr, &nilPtr},
		{"NaN vs null", math.NaN(), nil},
		{"NaN vs canonical NaN", math.NaN(), math.Float64frombits(CanonicalNaN)},
		{"Inf vs NaN", math.Inf(1), math.Float64frombits(CanonicalNaN)},
		{"64 zeros vs 65 zeros", make([]float64, 64), make([]float64, 65)},
		{"uint8 vs uint16 digests", make([]uint8, 100), make([]uint16, 50)},
		{"float32 NaNs by their bits, in an array of 65", a, b},
		{"float32 NaNs in complex64", complex64(complex(s, 0)), complex64(complex(q, 0))},
		{"a fixed zone named like a real one", winter, winter.In(time.FixedZone("Europe/Paris", 3600))},
		{"offsets apart by seconds", t1, t2},
		{"UTC vs a zone at the same instant", winter.UTC(), winter},
		{"big.Float precision", big.NewFloat(1.5), new(big.Float).SetPrec(10).SetFloat64(1.5)},
		{"big.Float mode", big.NewFloat(1.5), new(big.Float).SetMode(big.ToZero).SetFloat64(1.5)},
		{"big.Float accuracy", third, new(big.Float).SetPrec(8).Set(third)},
		{"net.IP 4- and 16-byte forms", net.IP{10, 0, 0, 1}, net.IPv4(10, 0, 0, 1)},
		{"url.URL with a RawPath", &url.URL{Path: "/a b"}, &url.URL{Path: "/a b", RawPath: "/a%20b"}},
		{"url.URL password set or not", &url.URL{User: url.User("u")}, &url.URL{User: url.UserPassword("u", "")}},
		{"a shared node vs two equal nodes", &node{leaf, leaf}, &node{&node{}, &node{}}},
		{"views of one array at other offsets", arr[0:2], arr[1:3]},
		{"nil vs a nil pointer as an any type argument", Typed[any](nil), Typed[any]((*int)(nil))},
		{"type arguments int vs int64", TypeArg[int](), TypeArg[int64]()},
	}
	for _, p := range pairs {
		if sa, sb := spelled(t, p.a), spelled(t, p.b); sa == sb {
			t.Errorf("%s: both spell %s", p.name, sa)
		}
	}
	now := time.Now()
	again, _ := time.LoadLocation("Europe/Paris")
	alike := []struct {
		name string
		a, b any
	}{
		{"one location loaded twice", winter, winter.In(again)},
		{"the monotonic reading does not count", now, now.Round(0)},
		{"a view and a copy of what it shows", arr[1:3], []float64{2, 3}},
		{"spare capacity does not count", arr[:2], arr[:2:2]},
		{"a numeric row reached three times, and three copies", [][]float64{long, long, long}, [][]float64{slices.Clone(long), slices.Clone(long), slices.Clone(long)}},
	}
	for _, p := range alike {
		if sa, sb := spelled(t, p.a), spelled(t, p.b); sa != sb {
			t.Errorf("%s: spelled\n%s\n%s", p.name, sa, sb)
		}
	}
}

// A value reached again within a parameter is spelled as a back
// reference when it can hold references, and as a copy otherwise; a
// value that reaches itself is an error. Sharing keeps the cost of a
// value its size, not the size of the tree it unfolds to.
func TestSharedReferences(t *testing.T) {
	type node struct{ Next *node }
	type pair struct{ A, B *node }
	shared := &node{}
	if got, want := spelled(t, pair{shared, shared}), `{"A": {"Next": null}, "B": {"__ref__": 0}}`; got != want {
		t.Errorf("a node reached twice: %s, want %s", got, want)
	}
	type leaf struct{ V int }
	type leaves struct{ A, B *leaf }
	l := &leaf{1}
	if got, want := spelled(t, leaves{l, l}), `{"A": {"V": 1}, "B": {"V": 1}}`; got != want {
		t.Errorf("a leaf reached twice: %s, want %s", got, want)
	}
	// Back references count per parameter: each starts at 0.
	b, err := Canonical(map[string]any{"a": pair{shared, shared}, "b": pair{shared, shared}})
	if err != nil || strings.Count(string(b), `{"__ref__": 0}`) != 2 {
		t.Errorf("two parameters sharing a node: %s, %v", b, err)
	}

	type dag struct{ L, R *dag }
	n := &dag{}
	s := []any{"leaf"}
	m := map[string]any{"leaf": 1}
	for range 60 {
		n = &dag{n, n}
		s = []any{s, s}
		m = map[string]any{"a": m, "b": m}
	}
	for name, v := range map[string]any{"pointers": n, "slices": s, "maps": m} {
		b, err := Canonical(map[string]any{"x": v})
		if err != nil || len(b) > 10_000 {
			t.Errorf("%s 2^60 paths wide: %d bytes, %v", name, len(b), err)
		}
	}
}

type cyclic struct{ Next *cyclic }

type withSecret struct {
	Rate   float64
	secret int
}

// textKey has a MarshalText that spells distinct keys alike.
type textKey struct{ N int }

func (k textKey) MarshalText() ([]byte, error) { return []byte{'k', byte('0' + k.N%2)}, nil }

// failing marshals with an error.
type failing struct{ n int }

func (failing) MarshalBinary() ([]byte, error) { return nil, errors.New("no bytes today") }

// panicky's MarshalText dereferences a nil pointer.
type panicky struct{ P *int }

func (p panicky) MarshalText() ([]byte, error) { return []byte{byte(*p.P)}, nil }

// badText marshals to text that is not UTF-8, as a map key.
type badText struct{ n int }

func (badText) MarshalText() ([]byte, error) { return []byte{0xff}, nil }

// deep is a slice of itself: each level is one more level of nesting.
type deep []deep

func nested(n int) deep {
	d := deep{}
	for range n {
		d = deep{d}
	}
	return d
}

// What cannot be keyed soundly is an error wrapping ErrUnkeyable that
// names the parameter and what is wrong; never a guess, never a panic.
func TestRefusals(t *testing.T) {
	loop := &cyclic{}
	loop.Next = loop
	m := map[string]any{}
	m["self"] = m
	s := []any{nil}
	s[0] = s
	cases := []struct {
		name, want string
		v          any
	}{
		{"func", "parameter x: type func() cannot be keyed", func() {}},
		{"chan", "parameter x: type chan int cannot be keyed", make(chan int)},
		{"unsafe.Pointer", "parameter x: type unsafe.Pointer cannot be keyed", unsafe.Pointer(nil)},
		{"func in a struct", "field F: type func() cannot be keyed", struct{ F func() }{}},
		{"chan in a slice", "index 0: type chan int cannot be keyed", []chan int{nil, nil}},
		{"unexported field", `parameter x: type keying.withSecret has unexported field "secret"`, withSecret{}},
		{"unexported field, deep", `field In: type keying.withSecret has unexported field "secret"`, struct{ In withSecret }{}},
		{"pointer cycle", "parameter x: field Next: type *keying.cyclic: the value refers to itself (a cycle)", loop},
		{"map cycle", `map key "self": type map[string]interface {}: the value refers to itself (a cycle)`, m},
		{"slice cycle", "the value refers to itself (a cycle)", s},
		{"float map keys", "map keys of type float64 cannot be keyed", map[float64]int{1: 1}},
		{"bool map keys", "map keys of type bool cannot be keyed", map[bool]int{}},
		{"struct map keys", "map keys of type keying.point cannot be keyed", map[point]int{}},
		{"pointer map keys", "compare by address", map[*int]int{new(int): 1}},
		{"time map keys", "time.Time map keys compare by location", map[time.Time]int{}},
		{"map keys that spell alike", `two keys spell alike as "k1"`, map[textKey]int{{1}: 1, {3}: 2}},
		{"map key not UTF-8", `map key "\xff" is not valid UTF-8`, map[string]int{"\xff": 1}},
		{"map key text not UTF-8", "is not valid UTF-8", map[badText]int{{}: 1}},
		{"regexp", "type regexp.Regexp cannot be keyed: a *regexp.Regexp's text drops whether it is POSIX", regexp.MustCompile("a")},
		{"a marshaler that fails", "MarshalBinary: no bytes today", failing{}},
		{"a marshaler that panics", "MarshalText panicked", panicky{}},
		{"a marshaler map key that panics", "MarshalText panicked", map[panicky]int{{}: 1}},
		{"a declared key that panics", "its declared key panicked: no", KeyBy(0, func(int) int { panic("no") })},
		{"nesting past 512", "is nested more than 512 deep", nested(512)},
		{"more than an entry holds", "spell to more than 16 MiB", strings.Repeat("x", maxCanonical)},
		{"control characters spell six times as long", "spell to more than 16 MiB", strings.Repeat("\x01", maxCanonical/6+1)},
		{"invalid UTF-8 past 16 MiB in hex", "spell to more than 16 MiB", strings.Repeat("\xff", maxCanonical/2)},
		{"long map keys", "spell to more than 16 MiB", map[string]int{strings.Repeat("k", maxCanonical): 1}},
	}
	for _, c := range cases {
		err := spellErr(c.v)
		if !errors.Is(err, ErrUnkeyable) {
			t.Errorf("%s: err = %v, want ErrUnkeyable", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %q, want it to say %q", c.name, err, c.want)
		}
	}
	// Just under the bounds, the same shapes are keyed.
	for name, v := range map[string]any{
		"nesting of 512":   nested(511),
		"a blank field":    struct{ _ func() }{},
		"a long byte list": make([]byte, maxCanonical), // a digest
	} {
		if err := spellErr(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A parameter name that is not UTF-8 cannot be spelled.
	if _, err := Canonical(map[string]any{"\xff": 1}); !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("a parameter name not UTF-8: %v", err)
	}
}

// The bound on the spelling holds as values are spelled, whatever they
// unfold to: a billion empty structs or a short string repeated stop at
// 16 MiB, not when they are done. Each is spelled after a spelling that
// leaves it 64 bytes, so that reaching the bound costs little.
func TestTheBoundHoldsAsValuesAreSpelled(t *testing.T) {
	type empty struct{}
	cases := map[string]any{
		"a billion empty structs": make([]empty, 1<<30),
		"a short string repeated": slices.Repeat([]string{"0123456789"}, 100),
		"many map keys":           map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true},
		"a declared key":          KeyBy(1, func(int) string { return strings.Repeat("k", 100) }),
		"invalid UTF-8":           strings.Repeat("\xff", 40),
		"a string of controls":    strings.Repeat("\x01", 12),
	}
	full := make([]byte, maxCanonical-64, maxCanonical+1024)
	for name, v := range cases {
		if name != "a billion empty structs" {
			e := keyEncoder{}
			if err := e.param(v); err != nil || len(e.buf) <= 64 {
				t.Fatalf("%s alone: %d bytes, %v: want it keyed, in more than 64 bytes", name, len(e.buf), err)
			}
		}
		e := keyEncoder{buf: full[:maxCanonical-64]}
		if err := e.param(v); !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "spell to more than 16 MiB") {
			t.Errorf("%s past the bound: %v", name, err)
		}
		// A small value may pass the bound by its own few bytes, no more.
		if len(e.buf) > maxCanonical+16 {
			t.Errorf("%s: spelled %d bytes, past the bound of %d", name, len(e.buf), maxCanonical)
		}
	}
}

// Two distinct types of one name (declared in two functions) are an
// error, not one spelling.
func TestTypesOfOneNameAreAnError(t *testing.T) {
	a := func() any {
		type local struct{ X int }
		return local{1}
	}()
	b := func() any {
		type local struct{ X int }
		return local{1}
	}()
	if err := spellErr([]any{a}); err != nil {
		t.Fatal(err)
	}
	if err := spellErr([]any{a}); err != nil {
		t.Fatalf("the same type again: %v", err)
	}
	err := spellErr([]any{b})
	if !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "two distinct types are both named") {
		t.Fatalf("err = %v, want an error naming the clash", err)
	}
	c := func() any {
		type other int
		return other(1)
	}
	d := func() any {
		type other int
		return other(1)
	}
	if spellErr([]any{c()}) != nil || !errors.Is(spellErr([]any{d()}), ErrUnkeyable) {
		t.Error("a named int declared in two functions keyed without an error")
	}
}

// Numeric slices and arrays longer than 64 elements, and every []byte,
// are spelled as the SHA-256 of their little-endian bytes (int and uint
// as 64 bits); over 1 MiB, as a SHA-256 tree of 1 MiB chunks.
func TestLargeNumericSlicesAreDigests(t *testing.T) {
	xs := make([]float64, 65)
	for i := range xs {
		xs[i] = float64(i) / 3
	}
	le := make([]byte, 0, 8*len(xs))
	for _, x := range xs {
		le = binary.LittleEndian.AppendUint64(le, math.Float64bits(x))
	}
	want := `{"__type__": "[]float64", "len": 65, "sha256": "` + hexSHA256(le) + `"}`
	var arr [65]float64
	copy(arr[:], xs)
	for name, v := range map[string]any{"slice": xs, "array": arr, "addressable array": &arr} {
		if got := spelled(t, v); got != want {
			t.Errorf("%s of 65 float64: %s, want %s", name, got, want)
		}
	}
	if got := spelled(t, xs[:64]); !strings.HasPrefix(got, "[0.0, 0.3333333333333333,") {
		t.Errorf("64 elements stay a JSON array: %.40s…", got)
	}

	ints := make([]int, 65)
	ints[64] = -1
	le = le[:0]
	for _, x := range ints {
		le = binary.LittleEndian.AppendUint64(le, uint64(x))
	}
	if got, want := spelled(t, ints), `{"__type__": "[]int", "len": 65, "sha256": "`+hexSHA256(le)+`"}`; got != want {
		t.Errorf("[]int of 65: %s, want %s", got, want)
	}
	i16 := make([]int16, 65)
	i16[0] = -2
	le = le[:0]
	for _, x := range i16 {
		le = binary.LittleEndian.AppendUint16(le, uint16(x))
	}
	if got, want := spelled(t, i16), `{"__type__": "[]int16", "len": 65, "sha256": "`+hexSHA256(le)+`"}`; got != want {
		t.Errorf("[]int16 of 65: %s, want %s", got, want)
	}

	// Over 1 MiB: the SHA-256 of the chunks' SHA-256 digests.
	big := make([]float32, treeChunk/4+3)
	for i := range big {
		big[i] = float32(i)
	}
	raw := make([]byte, 0, 4*len(big))
	for _, x := range big {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	var sums []byte
	for i := 0; i < len(raw); i += treeChunk {
		s := sha256.Sum256(raw[i:min(i+treeChunk, len(raw))])
		sums = append(sums, s[:]...)
	}
	want = `{"__type__": "[]float32", "chunk": 1048576, "len": 262147, "sha256tree": "` + hexSHA256(sums) + `"}`
	if got := spelled(t, big); got != want {
		t.Errorf("%d float32s:\n got %s\nwant %s", len(big), got, want)
	}
	// Exactly 1 MiB is one SHA-256.
	exact := make([]byte, treeChunk)
	if got, want := spelled(t, exact), `{"__type__": "[]uint8", "len": 1048576, "sha256": "`+hexSHA256(exact)+`"}`; got != want {
		t.Errorf("1 MiB of bytes: %s, want %s", got, want)
	}
}

// model is a type with unexported fields that marshals itself.
type model struct {
	weights []float64
	name    string
}

func (m model) MarshalBinary() ([]byte, error) {
	return []byte(m.name + ":" + strings.Repeat("w", len(m.weights))), nil
}

type timeAndLabel struct {
	time.Time
	Label string
}

// A type spells itself by the method it declares, MarshalBinary first; a
// method promoted from an embedded field does not count.
func TestMarshalers(t *testing.T) {
	if got, want := spelled(t, model{name: "a"}), `{"__type__": "github.com/cachegen/cachegen/internal/keying.model", "len": 2, "sha256": "`+hexSHA256([]byte("a:"))+`"}`; got != want {
		t.Errorf("own type: %s, want %s", got, want)
	}
	if spelled(t, model{name: "a"}) == spelled(t, model{name: "b"}) {
		t.Error("two models that marshal apart spell alike")
	}
	when := time.Unix(1700000000, 0).UTC()
	if got, want := spelled(t, timeAndLabel{when, "a"}), `{"Label": "a", "Time": "2023-11-14T22:13:20Z"}`; got != want {
		t.Errorf("an embedded time: %s, want %s", got, want)
	}
}

// Changed names the parameters that can change and no longer spell as
// they did: what a function changed of its arguments.
func TestChanged(t *testing.T) {
	type grid struct{ Cells []float64 }
	g := &grid{[]float64{1, 2}}
	xs := []int{1}
	keyed := &grid{[]float64{1}}
	anys := []any{1}
	params := map[string]any{
		"g":     g,
		"xs":    xs,
		"n":     3,
		"keyed": KeyBy(keyed, func(g *grid) float64 { return g.Cells[0] }),
		"anys":  anys,
		"typed": Typed[[]int](xs),
		"T":     TypeArg[int](),
		"nil":   nil,
	}
	sp, err := Spell(params, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := Changed(params, nil, sp); c != nil {
		t.Fatalf("nothing changed, Changed = %v", c)
	}
	g.Cells[0] = 9
	xs[0] = 2
	keyed.Cells[0] = 5
	anys[0] = func() {} // now unkeyable: changed too
	if got, want := Changed(params, nil, sp), []string{"anys", "g", "keyed", "typed", "xs"}; !slices.Equal(got, want) {
		t.Errorf("Changed = %v, want %v", got, want)
	}
	// A parameter not spelled before is not reported.
	params["new"] = []int{1}
	if got := Changed(params, nil, sp); slices.Contains(got, "new") {
		t.Errorf("Changed = %v: reports a parameter it never spelled", got)
	}
}
