package remote_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeanLinks checks what programs link: the montecarlo example links no
// store, the sharing example, or any program that imports remote/redis
// alone, no AWS, Google or gocloud package, and the runtime no HTTP server
// or metrics library, and the disk store no remote package.
func TestLeanLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	for pkg, banned := range map[string][]string{
		"../examples/montecarlo": {"aws", "google", "gocloud.dev", "redis"},
		"../examples/sharing":    {"aws", "google", "gocloud.dev"},
		"./redis":                {"aws", "google"},
		".":                      {"aws", "google", "gocloud.dev", "redis"},
		"../cmd/cachectl":        {"aws", "google", "gocloud.dev"},
		"../runtime":             {"net/http", "expvar", "prometheus", "opentelemetry", "gonum"},
		// The local tier's files: the file:// store is remote/file's.
		"../internal/disk": {"github.com/cachegen/cachegen/remote", "internal/lease"},
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range banned {
				if strings.Contains(dep, b) {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		}
	}
}
