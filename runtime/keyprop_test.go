package runtime

import (
	"bufio"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/keying"
)

// The key's promise as a property, over random values of many types:
// equal keys imply equal values (no two values a function can tell apart
// share a key), and equal values give equal keys (built afresh, and in
// another process in another time zone).

type pair struct {
	A int
	B string
}

// valueGen makes random values from small domains, so that equal values
// recur and near-equal ones meet.
type valueGen struct {
	r     *rand.Rand
	zones []*time.Location
}

func newValueGen(seed uint64) *valueGen {
	g := &valueGen{r: rand.New(rand.NewPCG(seed, 7))}
	for _, name := range []string{"Europe/Paris", "Asia/Tokyo", "America/New_York"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err)
		}
		g.zones = append(g.zones, loc)
	}
	g.zones = append(g.zones, time.UTC, time.FixedZone("Europe/Paris", 3600), time.FixedZone("LMT", 3600+30), time.FixedZone("LMT", 3600))
	return g
}

func (g *valueGen) pick(n int) int { return g.r.IntN(n) }

var floatDomain = []float64{0, math.Copysign(0, -1), 1, 0.5, math.Inf(1), math.Inf(-1),
	math.Float64frombits(keying.CanonicalNaN), math.NaN(), math.Float64frombits(0xfff8000000000000), math.Float64frombits(0x7ff0000000000001)}

var stringDomain = []string{"", "a", "__type__", "__ref__", "\xff", "\ufffd", "é", "A"}

// kinds is how many kinds of value value makes.
const kinds = 22

// value returns a random value of kind k.
func (g *valueGen) value(k int) any {
	switch k {
	case 0:
		return g.pick(3)
	case 1:
		return int64(g.pick(3))
	case 2:
		return floatDomain[g.pick(len(floatDomain))]
	case 3:
		return []float32{0, float32(math.Copysign(0, -1)), 1, math.Float32frombits(0x7fc00000), math.Float32frombits(0x7f800001), math.Float32frombits(0x7fc00001)}[g.pick(6)]
	case 4:
		return stringDomain[g.pick(len(stringDomain))]
	case 5:
		return [][]byte{nil, {}, {1}, {1, 2}, {0}}[g.pick(5)]
	case 6:
		switch g.pick(4) {
		case 0:
			return []float64(nil)
		case 1:
			return []float64{}
		}
		xs := make([]float64, 63+g.pick(4))
		xs[g.pick(len(xs))] = floatDomain[g.pick(len(floatDomain))]
		return xs
	case 7:
		return [2]int{g.pick(2), g.pick(2)}
	case 8:
		return pair{g.pick(2), stringDomain[g.pick(3)]}
	case 9:
		return timeAndLabel{g.time(), stringDomain[g.pick(2)]}
	case 10:
		if g.pick(3) == 0 {
			return (*pair)(nil)
		}
		return &pair{g.pick(2), "x"}
	case 11:
		switch g.pick(3) {
		case 0:
			return (**int)(nil)
		case 1:
			return new(*int)
		}
		n := g.pick(2)
		p := &n
		return &p
	case 12:
		return g.natural(2)
	case 13:
		if g.pick(4) == 0 {
			return map[int]string(nil)
		}
		m := map[int]string{}
		for range g.pick(3) {
			m[g.pick(3)-1] = stringDomain[g.pick(3)]
		}
		return m
	case 14:
		return g.list(2)
	case 15:
		return g.time()
	case 16:
		f := new(big.Float).SetPrec([]uint{10, 53, 200}[g.pick(3)]).SetMode([]big.RoundingMode{big.ToNearestEven, big.ToZero}[g.pick(2)])
		switch g.pick(4) {
		case 0:
			f.SetFloat64(1.5)
		case 1:
			f.Quo(big.NewFloat(1), big.NewFloat(3))
		case 2:
			f.Neg(f)
		}
		return f
	case 17:
		return big.NewInt(int64(g.pick(3) - 1))
	case 18:
		return g.view()
	case 19:
		return complex(floatDomain[g.pick(4)], floatDomain[g.pick(len(floatDomain))])
	case 20:
		return g.dag(3)
	default:
		if g.pick(2) == 0 {
			return net.IP{10, 0, 0, byte(g.pick(2))}
		}
		return net.IPv4(10, 0, 0, byte(g.pick(2)))
	}
}

