package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, on a machine without a zone database

	"github.com/cachegen/cachegen/internal/keying"
)

// keyOfValue returns the key of v as the only parameter x.
func keyOfValue(t *testing.T, v any) string {
	t.Helper()
	k, err := paramsKey(map[string]any{"x": v})
	if err != nil {
		t.Fatalf("keying %#v: %v", v, err)
	}
	return k
}

// apart fails unless a and b have different keys.
func apart(t *testing.T, what string, a, b any) {
	t.Helper()
	if ka, kb := keyOfValue(t, a), keyOfValue(t, b); ka == kb {
		t.Errorf("%s: both keyed %s (%s)", what, ka, canonical(t, a))
	}
}

// alike fails unless a and b have the same key.
func alike(t *testing.T, what string, a, b any) {
	t.Helper()
	if ka, kb := keyOfValue(t, a), keyOfValue(t, b); ka != kb {
		t.Errorf("%s: keyed %s and %s:\n%s\n%s", what, ka, kb, canonical(t, a), canonical(t, b))
	}
}

type timeAndLabel struct {
	time.Time
	Label string
}

func TestKeyIgnoresPromotedMarshalers(t *testing.T) {
	when := time.Unix(1700000000, 0).UTC()
	apart(t, "struct{time.Time; Label}: the label counts", timeAndLabel{when, "a"}, timeAndLabel{when, "b"})
	if got, want := canonical(t, timeAndLabel{when, "a"}), `{"Label": "a", "Time": "2023-11-14T22:13:20Z"}`; got != want {
		t.Errorf("spelled %s, want %s", got, want)
	}
}

func TestKeyBigFloatKeepsPrecisionModeAndAccuracy(t *testing.T) {
	a := big.NewFloat(1.5)
	apart(t, "precision", a, new(big.Float).SetPrec(10).SetFloat64(1.5))
	apart(t, "rounding mode", a, new(big.Float).SetMode(big.ToZero).SetFloat64(1.5))
	third := new(big.Float).SetPrec(8).Quo(big.NewFloat(1), big.NewFloat(3))
	exact := new(big.Float).SetPrec(8).Set(third)
	apart(t, "accuracy", third, exact) // same value, Below vs Exact
	apart(t, "zero vs negative zero", new(big.Float), new(big.Float).Neg(new(big.Float)))
	alike(t, "the same float", big.NewFloat(1.5), big.NewFloat(1.5))
}

func TestKeyTimeIsExact(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	winter := time.Date(2026, 1, 15, 12, 0, 0, 0, paris)
	// A fixed zone that borrows a real zone's name: the same instant and
	// offset today, but AddDate(0, 6, 0) tells them apart.
	fake := winter.In(time.FixedZone("Europe/Paris", 3600))
	apart(t, "a fixed zone named like a real one", winter, fake)
	// Offsets that differ by seconds, at wall clocks that read alike.
	t1 := time.Date(1900, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 3600+30))
	t2 := t1.Add(30 * time.Second).In(time.FixedZone("LMT", 3600))
	if t1.Format(time.RFC3339) != t2.Format(time.RFC3339) {
		t.Fatalf("the two times should read alike to the minute: %s %s", t1, t2)
	}
	apart(t, "offsets apart by seconds", t1, t2)
	// The same instant in the same named location, loaded twice: alike;
	// with a monotonic reading or without.
	again, _ := time.LoadLocation("Europe/Paris")
	alike(t, "one location loaded twice", winter, winter.In(again))
	now := time.Now()
	alike(t, "the monotonic reading does not count", now, now.Round(0))
	apart(t, "UTC vs a zone at the same instant", winter.UTC(), winter)
}

// textKey has a MarshalText that spells distinct keys alike.
type textKey struct{ N int }

func (k textKey) MarshalText() ([]byte, error) { return []byte{'k', byte('0' + k.N%2)}, nil }

func TestKeyMapKeysThatSpellAlikeAreAnError(t *testing.T) {
	m := map[textKey]int{{1}: 1, {3}: 2}
	for range 20 {
		_, err := keying.Canonical(map[string]any{"m": m})
		if !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), `two keys spell alike as "k1"`) {
			t.Fatalf("err = %v, want an error naming the coinciding text", err)
		}
	}
	if _, err := keying.Canonical(map[string]any{"m": map[*int]int{new(int): 1}}); !errors.Is(err, ErrUnkeyable) {
		t.Errorf("pointer map keys: err = %v, want ErrUnkeyable", err)
	}
}

