//go:build unix

package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

func TestMain(m *testing.M) {
	if child := os.Getenv(childEnv); child != "" {
		firstStore(child) // the test binary is also the child process
		return
	}
	os.Exit(m.Run())
}

// The scale command, run small, fills its caches and reports every row of
// its table; running it again reuses what it filled.
func TestScaleReportsEveryMeasure(t *testing.T) {
	testenv.Slow(t) // fills caches of thousands of entries, twice
	dir := t.TempDir()
	for range 2 {
		var out strings.Builder
		if err := run(&out, dir, 300, 2); err != nil {
			t.Fatal(err)
		}
		for _, row := range []string{
			`hit, 1,000 entries \(median of 5,000\) \| [0-9.]+[µm]s`,
			`hit, 300 entries \(median of 5,000\) \| [0-9.]+[µm]s \([0-9.]+x\)`,
			`first store of a fresh process, no size limit \(median of 7\) \| [0-9.]+[µm]s`,
			`first store of a fresh process, with a size limit \(median of 7\) \| [0-9.]+[µm]s \([0-9.]+x\)`,
			"`cachectl stats -totals` \\| [0-9]+ms",
			"`cachectl ls` \\(reads every entry\\) \\| [0-9]+ms",
			`files per entry \(all files / entries; [0-9]+ files\) \| [0-9.]+`,
			`disk bytes per entry .* \| [0-9]+`,
			"recorded size per entry \\(`stats -totals`\\) \\| [0-9]+",
		} {
			if !regexp.MustCompile(row).MatchString(out.String()) {
				t.Errorf("no row %q in:\n%s", row, out.String())
			}
		}
	}
}
