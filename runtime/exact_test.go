package runtime

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keytable/keycases"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/maintain"
)

// The cases of TestResultsExactAcrossProcesses: each stores a result in
// one process and loads it in another, whose TZ differs. A storable case
// must hit and come back exactly; a refused one (what cachegen refuses,
// called directly or instantiated generically) must be computed every
// time, counted in Stats().Unstorable, and never stored.
type exactCase struct {
	name     string
	storable bool
	// run calls Do for the case on c, and reports whether the result
	// came back as it was computed and whether compute ran.
	run func(c *Cache) (exact, computed bool, err error)
}

// exactly runs a case of result type T: compute returns make().
func exactly[T any](name string, storable bool, make func() T, equal func(got, want T) bool) exactCase {
	return exactCase{name, storable, func(c *Cache) (bool, bool, error) {
		computed := false
		call := Call{Func: "example.com/exact." + name, Version: 1, Params: map[string]any{"case": name}}
		got, err := Do(context.Background(), c, call, func(context.Context) (T, error) {
			computed = true
			return make(), nil
		})
		return equal(got, make()), computed, err
	}}
}

// sameInstantZone reports whether two times are the same instant, with the same
// offset and location name: what a function can observe of them.
func sameInstantZone(got, want time.Time) bool {
	gn, go_ := got.Zone()
	wn, wo := want.Zone()
	if want.Location() == time.Local {
		return got.Equal(want) && got.Location() == time.Local
	}
	return got.Equal(want) && gn == wn && go_ == wo && got.Location().String() == want.Location().String() &&
		got.AddDate(0, 6, 0).Format(time.RFC3339) == want.AddDate(0, 6, 0).Format(time.RFC3339)
}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

type timedResult struct {
	At    time.Time
	Label string
	Times map[string]time.Time
}

type withBigFloat struct{ F *big.Float }

type withSkip struct {
	A int
	B int `json:"-"`
}

type gobInside struct{ G keycases.ResultGob }

type textOnly struct{ A string }

func (t textOnly) MarshalText() ([]byte, error) { return []byte(t.A), nil }

func exactCases() []exactCase {
	ny := mustLoad("America/New_York")
	paris := mustLoad("Europe/Paris")
	eq := func(a, b any) bool { return reflect.DeepEqual(a, b) }
	return []exactCase{
		exactly("lmt", true, func() time.Time { return time.Date(1850, 3, 1, 12, 0, 0, 7, ny) }, sameInstantZone),
		exactly("ny", true, func() time.Time { return time.Date(2026, 1, 15, 9, 30, 0, 0, ny) }, sameInstantZone),
		exactly("paris", true, func() time.Time { return time.Date(2026, 7, 14, 22, 0, 0, 0, paris) }, sameInstantZone),
		exactly("fixed-seconds", true, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3630)) }, sameInstantZone),
		exactly("fixed-named", true, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)) }, sameInstantZone),
		exactly("utc", true, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 999999999, time.UTC) }, sameInstantZone),
		exactly("local", true, func() time.Time { return time.Unix(1767225600, 5).Local() }, sameInstantZone),
		exactly("times-inside", true, func() timedResult {
			return timedResult{At: time.Date(1850, 3, 1, 12, 0, 0, 0, ny), Label: "x",
				Times: map[string]time.Time{"a": time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("X", -3599)), "b": time.Date(2001, 1, 1, 0, 0, 0, 0, paris)}}
		}, func(got, want timedResult) bool {
			return sameInstantZone(got.At, want.At) && got.Label == want.Label && len(got.Times) == 2 &&
				sameInstantZone(got.Times["a"], want.Times["a"]) && sameInstantZone(got.Times["b"], want.Times["b"])
		}),
		exactly("big-float", true, func() *big.Float { return new(big.Float).SetPrec(200).SetFloat64(1.5) }, func(a, b *big.Float) bool {
			return a != nil && a.Cmp(b) == 0 && a.Prec() == b.Prec()
		}),
		// What cachegen refuses, through Do directly or a generic
		// instantiation (Build[T] is Do[T]).
		exactly("any-int", false, func() any { return 7 }, eq),
		exactly("map-any", false, func() map[string]any { return map[string]any{"a": []float64{1}} }, func(a, b map[string]any) bool { return reflect.DeepEqual(a, b) }),
		exactly("regexp", false, func() *regexp.Regexp { return regexp.MustCompilePOSIX("a+") }, func(a, b *regexp.Regexp) bool { return a.String() == b.String() }),
		exactly("unexported", false, func() keycases.ResultUnexported { return keycases.ResultUnexported{} }, func(a, b keycases.ResultUnexported) bool { return a == b }),
		exactly("big-float-inside", false, func() withBigFloat { return withBigFloat{new(big.Float).SetPrec(200).SetFloat64(1.5)} }, func(a, b withBigFloat) bool {
			return a.F != nil && a.F.Prec() == 200
		}),
		exactly("pointer-to-nil-slice", false, func() *[]int { return new([]int) }, func(a, b *[]int) bool { return a != nil }),
		exactly("skipped-field", false, func() withSkip { return withSkip{1, 2} }, func(a, b withSkip) bool { return a == b }),
		exactly("gob-inside", false, func() gobInside { return gobInside{} }, func(a, b gobInside) bool { return a == b }),
		exactly("text-only", false, func() textOnly { return textOnly{"x"} }, func(a, b textOnly) bool { return a == b }),
		exactly("interface", false, func() fmt.Stringer { return time.Second }, func(a, b fmt.Stringer) bool { return a != nil && a.String() == b.String() }),
		// A time as a map key: its location could not be put back.
		exactly("time-keys", false, func() map[time.Time]int { return map[time.Time]int{time.Date(1850, 1, 1, 0, 0, 0, 0, ny): 1} }, func(a, b map[time.Time]int) bool {
			return reflect.DeepEqual(a, b)
		}),
	}
}