// panicky's MarshalText dereferences a nil pointer.
type panicky struct{ P *int }

func (p panicky) MarshalText() ([]byte, error) { return []byte{byte(*p.P)}, nil }

type withBigInt struct{ *big.Int }

func TestKeyNeverPanics(t *testing.T) {
	cases := map[string]any{
		"a marshaler that panics":             panicky{},
		"a marshaler map key that panics":     map[panicky]int{{}: 1},
		"a marshaler inside a struct":         struct{ V panicky }{},
		"a declared key that panics":          KeyBy(0, func(int) int { panic("no") }),
		"an embedded nil pointer (keyed now)": withBigInt{},
	}
	for name, v := range cases {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: keying panicked: %v", name, r)
				}
			}()
			_, err := Call{Func: "f", Params: map[string]any{"x": v}}.Key()
			if name == "an embedded nil pointer (keyed now)" {
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			} else if !errors.Is(err, ErrUnkeyable) {
				t.Errorf("%s: err = %v, want ErrUnkeyable", name, err)
			}
		}()
	}
}

type dagNode struct{ L, R *dagNode }

func TestKeySharedReferencesCostTheirSize(t *testing.T) {
	// Each is 60 levels deep, each level refers twice to the one below:
	// a tree of 2^60 nodes, a value of 60.
	n := &dagNode{}
	s := []any{"leaf"}
	m := map[string]any{"leaf": 1}
	for range 60 {
		n = &dagNode{n, n}
		s = []any{s, s}
		m = map[string]any{"a": m, "b": m}
	}
	for name, v := range map[string]any{"pointers": n, "slices": s, "maps": m} {
		b, err := keying.Canonical(map[string]any{"x": v})
		if err != nil || len(b) > 10_000 {
			t.Errorf("%s: %d bytes, %v", name, len(b), err)
		}
	}
	// Sharing is told apart from copies: the two may differ later.
	leaf := &dagNode{}
	apart(t, "a shared node vs two equal nodes", &dagNode{leaf, leaf}, &dagNode{&dagNode{}, &dagNode{}})
	// Memory without references is spelled again, so F(x, x) keys like
	// F(x, copy of x).
	xs := []float64{1, 2, 3}
	k1, _ := paramsKey(map[string]any{"a": xs, "b": xs})
	k2, _ := paramsKey(map[string]any{"a": xs, "b": []float64{1, 2, 3}})
	if k1 != k2 {
		t.Errorf("a numeric slice passed twice keys apart from a copy")
	}
}

func TestKeyNoValueForgesATag(t *testing.T) {
	var nilMap map[string]any
	apart(t, "a map that reads like a pointer to nil", &map[string]any{"__type__": "*map[string]interface {}", "__value__": nil}, &nilMap)
	shared := &dagNode{}
	type pair struct{ A, B any }
	apart(t, "a map that reads like a back reference",
		pair{shared, shared}, pair{shared, map[string]any{"__ref__": 0}})
	apart(t, "a static map with a tag's keys", map[string]int{"__type__": 1}, map[string]int{"__type__": 1, "x": 0})
	apart(t, "a float NaN object vs a map", []any{math.NaN()}, []any{map[string]any{"__type__": "NaN", "bits": "7ff8000000000001"}})
}

func TestKeyTypesDeclaredInFunctionsDoNotShareASpelling(t *testing.T) {
	a := func() any {
		type local struct{ X int }
		return local{1}
	}()
	b := func() any {
		type local struct{ X int }
		return local{1}
	}()
	if _, err := keying.Canonical(map[string]any{"x": []any{a}}); err != nil {
		t.Fatal(err)
	}
	_, err := keying.Canonical(map[string]any{"x": []any{b}})
	if !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "two distinct types are both named") {
		t.Fatalf("err = %v, want an error naming the clash", err)
	}
}

// model is a type of the user's own with unexported fields that marshals
// itself.
type model struct {
	weights []float64
	name    string
}

func (m model) MarshalBinary() ([]byte, error) {
	return []byte(m.name + ":" + strings.Repeat("w", len(m.weights))), nil
}

func TestKeyBinaryMarshalers(t *testing.T) {
	apart(t, "own type by its bytes", model{name: "a"}, model{name: "b"})
	if got := canonical(t, model{name: "a"}); !strings.HasPrefix(got, `{"__type__": "github.com/cachegen/cachegen/runtime.model", "len": 2, "sha256": "`) {
		t.Errorf("spelled %s", got)
	}
	// gonum's matrices: internal/gonumtest, a module of its own.
}

