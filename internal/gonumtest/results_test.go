package gonumtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/testenv"
	cacheruntime "github.com/cachegen/cachegen/runtime"
	"gonum.org/v1/gonum/mat"
)

// A resultCase is a gonum result type, whether the cache stores it
// exactly, and its value.
type resultCase struct {
	name     string // the function of testdata/cases that returns it
	storable bool
	// run calls Do for the case on c, and reports whether the result
	// came back as it was computed and whether compute ran.
	run func(c *cacheruntime.Cache) (exact, computed bool, err error)
	// trip stores and loads the value, and returns the runtime's own
	// check of its type.
	trip func() (exact bool, err, problem error)
}

func result[T any](name string, storable bool, make func() T, equal func(a, b T) bool) resultCase {
	return resultCase{name, storable,
		func(c *cacheruntime.Cache) (bool, bool, error) {
			computed := false
			call := cacheruntime.Call{Func: "example.com/exact." + name, Version: 1, Params: map[string]any{"case": name}}
			got, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) (T, error) {
				computed = true
				return make(), nil
			})
			return equal(got, make()), computed, err
		},
		func() (bool, error, error) {
			problem := entry.StoreProblem(reflect.TypeFor[T]())
			parts, err := entry.EncodeResult(make())
			if err != nil {
				return false, err, problem
			}
			got, err := entry.DecodeResult[T](bytes.Join(parts, nil), false)
			return err == nil && equal(got, make()), err, problem
		}}
}

func resultCases() []resultCase {
	return []resultCase{
		result("ResultDense", true, func() *mat.Dense { return mat.NewDense(2, 2, []float64{1, 2, 3, 4}) }, func(a, b *mat.Dense) bool { return mat.Equal(a, b) }),
		result("ResultVecDense", true, func() *mat.VecDense { return mat.NewVecDense(3, []float64{1, 2, 3}) }, func(a, b *mat.VecDense) bool { return mat.Equal(a, b) }),
		result("ResultSymDense", false, func() *mat.SymDense { return mat.NewSymDense(2, []float64{1, 2, 2, 1}) }, func(a, b *mat.SymDense) bool { return mat.Equal(a, b) }),
		result("ResultMatrix", false, func() mat.Matrix { return mat.NewDense(1, 1, []float64{1}) }, func(a, b mat.Matrix) bool { return a != nil && mat.Equal(a, b) }),
		// Stored, gonum's UnmarshalBinary would refuse an empty matrix at
		// every load: the store reads its encoding back first.
		result("EmptyDense", false, func() *mat.Dense { return &mat.Dense{} }, func(a, b *mat.Dense) bool { return a != nil && a.IsEmpty() }),
		result("EmptyVecDense", false, func() *mat.VecDense { return &mat.VecDense{} }, func(a, b *mat.VecDense) bool { return a != nil && a.IsEmpty() }),
	}
}

// The runtime stores exactly the result types the generator accepts
// (TestGeneratorAcceptsWhatTheRuntimeKeys), and each comes back exactly;
// Do computes a refused one each time, and says so once.
func TestResultTable(t *testing.T) {
	for _, rc := range resultCases() {
		exact, err, problem := rc.trip()
		// An empty matrix's type is storable; its value is not.
		typeStorable := rc.storable || strings.HasPrefix(rc.name, "Empty")
		if (problem == nil) != typeStorable {
			t.Errorf("%s: StoreProblem = %v, want storable=%v", rc.name, problem, typeStorable)
		}
		if rc.storable && !exact {
			t.Errorf("%s: round trip not exact (%v)", rc.name, err)
		}
		if rc.storable {
			continue
		}
		c, log := open(t)
		for range 2 {
			exact, computed, err := rc.run(c)
			if !exact || !computed || err != nil {
				t.Errorf("%s: exact=%v computed=%v err=%v: want it computed each time", rc.name, exact, computed, err)
			}
		}
		if s := c.Stats(); s.Unstorable != 2 || s.BytesWritten != 0 || s.Corrupt != 0 {
			t.Errorf("%s: %+v: want both calls unstorable, nothing stored or corrupt", rc.name, s)
		}
		if n := strings.Count(log.String(), "WARN"); n != 1 || !strings.Contains(log.String(), "cannot be stored exactly") || !strings.Contains(log.String(), "mat.") {
			t.Errorf("%s: %d warnings, want one naming the type and why it cannot be stored:\n%s", rc.name, n, log)
		}
	}
}

// TestResultsExactAcrossProcesses stores each case in one process and
// loads it in another: a storable case hits and comes back exactly, a
// refused one is computed again.
func TestResultsExactAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("GONUMTEST_CHILD_DIR"); dir != "" {
		c, _ := openDir(t, dir)
		for _, rc := range resultCases() {
			exact, computed, err := rc.run(c)
			fmt.Printf("%s exact=%v computed=%v err=%v\n", rc.name, exact, computed, err)
		}
		fmt.Printf("stats unstorable=%d corrupt=%d\n", c.Stats().Unstorable, c.Stats().Corrupt)
		return
	}
	testenv.Slow(t) // runs the test binary twice
	dir := t.TempDir()
	run := func() map[string]string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestResultsExactAcrossProcesses$")
		cmd.Env = append(os.Environ(), "GONUMTEST_CHILD_DIR="+dir)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		lines := map[string]string{}
		for _, l := range strings.Split(string(out), "\n") {
			if name, rest, ok := strings.Cut(l, " "); ok {
				lines[name] = rest
			}
		}
		return lines
	}
	store, load := run(), run()
	refused := 0
	for _, rc := range resultCases() {
		if !rc.storable {
			refused++
		}
		if want := "exact=true computed=true err=<nil>"; store[rc.name] != want {
			t.Errorf("storing %s: %q, want %q", rc.name, store[rc.name], want)
		}
		want := "exact=true computed=false err=<nil>" // a hit, exact
		if !rc.storable {
			want = "exact=true computed=true err=<nil>" // computed again
		}
		if load[rc.name] != want {
			t.Errorf("loading %s: %q, want %q", rc.name, load[rc.name], want)
		}
	}
	if want := fmt.Sprintf("unstorable=%d corrupt=0", refused); load["stats"] != want {
		t.Errorf("loading: %s, want %s: each refused case counted once, no entry corrupt", load["stats"], want)
	}
	// Exactly the storable cases were stored.
	tier, err := maintain.Open(dir, maintain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	es, err := tier.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stored := len(resultCases()) - refused; len(es) != stored {
		t.Errorf("%d entries stored, want %d", len(es), stored)
	}
}