// exactChild is the body of a child process of TestResultsExactAcrossProcesses:
// it runs every case on the cache c and prints one line each.
func exactChild(c *Cache) {
	for _, ec := range exactCases() {
		exact, computed, err := ec.run(c)
		fmt.Printf("%s exact=%v computed=%v err=%v\n", ec.name, exact, computed, err)
	}
	fmt.Printf("stats unstorable=%d corrupt=%d\n", c.Stats().Unstorable, c.Stats().Corrupt)
}

// TestResultsExactAcrossProcesses stores each case in one process (TZ
// unset) and loads it in others, with TZ unset and TZ=Asia/Kolkata.
func TestResultsExactAcrossProcesses(t *testing.T) {
	testenv.Slow(t) // runs the test binary three times
	dir := t.TempDir()
	run := func(tz string) map[string]string {
		t.Helper()
		cmd := child(t, "exact", dir)
		env := []string{}
		for _, e := range cmd.Env {
			if !strings.HasPrefix(e, "TZ=") {
				env = append(env, e)
			}
		}
		if tz != "" {
			env = append(env, "TZ="+tz)
		}
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child (TZ=%q): %v\n%s", tz, err, out)
		}
		lines := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if name, rest, ok := strings.Cut(l, " "); ok {
				lines[name] = rest
			}
		}
		return lines
	}
	store := run("")
	for _, ec := range exactCases() {
		if want := "exact=true computed=true err=<nil>"; store[ec.name] != want {
			t.Errorf("storing %s: %s, want %s", ec.name, store[ec.name], want)
		}
	}
	for _, tz := range []string{"", "Asia/Kolkata"} {
		load := run(tz)
		for _, ec := range exactCases() {
			want := "exact=true computed=false err=<nil>" // a hit, exact
			if !ec.storable {
				want = "exact=true computed=true err=<nil>" // computed again
			}
			if load[ec.name] != want {
				t.Errorf("TZ=%q: loading %s: %s, want %s", tz, ec.name, load[ec.name], want)
			}
		}
		refused := 0
		for _, ec := range exactCases() {
			if !ec.storable {
				refused++
			}
		}
		if want := fmt.Sprintf("unstorable=%d corrupt=0", refused); load["stats"] != want {
			t.Errorf("TZ=%q: %s, want %s: each refused case counted once, no entry corrupt", tz, load["stats"], want)
		}
	}
	es, err := func() ([]maintain.Entry, error) {
		c, _ := openDir(t, dir)
		return tierOf(c).List(context.Background())
	}()
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, e := range es {
		stored[strings.TrimPrefix(e.Func, "example.com/exact.")] = true
	}
	for _, ec := range exactCases() {
		if stored[ec.name] != ec.storable {
			t.Errorf("%s: stored=%v, want %v", ec.name, stored[ec.name], ec.storable)
		}
	}
}

