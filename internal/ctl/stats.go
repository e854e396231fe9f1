package ctl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cachegen/cachegen/internal/units"
)

func (c *ctl) stats(args []string) error {
	fs := c.flags("stats")
	totalsOnly := fs.Bool("totals", false, "print only the totals, from the records the cache keeps, without reading every entry")
	recount := fs.Bool("recount", false, "count every entry again and repair the records the totals come from")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("stats takes no arguments")
	}
	if c.tier.IsDir() && (*totalsOnly || *recount) {
		return c.totals(*recount)
	}
	if *totalsOnly || *recount {
		return usagef("-totals and -recount read the records of a local cache directory; a remote store is listed whole")
	}
	es, err := c.list()
	if err != nil {
		return err
	}
	type fnStats struct {
		Func    string  `json:"func"`
		Entries int     `json:"entries"`
		Bytes   int64   `json:"bytes"`
		Compute float64 `json:"compute_s"` // total compute time of the stored results
	}
	var total, oldBytes, otherBytes int64
	var oldEntries, otherEntries int
	var oldest, newest time.Time
	byFunc := map[string]*fnStats{}
	for _, e := range es {
		total += e.Size
		switch {
		case e.OldVersion:
			oldEntries++
			oldBytes += e.Size
		case e.OtherCode:
			otherEntries++
			otherBytes += e.Size
		}
		if oldest.IsZero() || e.ComputedAt.Before(oldest) {
			oldest = e.ComputedAt
		}
		if e.ComputedAt.After(newest) {
			newest = e.ComputedAt
		}
		s := byFunc[e.Func]
		if s == nil {
			s = &fnStats{Func: e.Func}
			byFunc[e.Func] = s
		}
		s.Entries++
		s.Bytes += e.Size
		s.Compute += e.Duration.Seconds()
	}
	var funcs []fnStats
	for _, s := range byFunc {
		funcs = append(funcs, *s)
	}
	slices.SortFunc(funcs, func(a, b fnStats) int { return strings.Compare(a.Func, b.Func) })
	if c.json {
		return json.NewEncoder(c.out).Encode(map[string]any{c.where(): c.tier.String(), "entries": len(es), "bytes": total, "oldest": oldest, "newest": newest,
			"old_version_entries": oldEntries, "old_version_bytes": oldBytes, "other_code_entries": otherEntries, "other_code_bytes": otherBytes, "funcs": funcs})
	}
	fmt.Fprintf(c.out, "%-8s %s\nentries: %d\nsize:    %s\n", c.where()+":", c.tier.String(), len(es), units.FormatSize(total))
	if oldEntries > 0 {
		fmt.Fprintf(c.out, "old versions: %s, %s (cachectl prune -old-versions removes them)\n", units.Count(oldEntries, "entry", "entries"), units.FormatSize(oldBytes))
	}
	if otherEntries > 0 {
		fmt.Fprintf(c.out, "other code:   %s, %s, never served to the code of the module here (cachectl prune -dead removes them, and the old versions)\n", units.Count(otherEntries, "entry", "entries"), units.FormatSize(otherBytes))
	}
	if len(es) > 0 {
		fmt.Fprintf(c.out, "oldest:  %s\nnewest:  %s\n", oldest.Local().Format(time.RFC3339), newest.Local().Format(time.RFC3339))
	}
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nFUNC\tENTRIES\tSIZE\tCOMPUTE TIME STORED")
	for _, s := range funcs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Func, s.Entries, units.FormatSize(s.Bytes), took(time.Duration(s.Compute*float64(time.Second))))
	}
	return tw.Flush()
}

// totals prints a local cache's totals from its records, recounting them
// first with recount.
func (c *ctl) totals(recount bool) error {
	u, err := c.tier.Usage()
	if recount {
		u, err = c.tier.Recount(c.ctx)
	}
	if err != nil {
		return err
	}
	if c.json {
		return json.NewEncoder(c.out).Encode(map[string]any{"dir": c.tier.String(), "entries": u.Entries, "bytes": u.Bytes})
	}
	_, err = fmt.Fprintf(c.out, "dir:     %s\nentries: %d\nsize:    %s\n", c.tier.String(), u.Entries, units.FormatSize(u.Bytes))
	return err
}

// where names the kind of cache acted on.
func (c *ctl) where() string {
	if !c.tier.IsDir() {
		return "remote"
	}
	return "dir"
}
