package runtime

import (
	"context"
	"errors"
	"go/token"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/cachegen/cachegen/remote"
)

func codeCall(code string, accepted ...string) Call {
	call := mcCall(300)
	call.Code, call.Accepted = code, accepted
	return call
}

const (
	codeA = "aaaaaaaaaaaaaaaa"
	codeB = "bbbbbbbbbbbbbbbb"
	codeC = "cccccccccccccccc"
)

// TestEntriesOfOtherCodeAreMisses checks that an entry computed by one
// code under a version is not served to a call made by other code under
// the same version, is logged once per function, and is replaced.
func TestEntriesOfOtherCodeAreMisses(t *testing.T) {
	c, log := open(t)
	var n counter
	do := func(call Call, want float64) {
		t.Helper()
		got, err := Do(context.Background(), c, call, n.fn(mcResult{Precision: want}))
		if err != nil || got.Precision != want {
			t.Fatalf("got (%+v, %v), want %v", got, err, want)
		}
	}
	do(codeCall(codeA), 1)
	do(codeCall(codeA), 1)
	if n.n.Load() != 1 {
		t.Fatalf("the same code: computed %d times, want 1", n.n.Load())
	}
	do(codeCall(codeB), 2) // other code: not served the 1
	do(codeCall(codeB), 2)
	do(codeCall(codeA), 3)
	if n.n.Load() != 3 || c.Stats().OtherCode != 2 {
		t.Fatalf("computed %d times with %d entries of other code, want 3 and 2", n.n.Load(), c.Stats().OtherCode)
	}
	if got := strings.Count(log.String(), "entries were computed by other code under this version: computing them again fn=example.com/sim.RunMonteCarlo version=1"); got != 1 {
		t.Errorf("told %d times, want once:\n%s", got, log)
	}
}

// TestAcceptedCodeIsServed checks that the fingerprints of Call.Accepted
// are served, and that a call that names no code is served any entry.
func TestAcceptedCodeIsServed(t *testing.T) {
	c, _ := open(t)
	var n counter
	Do(context.Background(), c, codeCall(codeA), n.fn(mcResult{Precision: 1}))
	got, _ := Do(context.Background(), c, codeCall(codeC, codeB, codeA), n.fn(mcResult{Precision: 2}))
	if got.Precision != 1 || n.n.Load() != 1 {
		t.Fatalf("an accepted earlier code's entry was not served: got %v after %d computations", got.Precision, n.n.Load())
	}
	got, _ = Do(context.Background(), c, codeCall(""), n.fn(mcResult{Precision: 3}))
	if got.Precision != 1 || n.n.Load() != 1 {
		t.Fatalf("a call that names no code was not served: got %v after %d computations", got.Precision, n.n.Load())
	}
}

// TestEntriesOfUnrecordedCodeAreMisses checks that an entry that does not
// say which code computed it is not served to a call that does.
func TestEntriesOfUnrecordedCodeAreMisses(t *testing.T) {
	c, _ := open(t)
	var n counter
	Do(context.Background(), c, codeCall(""), n.fn(mcResult{Precision: 1}))
	got, _ := Do(context.Background(), c, codeCall(codeA), n.fn(mcResult{Precision: 2}))
	if got.Precision != 2 || n.n.Load() != 2 {
		t.Fatalf("an entry of unrecorded code was served: got %v after %d computations", got.Precision, n.n.Load())
	}
	key, _ := codeCall(codeA).Key()
	es, _ := tierOf(c).List(context.Background())
	if len(es) != 1 || es[0].Key != key || es[0].Code != codeA {
		t.Fatalf("List = %+v, want the entry of %s with code %s", es, key, codeA)
	}
}

// TestRemoteEntriesOfOtherCodeAreMisses checks the shared tier: a
// teammate's entry computed by other code under the same version is not
// served.
func TestRemoteEntriesOfOtherCodeAreMisses(t *testing.T) {
	s := newMemStore()
	mine, _, _ := openTiered(t, s, remote.Options{})
	theirs, _, _ := openTiered(t, s, remote.Options{})
	var n counter
	Do(context.Background(), theirs, codeCall(codeB), n.fn(mcResult{Precision: 1}))
	got, _ := Do(context.Background(), mine, codeCall(codeA), n.fn(mcResult{Precision: 2}))
	if got.Precision != 2 || mine.Stats().OtherCode != 1 || mine.Stats().RemoteHits != 0 {
		t.Fatalf("got %v with stats %+v: want the entry of other code refused", got.Precision, mine.Stats())
	}
}

