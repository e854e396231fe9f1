package gonumtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
	"gonum.org/v1/gonum/mat"
)

var floatDomain = []float64{0, math.Copysign(0, -1), 1, math.NaN(), math.Inf(1)}

// randomDense is a small matrix: nil, empty, a view of a larger one, or
// one of its own, of elements drawn from floatDomain.
func randomDense(r *rand.Rand) *mat.Dense {
	switch r.IntN(6) {
	case 0:
		return nil
	case 1:
		return &mat.Dense{}
	}
	rows, cols := 1+r.IntN(2), 1+r.IntN(2)
	data := make([]float64, 9)
	for i := range data {
		data[i] = floatDomain[r.IntN(len(floatDomain))]
	}
	if r.IntN(2) == 0 {
		return mat.NewDense(3, 3, data).Slice(0, rows, 0, cols).(*mat.Dense)
	}
	return mat.NewDense(rows, cols, data[:rows*cols])
}

// sameDense compares matrices as a function can tell them apart: by
// shape and elements' bits.
func sameDense(x, y *mat.Dense) bool {
	if x == nil || y == nil {
		return x == y
	}
	if x.IsEmpty() || y.IsEmpty() {
		return x.IsEmpty() == y.IsEmpty()
	}
	rx, cx := x.Dims()
	ry, cy := y.Dims()
	if rx != ry || cx != cy {
		return false
	}
	for i := range rx {
		for j := range cx {
			if math.Float64bits(x.At(i, j)) != math.Float64bits(y.At(i, j)) {
				return false
			}
		}
	}
	return true
}

// The key's promise over random matrices: equal keys mean matrices no
// function can tell apart, and such matrices have equal keys.
func TestKeyPropertyEqualKeysMeanEqualMatrices(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	byKey := map[string]*mat.Dense{}
	const n = 20000
	for range n {
		m := randomDense(r)
		k := keyOf(t, m)
		prev, ok := byKey[k]
		if !ok {
			byKey[k] = m
			continue
		}
		if !sameDense(prev, m) {
			t.Fatalf("%v and %v share the key %s", prev, m, k)
		}
	}
	// Every distinct matrix seen has one key: matrices alike key alike.
	keys := map[string]bool{}
	for _, m := range byKey {
		for k2, m2 := range byKey {
			if sameDense(m, m2) && keyOf(t, m) != k2 {
				t.Fatalf("%v and %v are alike but keyed apart", m, m2)
			}
		}
		keys[keyOf(t, m)] = true
	}
	if len(keys) < 100 {
		t.Errorf("only %d distinct matrices in %d draws: the generator is too narrow", len(keys), n)
	}
}

// holder holds a matrix among other fields, as a parameter struct does.
type holder struct {
	M *mat.Dense
	N int
}

// Inside a struct, and in another process, a matrix keys as it does
// alone here: the key is its content, not where it lies.
func TestKeyPropertyNestedAndAcrossProcesses(t *testing.T) {
	keysOf := func() []string {
		r := rand.New(rand.NewPCG(3, 4))
		var out []string
		for range 500 {
			m := randomDense(r)
			out = append(out, keyOf(t, m)+" "+keyOf(t, holder{m, 1}))
		}
		return out
	}
	if os.Getenv("GONUMTEST_PRINT_KEYS") != "" {
		fmt.Println(strings.Join(keysOf(), "\n"))
		return
	}
	here := keysOf()
	// Matrices alike key alike inside a struct too, and apart where apart.
	nestedOf := map[string]string{}
	nested := map[string]bool{}
	for i, line := range here {
		alone, in, _ := strings.Cut(line, " ")
		if prev, ok := nestedOf[alone]; ok && prev != in {
			t.Fatalf("matrix %d keys alike alone and apart inside a struct", i)
		}
		nestedOf[alone] = in
		nested[in] = true
	}
	if len(nested) != len(nestedOf) {
		t.Errorf("%d matrices apart alone, %d apart inside a struct", len(nestedOf), len(nested))
	}
	testenv.Slow(t) // runs the test binary again
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyPropertyNestedAndAcrossProcesses$")
	cmd.Env = append(os.Environ(), "GONUMTEST_PRINT_KEYS=1", "TZ=Asia/Kolkata")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	there := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(there) < len(here) {
		t.Fatalf("child printed %d keys, want %d:\n%s", len(there), len(here), out)
	}
	for i := range here {
		if here[i] != there[i] {
			t.Fatalf("matrix %d keyed %s here and %s in another process", i, here[i], there[i])
		}
	}
}