func (g *valueGen) time() time.Time {
	instants := []time.Time{time.Unix(0, 0), time.Unix(1767225600, 0), time.Unix(1767225630, 0), time.Unix(1751328000, 500)}
	return instants[g.pick(len(instants))].In(g.zones[g.pick(len(g.zones))])
}

// natural is a map[string]any as a JSON decoder makes, with reserved keys
// now and then.
func (g *valueGen) natural(depth int) map[string]any {
	if g.pick(5) == 0 {
		return nil
	}
	m := map[string]any{}
	for range g.pick(3) {
		m[stringDomain[g.pick(4)]] = g.dynamic(depth - 1)
	}
	return m
}

func (g *valueGen) list(depth int) []any {
	if g.pick(5) == 0 {
		return nil
	}
	xs := make([]any, g.pick(3))
	for i := range xs {
		xs[i] = g.dynamic(depth - 1)
	}
	return xs
}

// dynamic is a value to hold in an interface.
func (g *valueGen) dynamic(depth int) any {
	if depth <= 0 {
		return []any{1, int64(1), 1.0, float32(1), "1", nil, math.NaN()}[g.pick(7)]
	}
	switch g.pick(4) {
	case 0:
		return g.natural(depth)
	case 1:
		return g.list(depth)
	}
	return g.value(g.pick(kinds))
}

// view is a slice of a 3x3 array: a view of a shared array, or a
// copy of the same elements. (gonum's matrices have a property test of
// their own in internal/gonumtest, a module of its own.)
func (g *valueGen) view() []float64 {
	data := make([]float64, 9)
	for i := range data {
		data[i] = floatDomain[g.pick(3)]
	}
	lo := g.pick(3)
	hi := lo + g.pick(4)
	if g.pick(2) == 0 {
		return data[lo:hi]
	}
	return append([]float64(nil), data[lo:hi]...)
}

// dag is a small graph of nodes, sharing some.
func (g *valueGen) dag(depth int) *dagNode {
	if depth == 0 || g.pick(4) == 0 {
		return nil
	}
	l := g.dag(depth - 1)
	r := l
	if g.pick(2) == 0 {
		r = g.dag(depth - 1)
	}
	return &dagNode{l, r}
}

// same reports whether a function could not tell a and b apart, by the
// rules the key spec states: floats by their bits, times by instant and
// by what their locations say at many instants, slices by content,
// references by what they refer to.
func same(a, b reflect.Value) bool {
	return equalBy(a, b, func(a, b reflect.Value) (bool, bool) {
		if !a.CanInterface() {
			return false, false
		}
		switch x := a.Interface().(type) {
		case time.Time:
			return sameTime(x, b.Interface().(time.Time)), true
		case *big.Float:
			y := b.Interface().(*big.Float)
			if x == nil || y == nil {
				return x == y, true
			}
			return x.Cmp(y) == 0 && x.Signbit() == y.Signbit() && x.Prec() == y.Prec() && x.Mode() == y.Mode() && x.Acc() == y.Acc(), true
		case *big.Int:
			y := b.Interface().(*big.Int)
			return x == nil && y == nil || x != nil && y != nil && x.Cmp(y) == 0, true
		case float32:
			return math.Float32bits(x) == math.Float32bits(b.Interface().(float32)), true
		}
		return false, false
	})
}

// sameTime compares two times as time's methods can: the instant, the
// location's name, and the zone each reports at instants around them.
func sameTime(a, b time.Time) bool {
	if !a.Equal(b) || a.Location().String() != b.Location().String() {
		return false
	}
	for _, d := range []time.Duration{0, -24 * 3650 * time.Hour, -24 * 180 * time.Hour, 24 * 180 * time.Hour, -24 * 365 * 100 * time.Hour} {
		na, oa := a.Add(d).Zone()
		nb, ob := b.Add(d).Zone()
		if na != nb || oa != ob || a.Add(d).IsDST() != b.Add(d).IsDST() {
			return false
		}
	}
	return true
}

// propertyKeys returns the values a generator of seed makes and the key
// of each (or its error).
func propertyKeys(seed uint64, n int) ([]any, []string) {
	g := newValueGen(seed)
	values := make([]any, n)
	keys := make([]string, n)
	for i := range values {
		values[i] = g.value(i % kinds)
		k, err := paramsKey(map[string]any{"x": values[i]})
		if err != nil {
			k = "error: " + err.Error()
		}
		keys[i] = k
	}
	return values, keys
}

