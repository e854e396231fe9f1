package ctl

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
)

// why explains the latest entry of a function, or the entry of a key.
func (c *ctl) why(args []string) error {
	fs := c.flags("why")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("why: want one FUNC pattern or KEY")
	}
	if !c.tier.IsDir() {
		return usagef("why reads a local cache directory; it cannot explain a remote store's entries")
	}
	target := fs.Arg(0)
	var e maintain.Entry
	var err error
	if isKeyPrefix(target) {
		e, err = c.find(target)
		if errors.Is(err, errNoEntry) && !entry.ValidKey(target) {
			e, err = c.latestOf(target) // hex, but a function's name after all
		}
	} else {
		e, err = c.latestOf(target)
	}
	if err != nil {
		return err
	}
	reason, err := c.tier.Why(c.ctx, e.Key)
	if err != nil {
		return err
	}
	if c.json {
		return json.NewEncoder(c.out).Encode(map[string]any{"key": e.Key, "func": e.Func, "version": e.Version, "code": e.Code, "computed_at": e.ComputedAt, "why": reason})
	}
	fmt.Fprintf(c.out, "key:       %s\nfunc:      %s\nversion:   %d\ncode:      %s\ncomputed:  %s\nparams:    %s\nwhy:       %s\n",
		e.Key, e.Func, e.Version, cmp.Or(e.Code, "not recorded"), e.ComputedAt.Local().Format(time.RFC3339), e.Args, logline.Clean(reason))
	return nil
}

// latestOf returns the latest entry of the one function pattern matches.
func (c *ctl) latestOf(pattern string) (maintain.Entry, error) {
	es, err := c.entries(pattern)
	if err != nil {
		return maintain.Entry{}, err
	}
	if len(es) == 0 {
		return maintain.Entry{}, usagef("why: no entry of a function matching %q", pattern)
	}
	var funcs []string
	latest := es[0]
	for _, e := range es {
		if !slices.Contains(funcs, e.Func) {
			funcs = append(funcs, e.Func)
		}
		if e.ComputedAt.After(latest.ComputedAt) {
			latest = e
		}
	}
	if len(funcs) > 1 {
		slices.Sort(funcs)
		return maintain.Entry{}, usagef("why: %q matches %d functions (%s): name one", pattern, len(funcs), strings.Join(funcs, ", "))
	}
	return latest, nil
}
