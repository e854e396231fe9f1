// Package testenv says which tests a run of go test includes, and holds
// the helpers the tests of several packages share.
//
// README's test command, go test ./..., runs every test of behaviour in
// well under a minute on a small machine. The slow tests (those that build
// and run programs end to end, resolve modules, or measure at scale) run
// when CACHEGEN_SLOW_TESTS=1, as .ci/run sets it, and are skipped, with a
// message naming the variable, otherwise.
package testenv

import (
	"os"
	"testing"
)

// SlowVar is the environment variable that runs the slow tests.
const SlowVar = "CACHEGEN_SLOW_TESTS"

// Slow skips t, a slow test, unless SlowVar is 1; and always under -short.
func Slow(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow: skipped under -short")
	}
	if os.Getenv(SlowVar) != "1" {
		t.Skip("slow: runs with " + SlowVar + "=1, as .ci/run sets it")
	}
}
