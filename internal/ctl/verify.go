package ctl

import (
	"fmt"

	"github.com/cachegen/cachegen/internal/logline"
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
	rep, err := c.cache.Verify(c.ctx, *fix)
	if err != nil {
		return err
	}
	problems := rep.Problems
	for _, p := range problems {
		fmt.Fprintf(c.out, "%s: %s\n", logline.Clean(p.Path), logline.Clean(p.Err.Error()))
	}
	switch {
	case len(problems) == 0:
		fmt.Fprintf(c.out, "checked %s: all intact\n", plural(rep.Checked, "entry", "entries"))
	case *fix:
		fmt.Fprintf(c.out, "checked %s: removed %s\n", plural(rep.Checked, "entry", "entries"), plural(len(problems), "bad file", "bad files"))
	default:
		fmt.Fprintf(c.out, "checked %s\n", plural(rep.Checked, "entry", "entries"))
		return fmt.Errorf("%s: run cachectl verify -fix to remove them", plural(len(problems), "bad file", "bad files"))
	}
	return nil
}