// A slice is keyed by what it shows, whatever array it views.
func TestKeySliceViewsByContent(t *testing.T) {
	arr := []float64{1, 2, 3, 4}
	alike(t, "a view of a shared array and a copy of what it shows", arr[1:3], []float64{2, 3})
	alike(t, "a view with spare capacity and one without", arr[:2], arr[:2:2])
	apart(t, "views of one array at different offsets", arr[0:2], arr[1:3])
}

func TestKeyKnownStandardTypes(t *testing.T) {
	apart(t, "net.IP in 4- and 16-byte forms", net.IP{10, 0, 0, 1}, net.IPv4(10, 0, 0, 1))
	apart(t, "url.URL with a RawPath", &url.URL{Path: "/a b"}, &url.URL{Path: "/a b", RawPath: "/a%20b"})
	apart(t, "url.URL user passwords", &url.URL{User: url.UserPassword("u", "p")}, &url.URL{User: url.UserPassword("u", "q")})
	apart(t, "url.URL password set or not", &url.URL{User: url.User("u")}, &url.URL{User: url.UserPassword("u", "")})
	if _, err := keying.Canonical(map[string]any{"x": regexp.MustCompile("a")}); !errors.Is(err, ErrUnkeyable) {
		t.Errorf("regexp: err = %v, want ErrUnkeyable", err)
	}
}

// interval has unexported fields: only a declared key can key it.
type interval struct{ lo, hi float64 }

func (i interval) String() string { return fmt.Sprint(i.lo, "..", i.hi) }

type label string

func (l label) String() string { return string(l) }

func TestKeyByDeclaredKey(t *testing.T) {
	key := func(s fmt.Stringer) string { return s.String() }
	alike(t, "an interval and a label that print alike, by the declared key", KeyBy[fmt.Stringer](interval{1, 2}, key), KeyBy[fmt.Stringer](label("1..2"), key))
	apart(t, "different content", KeyBy[fmt.Stringer](interval{1, 2}, key), KeyBy[fmt.Stringer](interval{1, 3}, key))
	alike(t, "the key is what the declared key returns", KeyBy[fmt.Stringer](interval{1, 2}, key), "1..2")
}

// grid is a function's argument that holds its values by reference.
type grid struct{ Cells []float64 }

// scale doubles g in place, as a function that normalizes its argument
// does.
func scale(g *grid) float64 {
	sum := 0.0
	for i := range g.Cells {
		g.Cells[i] *= 2
		sum += g.Cells[i]
	}
	return sum
}

func sum(g *grid) float64 {
	s := 0.0
	for _, x := range g.Cells {
		s += x
	}
	return s
}

func TestDoDoesNotStoreWhenTheFunctionChangesAnArgument(t *testing.T) {
	c, logs := open(t)
	m := &grid{[]float64{1, 2, 3, 4}}
	call := func(m *grid) Call {
		return Call{Func: "example.com/sim.Normalize", Version: 1, Params: map[string]any{"m": m}}
	}
	got, err := Do(context.Background(), c, call(m), func(context.Context) (float64, error) { return scale(m), nil })
	if err != nil || got != 20 {
		t.Fatalf("Do = %v, %v", got, err)
	}
	if s := c.Stats(); s.Mutations != 1 || s.BytesWritten != 0 {
		t.Errorf("stats after a mutating call: %+v, want one mutation and nothing stored", s)
	}
	if !strings.Contains(logs.String(), "changed an argument") || !strings.Contains(logs.String(), "param=m") {
		t.Errorf("no warning naming the parameter:\n%s", logs)
	}
	// The same call again computes again: a hit would skip the scaling.
	m2 := &grid{[]float64{1, 2, 3, 4}}
	Do(context.Background(), c, call(m2), func(context.Context) (float64, error) { return scale(m2), nil })
	if s := c.Stats(); s.Computations != 2 || s.Hits != 0 {
		t.Errorf("after the second call: %+v, want two computations", s)
	}
	if n := strings.Count(logs.String(), "WARN: the function changed"); n != 1 {
		t.Errorf("warned %d times, want once", n)
	}
	// A function that leaves its argument alone is stored.
	Do(context.Background(), c, call(m2), func(context.Context) (float64, error) { return sum(m2), nil })
	if s := c.Stats(); s.BytesWritten == 0 {
		t.Errorf("a call that changes nothing was not stored: %+v", s)
	}
	// Through a declared key too: the argument, not the key, is checked.
	dense := &grid{[]float64{1}}
	keyed := Call{Func: "example.com/sim.K", Version: 1, Params: map[string]any{"m": KeyBy(dense, func(g *grid) []float64 { return slices.Clone(g.Cells) })}}
	Do(context.Background(), c, keyed, func(context.Context) (float64, error) { return scale(dense), nil })
	if s := c.Stats(); s.Mutations != 3 {
		t.Errorf("a change behind a declared key: Mutations = %d, want 3", s.Mutations)
	}
}

