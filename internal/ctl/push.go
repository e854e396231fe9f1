package ctl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/units"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// push copies the entries of the local directory dir (default: the
// default cache's) that the remote rawURL (default: CACHEGEN_REMOTE) lacks
// there. It is the one command that acts on both tiers.
func push(ctx context.Context, dir, rawURL string, signKey []byte, out io.Writer, args []string) error {
	c := &ctl{ctx: ctx}
	c.out = safeOut{out, &c.json}
	if err := c.parse(c.flags("push"), args); err != nil {
		return err
	}
	if len(args) > 0 {
		return usagef("push: unexpected argument %q", args[0])
	}
	if rawURL == "" {
		rawURL = os.Getenv("CACHEGEN_REMOTE")
	}
	if rawURL == "" {
		return usagef("push: no remote to push to: give -remote URL, or set CACHEGEN_REMOTE")
	}
	if dir == "" {
		d, err := cacheruntime.DefaultDir()
		if err != nil {
			return usagef("%v", err)
		}
		dir = d
	}
	if err := cachedir.Check(dir); err != nil {
		return usagef("%v", err)
	}
	r, _, err := openRemote(ctx, rawURL, append([]string{"push"}, args...))
	if err != nil {
		return err
	}
	defer r.Close()
	r.SetLogger(slog.New(slog.DiscardHandler)) // push's errors say what the tier would log
	t, err := maintain.Open(dir, maintain.Options{SigningKey: signKey})
	if err != nil {
		return err
	}
	rep, err := t.Push(ctx, r)
	if err != nil {
		return fmt.Errorf("push to %s: %w", r, err)
	}
	fmt.Fprintf(c.out, "pushed %s (%s) to %s; %d there already", units.Count(rep.Pushed, "entry", "entries"), units.FormatSize(rep.Bytes), r, rep.There)
	if rep.Skipped > 0 {
		fmt.Fprintf(c.out, "; %d skipped (they fail their checks here: cachectl verify)", rep.Skipped)
	}
	fmt.Fprintln(c.out)
	return nil
}