const propertySeed, propertyValues = 20261204, 6000

func TestKeyPropertyEqualKeysMeanEqualValues(t *testing.T) {
	values, keys := propertyKeys(propertySeed, propertyValues)
	type group struct {
		t reflect.Type
		k string
	}
	first := map[group]int{}
	distinct := 0
	for i, v := range values {
		if strings.HasPrefix(keys[i], "error") {
			t.Errorf("value %#v: %s", v, keys[i])
			continue
		}
		gk := group{reflect.TypeOf(v), keys[i]}
		j, seen := first[gk]
		if !seen {
			first[gk] = i
			distinct++
			continue
		}
		if !same(reflect.ValueOf(values[j]), reflect.ValueOf(v)) {
			t.Errorf("two values a function can tell apart share key %s:\n%#v\n%#v", keys[i], values[j], v)
		}
	}
	if distinct < propertyValues/20 {
		t.Errorf("only %d distinct keys among %d values: the generator is too narrow to test anything", distinct, propertyValues)
	}
	// Built afresh, the same values key alike.
	_, again := propertyKeys(propertySeed, propertyValues)
	for i := range keys {
		if keys[i] != again[i] {
			t.Errorf("value %#v keyed %s, then, built again, %s", values[i], keys[i], again[i])
		}
	}
}

// TestKeyPropertyAcrossProcesses keys the same values in a child process
// in another time zone: every key is the same.
func TestKeyPropertyAcrossProcesses(t *testing.T) {
	if out := os.Getenv("CACHEGEN_KEYPROP_OUT"); out != "" {
		_, keys := propertyKeys(propertySeed, propertyValues)
		if err := os.WriteFile(out, []byte(strings.Join(keys, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	out := t.TempDir() + "/keys"
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyPropertyAcrossProcesses$")
	cmd.Env = append(os.Environ(), "CACHEGEN_KEYPROP_OUT="+out, "TZ=Pacific/Chatham")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	values, keys := propertyKeys(propertySeed, propertyValues)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	i := 0
	for ; sc.Scan(); i++ {
		if i < len(keys) && sc.Text() != keys[i] {
			t.Errorf("value %#v: keyed %s here, %s in the other process", values[i], keys[i], sc.Text())
		}
	}
	if i != len(keys) {
		t.Errorf("the other process keyed %d values, want %d", i, len(keys))
	}
}

// TestKeyLocalTimeFollowsTheProcessZone: a time in Local is keyed by what
// Local is in the process, since its methods answer by it.
func TestKeyLocalTimeFollowsTheProcessZone(t *testing.T) {
	if out := os.Getenv("CACHEGEN_KEYPROP_LOCAL"); out != "" {
		os.WriteFile(out, []byte(keyOfValue(t, time.Unix(0, 0).Local())), 0o600)
		return
	}
	keys := map[string]string{}
	for _, tz := range []string{"Europe/Paris", "Asia/Tokyo", "Europe/Paris"} {
		out := t.TempDir() + "/key"
		cmd := exec.Command(os.Args[0], "-test.run=^TestKeyLocalTimeFollowsTheProcessZone$")
		cmd.Env = append(os.Environ(), "CACHEGEN_KEYPROP_LOCAL="+out, "TZ="+tz)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := keys[tz]; ok && prev != string(b) {
			t.Errorf("TZ=%s keyed %s, then %s", tz, prev, b)
		}
		keys[tz] = string(b)
	}
	if keys["Europe/Paris"] == keys["Asia/Tokyo"] {
		t.Errorf("Local in Paris and in Tokyo keyed alike: %s", keys["Asia/Tokyo"])
	}
}

func ExampleKeyBy() {
	// A set of labels, held in a map the key could not order by itself,
	// is keyed by its sorted members.
	type set struct{ members map[string]bool }
	sorted := func(s set) []string { return slices.Sorted(maps.Keys(s.members)) }
	a := set{map[string]bool{"b": true, "a": true}}
	b := set{map[string]bool{"a": true, "b": true}}
	k1, _ := Call{Func: "example.com/sim.Fit", Version: 1, Params: map[string]any{"s": KeyBy(a, sorted)}}.Key()
	k2, _ := Call{Func: "example.com/sim.Fit", Version: 1, Params: map[string]any{"s": KeyBy(b, sorted)}}.Key()
	fmt.Println(k1 == k2)
	// Output: true
}