func TestStoreAsConvertsResults(t *testing.T) {
	c, _ := open(t)
	// An interval cannot be stored (its fields are unexported): it is
	// stored as its two ends.
	store := func(i interval) [2]float64 { return [2]float64{i.lo, i.hi} }
	load := func(a [2]float64) interval { return interval{a[0], a[1]} }
	call := Call{Func: "example.com/sim.Range", Version: 1, Params: map[string]any{"n": 2}, Codec: StoreAs(store, load)}
	want := interval{1, 2.5}
	for range 2 {
		got, err := Do(context.Background(), c, call, func(context.Context) (interval, error) { return want, nil })
		if err != nil || got != want {
			t.Fatalf("Do = %v, %v", got, err)
		}
	}
	if s := c.Stats(); s.Hits != 1 || s.Computations != 1 {
		t.Errorf("stats: %+v, want one computation and one hit", s)
	}
	// A codec for another result type is refused, and the call computed.
	if _, err := Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.KeyErrors != 1 {
		t.Errorf("a codec of another type: %+v, want a key error", s)
	}
}

type resultNode struct {
	L, R *resultNode
	V    int
}

// A result that refers to itself, or reaches one node through many paths,
// would crash or blow up the encoder: it is returned, not stored.
func TestResultsThatCannotBeStoredAreReturned(t *testing.T) {
	c, _ := open(t)
	loop := &resultNode{V: 1}
	loop.L = loop
	dag := &resultNode{}
	for range 60 {
		dag = &resultNode{L: dag, R: dag}
	}
	deep := &resultNode{}
	for range 300 {
		deep = &resultNode{L: deep}
	}
	for name, v := range map[string]*resultNode{"a cycle": loop, "a DAG 2^60 paths wide": dag, "a list 300 deep": deep} {
		call := Call{Func: "example.com/sim.Tree", Version: 1, Params: map[string]any{"name": name}}
		var got *resultNode
		var err error
		mustFinish(t, 10*time.Second, name, func() {
			got, err = Do(context.Background(), c, call, func(context.Context) (*resultNode, error) { return v, nil })
		})
		if err != nil || got != v {
			t.Errorf("%s: Do = %p, %v; want the computed result", name, got, err)
		}
	}
	if s := c.Stats(); s.StoreErrors != 3 || s.BytesWritten != 0 {
		t.Errorf("stats %+v: want three results not stored", s)
	}
	// Two paths to memory that holds no references store as copies.
	xs := []float64{1, 2}
	type pair struct{ A, B []float64 }
	call := Call{Func: "example.com/sim.Pair", Version: 1, Params: map[string]any{}}
	Do(context.Background(), c, call, func(context.Context) (pair, error) { return pair{xs, xs}, nil })
	got, _ := Do(context.Background(), c, call, func(context.Context) (pair, error) { return pair{}, nil })
	if len(got.A) != 2 || len(got.B) != 2 || c.Stats().Hits != 1 {
		t.Errorf("a result with a slice twice: %+v, %+v", got, c.Stats())
	}
}

func TestKeyFloat32NaNsKeepTheirBitsEverywhere(t *testing.T) {
	s, q := math.Float32frombits(0x7f800001), math.Float32frombits(0x7fc00001)
	var a, b [65]float32
	a[0], b[0] = s, q
	apart(t, "an array of 65 by value", a, b)
	apart(t, "an array in a struct field", struct{ A [65]float32 }{a}, struct{ A [65]float32 }{b})
	apart(t, "a map value", map[string][65]float32{"x": a}, map[string][65]float32{"x": b})
	apart(t, "complex64", complex64(complex(s, 0)), complex64(complex(q, 0)))
	apart(t, "[]complex64", []complex64{complex(s, 0)}, []complex64{complex(q, 0)})
}

