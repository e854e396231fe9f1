package ctl

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cachegen/cachegen/internal/units"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func (c *ctl) ls(args []string) error {
	fs := c.flags("ls")
	pattern := fs.String("func", "", "only entries of functions matching this pattern")
	sortBy := fs.String("sort", "time", "time, size, duration or func")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("ls: unexpected argument %q", fs.Arg(0))
	}
	orders := map[string]func(a, b cacheruntime.Entry) int{
		"time":     func(a, b cacheruntime.Entry) int { return b.ComputedAt.Compare(a.ComputedAt) },
		"size":     func(a, b cacheruntime.Entry) int { return cmp.Compare(b.Size, a.Size) },
		"duration": func(a, b cacheruntime.Entry) int { return cmp.Compare(b.Duration, a.Duration) },
		"func":     func(a, b cacheruntime.Entry) int { return strings.Compare(a.Func, b.Func) },
	}
	order, ok := orders[*sortBy]
	if !ok {
		return usagef("ls: -sort %q: want time, size, duration or func", *sortBy)
	}
	es, err := c.entries(*pattern)
	if err != nil {
		return err
	}
	slices.SortStableFunc(es, order)
	if c.json {
		enc := json.NewEncoder(c.out)
		for _, e := range es {
			if err := enc.Encode(toJSON(e)); err != nil {
				return err
			}
		}
		return nil
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tFUNC\tVERSION\tCOMPUTED\tTOOK\tSIZE\t")
	for _, e := range es {
		computed := e.ComputedAt.Local().Format("2006-01-02 15:04:05")
		if e.Stale {
			computed += " (stale)"
		}
		version := strings.TrimSpace(strconv.Itoa(e.Version) + " " + deadMark(e))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", e.Key, e.Func[strings.LastIndex(e.Func, "/")+1:], version, computed, took(e.Duration), units.FormatSize(e.Size))
	}
	tw.Flush()
	width := terminalWidth()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for i, line := range lines {
		cell := "PARAMS"
		if i > 0 {
			cell = string(es[i-1].Args)
		}
		// The params are ASCII (the canonical text escapes the rest), so
		// bytes are columns.
		if room := max(width-len(line), minParams); len(cell) > room {
			cell = cell[:room-1] + "…"
		}
		fmt.Fprintln(c.out, line+cell)
	}
	return nil
}

// minParams is the fewest columns of params ls shows, however narrow the
// terminal.
const minParams = 12

// terminalWidth is $COLUMNS, or 120.
func terminalWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 120
}

func took(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.String()
}

// deadMark is how ls and prune mark a dead entry: "(old)", "(other
// code)", or "" for a live one.
func deadMark(e cacheruntime.Entry) string {
	switch {
	case e.OldVersion:
		return "(old)"
	case e.OtherCode:
		return "(other code)"
	}
	return ""
}
