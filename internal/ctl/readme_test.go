package ctl

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

// readmeBlock returns the lines of the code block of README or docs/
// that starts with the line first.
func readmeBlock(t *testing.T, first string) []string {
	t.Helper()
	docs, _ := filepath.Glob("../../docs/*.md")
	var all strings.Builder
	for _, f := range append([]string{"../../README.md"}, docs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	_, rest, ok := strings.Cut(all.String(), "```\n"+first+"\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("README has no block starting %q", first)
	}
	return strings.Split(strings.TrimSuffix(block, "\n"), "\n")
}

// masks replace what differs from run to run: times, durations, sizes,
// and which of the sweep's entries was computed last.
var masks = []struct{ re, with string }{
	{`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)?`, "TIME"},
	{`\b[0-9.]+(ns|µs|ms|s)\b`, "DURATION"},
	{`\b[0-9.]+ (B|KiB|MiB)\b`, "SIZE"},
	{`(key:\s+|key )[0-9a-f]{16}`, "${1}KEY"},
	{`"snr": [0-9.]+`, `"snr": SNR`},
	{`snr: [0-9.]+ -> [0-9.]+`, "snr: SNR -> SNR"},
}

func masked(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		for _, m := range masks {
			l = regexp.MustCompile(m.re).ReplaceAllString(l, m.with)
		}
		out[i] = strings.Join(strings.Fields(l), " ")
	}
	return out
}

// The cachectl samples of README and docs/ are what cachectl prints after
// the example,
// but for times, durations and sizes: the same rows, keys and params.
func TestReadmeSamples(t *testing.T) {
	testenv.Slow(t) // runs the example, sweep and all
	dir := filepath.Join(t.TempDir(), "cache")
	cmd := exec.Command("go", "run", "../../examples/montecarlo")
	cmd.Env = append(os.Environ(), "CACHEGEN_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the example: %v\n%s", err, out)
	}
	t.Setenv("COLUMNS", "140")
	for _, sample := range []struct {
		command string
		args    []string
		sorted  bool // rows in any order: the sweep computes two at once
	}{
		{"$ COLUMNS=140 go run ./cmd/cachectl ls", []string{"ls"}, true},
		{"$ go run ./cmd/cachectl why RunMonteCarlo", []string{"why", "RunMonteCarlo"}, false},
	} {
		want := readmeBlock(t, sample.command)
		if sample.command == "$ COLUMNS=140 go run ./cmd/cachectl ls" {
			// The block goes on with verify.
			i := slices.Index(want, "$ go run ./cmd/cachectl verify")
			if i < 0 {
				t.Fatal("README's ls block has no verify")
			}
			out, _, code := ctlRun(t, "-dir", dir, "verify")
			if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); code != 0 || !slices.Equal(got, want[i+1:]) {
				t.Errorf("verify prints:\n%s\nREADME says:\n%s", out, strings.Join(want[i+1:], "\n"))
			}
			want = want[:i]
		}
		out, errOut, code := ctlRun(t, append([]string{"-dir", dir}, sample.args...)...)
		if code != 0 {
			t.Fatalf("cachectl %v: exit %d\n%s", sample.args, code, errOut)
		}
		got, w := masked(strings.Split(strings.TrimSuffix(out, "\n"), "\n")), masked(want)
		if sample.sorted {
			slices.Sort(got[1:])
			slices.Sort(w[1:])
		}
		if !slices.Equal(got, w) {
			t.Errorf("cachectl %v prints:\n%s\nREADME says:\n%s\n(compared as\n%s\nand\n%s)", sample.args, out, strings.Join(want, "\n"),
				strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
	}
}
