package gonumtest

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"testing"

	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/testenv"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// canonical returns the canonical spelling of v as the value of a
// parameter.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := keying.Canonical(map[string]any{"x": v})
	if err != nil {
		t.Fatalf("keying %#v: %v", v, err)
	}
	s := string(b)
	return s[len(`{"x": `) : len(s)-1]
}

// keyOf returns the key of v as the only parameter x.
func keyOf(t *testing.T, v any) string {
	t.Helper()
	b, err := keying.Canonical(map[string]any{"x": v})
	if err != nil {
		t.Fatalf("keying %#v: %v", v, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func apart(t *testing.T, what string, a, b any) {
	t.Helper()
	if ka, kb := keyOf(t, a), keyOf(t, b); ka == kb {
		t.Errorf("%s: both keyed %s (%s)", what, ka, canonical(t, a))
	}
}

func alike(t *testing.T, what string, a, b any) {
	t.Helper()
	if ka, kb := keyOf(t, a), keyOf(t, b); ka != kb {
		t.Errorf("%s: keyed %s and %s:\n%s\n%s", what, ka, kb, canonical(t, a), canonical(t, b))
	}
}

// open opens a cache in a new directory, logging into the buffer it
// returns.
func open(t *testing.T) (*cacheruntime.Cache, *testenv.Buffer) {
	t.Helper()
	return openDir(t, t.TempDir())
}

func openDir(t *testing.T, dir string) (*cacheruntime.Cache, *testenv.Buffer) {
	t.Helper()
	log := new(testenv.Buffer)
	c, err := cacheruntime.Open(dir, cacheruntime.WithLogger(slog.New(logline.New(log))))
	if err != nil {
		t.Fatal(err)
	}
	return c, log
}
