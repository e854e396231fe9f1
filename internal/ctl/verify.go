package ctl

import (
	"fmt"

	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/units"
)

func (c *ctl) verify(args []string) error {
	fs := c.flags("verify")
	fix := fs.Bool("fix", false, "remove bad entries and leftover temporary files")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("verify: unexpected argument %q", fs.Arg(0))
	}
	rep, err := c.tier.Verify(c.ctx, *fix)
	if err != nil {
		return err
	}
	problems := rep.Problems
	for _, p := range problems {
		fmt.Fprintf(c.out, "%s: %s\n", logline.Clean(p.Path), logline.Clean(p.Err.Error()))
	}
	switch {
	case len(problems) == 0:
		fmt.Fprintf(c.out, "checked %s: all intact\n", units.Count(rep.Checked, "entry", "entries"))
	case *fix:
		fmt.Fprintf(c.out, "checked %s: removed %s\n", units.Count(rep.Checked, "entry", "entries"), units.Count(len(problems), "bad file", "bad files"))
	default:
		fmt.Fprintf(c.out, "checked %s\n", units.Count(rep.Checked, "entry", "entries"))
		return fmt.Errorf("%s: run cachectl verify -fix to remove them", units.Count(len(problems), "bad file", "bad files"))
	}
	return nil
}