// codecheck is a cached function whose calls below record parts of its
// code as it is (codecheckParts) or of other code (staleParts).
const codecheck = "github.com/cachegen/cachegen/runtime/testdata/codecheck.Run"

// codecheckParts returns the parts of codecheck's code as it is now.
func codecheckParts(t *testing.T) []string {
	t.Helper()
	pk := fingerprint.ReadPackage(token.NewFileSet(), "github.com/cachegen/cachegen/runtime/testdata/codecheck", "testdata/codecheck")
	return []string{"Run:" + pk.Digest("Run"), "factor:" + pk.Digest("factor"), fingerprint.ModFilePart("../go.mod", ""), "std:0badc0de"}
}

// staleParts are parts of other code than codecheck's.
var staleParts = []string{"Run:00000000", "factor:00000000", "go.mod:00000000", "std:00000000"}

// partsCall is a call of codecheck whose code is made of parts.
func partsCall(parts []string) Call {
	return Call{Func: codecheck, Version: 1, Code: fingerprint.Of(parts).Sum, Parts: strings.Join(parts, ","), Params: map[string]any{"x": 1}}
}

// TestCheckCode checks the comparison generated tests make: the parts of
// the source as it is pass, parts of other code fail naming what changed
// in this module (not the standard library's part, which only cachegen
// can digest) and the fix, and a function whose source is not in this
// module, or whose parts do not make its code, is not checked.
func TestCheckCode(t *testing.T) {
	if err := CheckCode(partsCall(codecheckParts(t))); err != nil {
		t.Fatalf("the source's own parts: %v", err)
	}
	err := CheckCode(partsCall(staleParts))
	want := "Run changed since cachegen generated its wrapper (changed: Run, factor, go.mod): bump //cache:version=1 to 2 and run go generate, or, only if its results stay the same, record the change: go run github.com/cachegen/cachegen/cmd/cachegen -accept Run ./testdata/codecheck"
	if !errors.Is(err, errCodeChanged) || err.Error() != want {
		t.Fatalf("the parts of other code: %v\nwant %s", err, want)
	}
	edited := codecheckParts(t)
	edited[1] = "factor:00000000"
	if err := CheckCode(partsCall(edited)); err == nil || !strings.Contains(err.Error(), "(changed: factor)") {
		t.Fatalf("one declaration of other code: %v", err)
	}
	elsewhere := partsCall(staleParts)
	elsewhere.Func = "example.com/elsewhere.Run"
	if err := CheckCode(elsewhere); err != nil {
		t.Fatalf("a function of another module: %v", err)
	}
	forged := partsCall(staleParts)
	forged.Code = "0123456789abcdef"
	if err := CheckCode(forged); err != nil {
		t.Fatalf("parts that do not make the code: %v", err)
	}
}

// TestDoPanicsInTestsOnEditedCode checks that, in a test binary, Do
// refuses to run a function whose code changed without go generate, on
// every call.
func TestDoPanicsInTestsOnEditedCode(t *testing.T) {
	c, _ := open(t)
	call := partsCall(staleParts)
	for range 2 {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "Run changed since cachegen generated its wrapper") {
					t.Fatalf("recovered %v, want a panic naming the function", r)
				}
			}()
			Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil })
		}()
	}
}

// TestDoBypassesTheCacheOnEditedSource checks what a program other than a
// test does with a function whose source changed without go generate: it
// computes every call, stores nothing, and warns once, so that no result
// of the edited code is stored as one of the code before the edit.
func TestDoBypassesTheCacheOnEditedSource(t *testing.T) {
	saved := testDir
	testDir = ""
	defer func() { testDir = saved }()
	c, log := open(t)
	call := partsCall(staleParts)
	var n counter
	for range 3 {
		if got, err := Do(context.Background(), c, call, n.fn(want)); err != nil || !equalResult(got, want) {
			t.Fatalf("got (%+v, %v)", got, err)
		}
	}
	if n.n.Load() != 3 || c.Stats().Hits != 0 {
		t.Errorf("computed %d times with stats %+v: want every call computed", n.n.Load(), c.Stats())
	}
	if es, _ := tierOf(c).List(context.Background()); len(es) != 0 {
		t.Errorf("stored %d entries of the edited code", len(es))
	}
	if got := strings.Count(log.String(), "Run changed since cachegen generated its wrapper"); got != 1 || !strings.Contains(log.String(), "computing it without the cache") {
		t.Errorf("warned %d times, want once:\n%s", got, log)
	}
}