func TestKeyRepeatedMemoryIsSpelledOnce(t *testing.T) {
	row := make([]float64, 100)
	row[7] = 1
	alike(t, "a row reached three times and three copies of it", [][]float64{row, row, row},
		[][]float64{slices.Clone(row), slices.Clone(row), slices.Clone(row)})
	// A million paths to one 8 MiB array: hashed once, the spelling then
	// copied until it passes what an entry holds (an error). Hashed on
	// each path, it would take hours.
	block := new([1 << 20]float64)
	paths := make([]*[1 << 20]float64, 1<<20)
	for i := range paths {
		paths[i] = block
	}
	mustFinish(t, 2*time.Minute, "keying an array reached a million times", func() {
		if _, err := keying.Canonical(map[string]any{"x": paths}); !errors.Is(err, ErrUnkeyable) {
			t.Errorf("err = %v, want ErrUnkeyable", err)
		}
	})
	// What unfolds past what an entry holds is an error, at once.
	long := strings.Repeat("x", 1<<20)
	many := make([]string, 100)
	for i := range many {
		many[i] = long
	}
	if _, err := keying.Canonical(map[string]any{"x": many}); !errors.Is(err, ErrUnkeyable) || !strings.Contains(err.Error(), "spell to more than") {
		t.Errorf("a string repeated past 16 MiB: err = %v", err)
	}
	if _, err := keying.Canonical(map[string]any{"x": make([]struct{}, 1<<30)}); !errors.Is(err, ErrUnkeyable) {
		t.Errorf("a billion empty structs: err = %v", err)
	}
}

func TestKeyTypeParameterKeepsTheDynamicType(t *testing.T) {
	apart(t, "int and int64 as an any type argument", Typed[any](1), Typed[any](int64(1)))
	apart(t, "nil and a nil pointer as an any type argument", Typed[any](nil), Typed[any]((*int)(nil)))
	alike(t, "a concrete type argument keys as the value", Typed[int](1), 1)
}

func TestKeyUnnamedStructsNameTheirFieldsPackages(t *testing.T) {
	type wrap struct{ V any }
	got := canonical(t, wrap{struct{ T time.Duration }{1}})
	if !strings.Contains(got, `"struct { T time.Duration }"`) {
		t.Errorf("spelled %s", got)
	}
	if got := canonical(t, wrap{struct{ U url.URL }{}}); !strings.Contains(got, `"struct { U net/url.URL }"`) {
		t.Errorf("spelled %s: want the package path", got)
	}
}

func TestDoFileInputsAreNotMutations(t *testing.T) {
	c, _ := open(t)
	path := t.TempDir() + "/data"
	os.WriteFile(path, []byte("a"), 0o600)
	call := Call{Func: "example.com/sim.Read", Version: 1, Params: map[string]any{"in": []File{File(path)}}}
	Do(context.Background(), c, call, func(context.Context) (int, error) {
		os.WriteFile(path, []byte("b"), 0o600) // changed while computed
		return 1, nil
	})
	if s := c.Stats(); s.Mutations != 0 {
		t.Errorf("a file input that changed counted as a changed argument: %+v", s)
	}
}

// Callers waiting for a computation that changed its argument compute
// their own: the leader's result would skip the change on theirs.
func TestDoWaitersOfAMutatingCallComputeTheirOwn(t *testing.T) {
	c, _ := open(t)
	started, release := make(chan struct{}), make(chan struct{})
	a, b := []float64{1, 2}, []float64{1, 2}
	call := func(xs []float64) Call {
		return Call{Func: "example.com/sim.Double", Version: 1, Params: map[string]any{"xs": xs}}
	}
	double := func(xs []float64, first bool) func(context.Context) (float64, error) {
		return func(context.Context) (float64, error) {
			if first {
				close(started)
				<-release
			}
			xs[0] *= 2
			return xs[0], nil
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Do(context.Background(), c, call(a), double(a, true))
	}()
	<-started
	waiter := make(chan float64)
	go func() {
		v, _ := Do(context.Background(), c, call(b), double(b, false))
		waiter <- v
	}()
	time.Sleep(50 * time.Millisecond) // let the second caller join the flight
	close(release)
	<-done
	if v := <-waiter; v != 2 || b[0] != 2 {
		t.Errorf("the waiter got %v and its slice is %v: it did not compute its own", v, b)
	}
}
