package runtime

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/cachegen/cachegen/internal/keytable/keycases"
	"github.com/cachegen/cachegen/internal/testenv"
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
		exactly("dense", true, func() *mat.Dense { return mat.NewDense(2, 2, []float64{1, 2, 3, 4}) }, func(a, b *mat.Dense) bool { return mat.Equal(a, b) }),
		exactly("vector", true, func() *mat.VecDense { return mat.NewVecDense(3, []float64{1, 2, 3}) }, func(a, b *mat.VecDense) bool { return mat.Equal(a, b) }),
		exactly("big-float", true, func() *big.Float { return new(big.Float).SetPrec(200).SetFloat64(1.5) }, func(a, b *big.Float) bool {
			return a != nil && a.Cmp(b) == 0 && a.Prec() == b.Prec()
		}),
		// What cachegen refuses, through Do directly or a generic
		// instantiation (Build[T] is Do[T]).
		exactly("any-int", false, func() any { return 7 }, eq),
		exactly("map-any", false, func() map[string]any { return map[string]any{"a": []float64{1}} }, func(a, b map[string]any) bool { return reflect.DeepEqual(a, b) }),
		exactly("interface", false, func() mat.Matrix { return mat.NewDense(1, 1, []float64{1}) }, func(a, b mat.Matrix) bool { return mat.Equal(a, b) }),
		exactly("symdense", false, func() *mat.SymDense { return mat.NewSymDense(2, []float64{1, 2, 2, 1}) }, func(a, b *mat.SymDense) bool { return mat.Equal(a, b) }),
		exactly("regexp", false, func() *regexp.Regexp { return regexp.MustCompilePOSIX("a+") }, func(a, b *regexp.Regexp) bool { return a.String() == b.String() }),
		exactly("unexported", false, func() keycases.ResultUnexported { return keycases.ResultUnexported{} }, func(a, b keycases.ResultUnexported) bool { return a == b }),
		exactly("big-float-inside", false, func() withBigFloat { return withBigFloat{new(big.Float).SetPrec(200).SetFloat64(1.5)} }, func(a, b withBigFloat) bool {
			return a.F != nil && a.F.Prec() == 200
		}),
		exactly("pointer-to-nil-slice", false, func() *[]int { return new([]int) }, func(a, b *[]int) bool { return a != nil }),
		exactly("skipped-field", false, func() withSkip { return withSkip{1, 2} }, func(a, b withSkip) bool { return a == b }),
		exactly("gob-inside", false, func() gobInside { return gobInside{} }, func(a, b gobInside) bool { return a == b }),
		exactly("text-only", false, func() textOnly { return textOnly{"x"} }, func(a, b textOnly) bool { return a == b }),
		// Stored, gonum's UnmarshalBinary would refuse an empty matrix at
		// every load: the store reads its encoding back first.
		exactly("empty-dense", false, func() *mat.Dense { return &mat.Dense{} }, func(a, b *mat.Dense) bool { return a != nil && a.IsEmpty() }),
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
	es, err := func() ([]Entry, error) {
		c, _ := openDir(t, dir)
		return c.List(context.Background())
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
	type unstorable struct {
		Xs []float64
		C  chan int // cannot be stored: waiters compute their own
	}
	t.Run("stored", func(t *testing.T) {
		waitersShareNothing(t, func(xs []float64) []float64 { return xs }, func(v []float64) []float64 { return v })
	})
	t.Run("not stored", func(t *testing.T) {
		waitersShareNothing(t, func(xs []float64) unstorable { return unstorable{Xs: xs} }, func(v unstorable) []float64 { return v.Xs })
	})
}

func waitersShareNothing[T any](t *testing.T, wrap func([]float64) T, unwrap func(T) []float64) {
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
}
