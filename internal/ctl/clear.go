package ctl

import "fmt"

func (c *ctl) clear(args []string) error {
	fs := c.flags("clear")
	pattern := fs.String("func", "", "only entries of functions matching this pattern")
	force := fs.Bool("force", false, "clear a Redis remote whose prefix is empty")
	yes := fs.Bool("yes", false, "on a shared store (-remote), remove the entries; without it, say what would be removed")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("clear: unexpected argument %q", fs.Arg(0))
	}
	if err := c.checkPrefix("clear", *force); err != nil {
		return err
	}
	es, err := c.entries(*pattern)
	if err != nil {
		return err
	}
	if c.shared != nil && !*yes {
		c.removed(es, "would remove")
		fmt.Fprintf(c.out, "nothing removed: clear on a shared store (%s) says what it would remove; run again with -yes to remove it\n", c.tier.String())
		return nil
	}
	if *pattern == "" {
		err = c.tier.Clear(c.ctx)
	} else {
		for _, e := range es {
			if _, err = c.tier.Remove(c.ctx, e.Key); err != nil {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	c.removed(es, "removed")
	return nil
}

// checkPrefix refuses to clear or prune a Redis database whose entries
// have no prefix of their own, unless forced.
func (c *ctl) checkPrefix(command string, force bool) error {
	if c.unprefixed && !force {
		return usagef("%s: the remote's prefix is empty, so its entries share the database with every other key: give the cache a prefix, or pass -force to %s it anyway (only keys named like cache entries are removed)", command, command)
	}
	return nil
}