// TestWaitersNeverShareMemory runs concurrent callers of one key while
// the leader changes its result as soon as it has it: no waiter sees the
// change, and under the race detector none reads what the leader writes.
// Both for a result that is stored (waiters decode their own from the
// encoding) and for one that cannot be (waiters compute their own).
func TestWaitersNeverShareMemory(t *testing.T) {
	t.Run("stored", func(t *testing.T) {
		c := waitersShareNothing(t, func(xs []float64) []float64 { return xs }, func(v []float64) []float64 { return v })
		if s := c.Stats(); s.Unstorable != 0 || s.BytesWritten == 0 {
			t.Errorf("%+v: want the result stored", s)
		}
	})
	t.Run("not stored", func(t *testing.T) {
		// A type the cache takes, but a value whose encoding does not
		// read back: nested deeper than a load decodes. The leader's
		// result is not stored, and each waiter computes its own.
		c := waitersShareNothing(t, deepChain, func(v *chain) []float64 { return v.Xs })
		if s := c.Stats(); s.Unstorable+s.StoreErrors != 1 || s.BytesWritten != 0 || s.Computations != 5 {
			t.Errorf("%+v: want the leader's result not stored, and four waiters computing their own", s)
		}
	})
}

// chain is a result type the cache can store, whose values nested deeper
// than a load decodes do not read back.
type chain struct {
	Xs   []float64
	Next *chain
}

func deepChain(xs []float64) *chain {
	c := &chain{Xs: xs}
	for range 300 { // deeper than the 256 levels a load decodes
		c = &chain{Next: c}
	}
	return &chain{Xs: xs, Next: c}
}

func waitersShareNothing[T any](t *testing.T, wrap func([]float64) T, unwrap func(T) []float64) *Cache {
	c, _ := open(t)
	const n = 1 << 16
	release := make(chan struct{})
	compute := func(context.Context) (T, error) {
		<-release
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 1
		}
		return wrap(xs), nil
	}
	call := mcCall(7)
	var wg sync.WaitGroup
	leaderDone := make(chan T)
	go func() {
		v, _ := Do(context.Background(), c, call, compute)
		leaderDone <- v
	}()
	time.Sleep(50 * time.Millisecond) // the leader holds the flight
	bad := make(chan string, 8)
	for range 4 {
		wg.Go(func() {
			v, err := Do(context.Background(), c, call, compute)
			xs := unwrap(v)
			if err != nil || len(xs) != n {
				bad <- fmt.Sprintf("a waiter got %d elements, %v", len(xs), err)
				return
			}
			for _, x := range xs {
				if x != 1 {
					bad <- "a waiter saw the leader's change"
					return
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // the waiters joined
	close(release)
	leader := unwrap(<-leaderDone)
	for i := range leader {
		leader[i] = 2 // the leader's caller changes its result at once
	}
	wg.Wait()
	close(bad)
	for msg := range bad {
		t.Error(msg)
	}
	return c
}

// An entry holding a time in a named location that this process cannot
// load, or loads with another offset at that instant, is a miss, neither
// served with another location nor counted as damage.
func TestTimeInALocationNotLoadableHereIsAMiss(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	at := time.Date(2026, 7, 1, 12, 0, 0, 0, ny)
	for _, name := range []string{"America/New_Yorq", "Europe/Amsterdam"} { // no such zone; another offset
		t.Run(name, func(t *testing.T) {
			c, log := open(t)
			ctx := context.Background()
			compute := func(context.Context) (time.Time, error) { return at, nil }
			Do(ctx, c, mcCall(1), compute)
			path := c.disk.Path(keyOf(t, mcCall(1)))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			h, metaBytes, payload, err := entry.Parse(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := entry.DecodeMeta(metaBytes)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(payload, []byte("America/New_York")) {
				t.Fatal("the entry does not name its time's location")
			}
			payload = bytes.ReplaceAll(payload, []byte("America/New_York"), []byte(name))
			h.PayloadLen = 0 // Encode counts the payload it is given
			parts, err := entry.Encode(h, m, [][]byte{payload}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, bytes.Join(parts, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			computed := 0
			got, err := Do(ctx, c, mcCall(1), func(ctx context.Context) (time.Time, error) { computed++; return compute(ctx) })
			if err != nil || computed != 1 || !got.Equal(at) || got.Location() != ny {
				t.Fatalf("Do = %v in %v, %v, computed %d: want a miss that computes", got, got.Location(), err, computed)
			}
			if s := c.Stats(); s.Corrupt != 0 {
				t.Errorf("%+v: a location not loadable here was counted as a corrupt entry\n%s", s, log)
			}
		})
	}
}
