package ctl

import (
	"cmp"
	"fmt"
	"time"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/units"
)

func (c *ctl) prune(args []string) error {
	fs := c.flags("prune")
	maxSize := fs.String("max-size", "", "remove least recently used entries until the cache is at most this size (500MB, 10GiB)")
	olderThan := fs.String("older-than", "", "remove entries computed longer ago than this")
	unusedFor := fs.String("unused-for", "", "remove entries not used for this long")
	oldVersions := fs.Bool("old-versions", false, "remove the entries of functions that have entries of a higher version")
	dead := fs.Bool("dead", false, "remove the entries no call of the current code is served: those of old versions, and those of other code than the module here runs (ls marks both; run it in the module); on a shared store (-remote), other code's entries only of the functions -func names")
	pattern := fs.String("func", "", "only entries of functions matching this pattern")
	dryRun := fs.Bool("dry-run", false, "say what would be removed, and remove nothing")
	yes := fs.Bool("yes", false, "on a shared store (-remote), remove what -dead or -old-versions select; without it, say what they would remove")
	force := fs.Bool("force", false, "prune a Redis remote whose prefix is empty")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("prune: unexpected argument %q", fs.Arg(0))
	}
	if err := c.checkPrefix("prune", *force || *dryRun); err != nil {
		return err
	}
	var o maintain.PruneOptions
	var err error
	if *maxSize != "" {
		if o.MaxBytes, err = units.ParseSize(*maxSize); err != nil || o.MaxBytes == 0 {
			return usagef("prune: -max-size %q: want a positive size such as 500MB or 10GiB", *maxSize)
		}
	}
	if o.OlderThan, err = parseAge("-older-than", *olderThan); err != nil {
		return err
	}
	if o.UnusedFor, err = parseAge("-unused-for", *unusedFor); err != nil {
		return err
	}
	o.OldVersions, o.Dead = *oldVersions, *dead
	if o.MaxBytes == 0 && o.OlderThan == 0 && o.UnusedFor == 0 && !o.OldVersions && !o.Dead {
		return usagef("prune needs -max-size, -older-than, -unused-for, -old-versions or -dead")
	}
	o.DryRun = *dryRun
	if *pattern != "" {
		if o.Match, err = matcher(*pattern); err != nil {
			return err
		}
	}
	var notes []string
	shared := c.shared != nil
	if shared && o.Dead && *pattern == "" {
		// A team's store holds the entries of every branch and checkout:
		// what the code here does not serve, another's does. Only old
		// versions are dead to all of them.
		o.Dead, o.OldVersions = false, true
		notes = append(notes, "prune -dead on a shared store removes old versions only: entries of other code than the module here runs are other checkouts' entries; name their functions with -func to remove those too")
	}
	deliberate := shared && (o.Dead || o.OldVersions)
	if deliberate && !*yes && !o.DryRun {
		o.DryRun = true
		defer func() {
			fmt.Fprintln(c.out, "nothing removed: on a shared store, prune -dead and -old-versions say what they would remove; run again with -yes to remove it")
		}()
	}
	if (o.Dead || o.OldVersions) && (!shared || *pattern != "") {
		// What ls marks, prune removes: by the current code where the
		// module here declares the entries' functions. On a shared
		// store, only for functions named: the others' old versions are
		// those the store holds higher versions of, whoever asks.
		o.Current = c.currentCode
	}
	es, err := c.tier.Prune(c.ctx, o)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(c.out, n)
	}
	if o.Dead && !c.knowsCode {
		fmt.Fprintln(c.out, "prune -dead: no function of these entries has generated wrappers in the module here, so no entry is known to be of other code: run it in the module of the cached functions to remove those too")
	}
	verb := "removed"
	if o.DryRun {
		verb = "would remove"
	}
	for _, e := range es {
		what := cmp.Or(logline.Clean(e.Func), "(corrupt)")
		if m := deadMark(e); m != "" {
			what += fmt.Sprintf(" version %d %s", e.Version, m)
		}
		fmt.Fprintf(c.out, "%s %s %s %s, last used %s\n", verb, e.Key, what, units.FormatSize(e.Size), e.LastUsed.Local().Format(time.RFC3339))
	}
	c.removed(es, verb)
	return nil
}

// parseAge parses a flag's duration, also in days: 36h, 90m, 7d.
func parseAge(flagName, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := units.ParseAge(s)
	if err != nil {
		return 0, usagef("prune: %s %v", flagName, err)
	}
	return d, nil
}
