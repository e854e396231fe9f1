package ctl

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/units"
)

func (c *ctl) rm(args []string) error {
	fs := c.flags("rm")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		return usagef("rm takes one or more KEYs")
	}
	for _, k := range args {
		if err := checkKey(k); err != nil {
			return err
		}
	}
	es, err := c.list()
	if err != nil {
		return err
	}
	// Each key resolved before any is removed: an ambiguous one removes
	// nothing.
	var targets []maintain.Entry
	var missing []string
	for _, k := range args {
		e, err := resolve(es, k)
		switch {
		case err == nil:
			if !slices.ContainsFunc(targets, func(t maintain.Entry) bool { return t.Key == e.Key }) {
				targets = append(targets, e) // an entry named twice is removed once
			}
		case errors.Is(err, errNoEntry):
			missing = append(missing, k)
		default:
			return err
		}
	}
	var gone []maintain.Entry
	for _, e := range targets {
		if _, err := c.tier.Remove(c.ctx, e.Key); err != nil {
			return err
		}
		gone = append(gone, e)
	}
	c.removed(gone, "removed")
	if len(missing) > 0 {
		return fmt.Errorf("no entry with key %s", strings.Join(missing, ", "))
	}
	return nil
}

func (c *ctl) removed(es []maintain.Entry, verb string) {
	var n int64
	for _, e := range es {
		n += e.Size
	}
	fmt.Fprintf(c.out, "%s %s (%s)\n", verb, units.Count(len(es), "entry", "entries"), units.FormatSize(n))
}
