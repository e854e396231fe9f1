package ctl

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/units"
)

// find returns the entry whose key is key, or the only one whose key
// starts with it.
func (c *ctl) find(key string) (maintain.Entry, error) {
	es, err := c.list()
	if err != nil {
		return maintain.Entry{}, err
	}
	return resolve(es, key)
}

func (c *ctl) show(args []string) error {
	fs := c.flags("show")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("show takes one KEY")
	}
	key := fs.Arg(0)
	if err := checkKey(key); err != nil {
		return err
	}
	e, err := c.find(key)
	if err != nil {
		return err
	}
	result, err := c.tier.Describe(c.ctx, e.Key)
	if err != nil {
		result = fmt.Sprintf("(cannot be read: %s)", logline.Clean(err.Error()))
	}
	if c.json {
		j := toJSON(e, c.signKey != nil)
		j.Result = result
		b, err := json.MarshalIndent(j, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.out, "%s\n", b)
		return err
	}
	var params bytes.Buffer
	if json.Indent(&params, e.Params, "  ", "  ") != nil {
		params.Reset()
		params.Write(e.Params)
	}
	ttl := "none"
	if e.TTL > 0 {
		ttl = e.TTL.String()
		if e.Stale {
			ttl += " (stale)"
		}
	}
	code := cmp.Or(e.Code, "not recorded")
	version := strconv.Itoa(e.Version)
	switch {
	case e.OldVersion:
		version += " (an old version: a higher one is current or cached; prune -old-versions removes it)"
	case e.OtherCode:
		version += " (dead: computed by other code than the module here runs, which does not accept it; prune -dead removes it)"
	}
	fmt.Fprintf(c.out, "key:       %s\nfunc:      %s\nversion:   %s\ncode:      %s\ncomputed:  %s\ntook:      %s\nsize:      %s (%d bytes)\nlast used: %s\nttl:       %s\nparams:    %s\n",
		e.Key, e.Func, version, code, e.ComputedAt.Local().Format(time.RFC3339), took(e.Duration), units.FormatSize(e.Size), e.Size,
		e.LastUsed.Local().Format(time.RFC3339), ttl, params.String())
	if c.signKey != nil {
		sig := "verified with the signing key (key id " + entry.KeyID(c.signKey) + ")"
		if e.BadSignature {
			sig = "BAD: the signing key (key id " + entry.KeyID(c.signKey) + ") does not verify it: unsigned, signed with another key, or changed; no cache with this key serves it"
		}
		fmt.Fprintf(c.out, "signature: %s\n", sig)
	}
	for i, in := range e.Inputs {
		label := "inputs:   "
		if i > 0 {
			label = "          "
		}
		fmt.Fprintf(c.out, "%s %s\n", label, in)
	}
	fmt.Fprintf(c.out, "result:    %s\n", strings.ReplaceAll(result, "\n", "\n           "))
	return nil
}
