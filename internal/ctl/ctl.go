// Package ctl is the code of the cachectl commands: cmd/cachectl, which
// links Redis as its only remote store, and cmd/cachectl-s3, which links
// them all. Run takes the command line and returns the exit code: 0, 1
// when an action failed, 2 for bad input.
package ctl

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/units"

	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// usageError is bad input: the command exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = "usage: cachectl [-dir DIR | -remote URL] [-json] ls|show|why|stats|rm|clear|prune|verify [args]; cachectl -h for help"

// command is one of cachectl's commands, for help.
type command struct{ name, args, summary string }

var commands = []command{
	{"ls", "[-func PATTERN] [-sort time|size|duration|func]", "list entries, newest first; dead (old versions, other code) and stale entries are marked"},
	{"show", "KEY", "one entry's metadata, params, file inputs and stored result"},
	{"why", "FUNC|KEY", "why the latest entry of a function (or the entry of a key) was computed: what kept the entries before it from serving it"},
	{"stats", "[-totals] [-recount]", "totals, dead entries, and per function entries, size on disk and stored compute time"},
	{"rm", "KEY...", "remove entries"},
	{"clear", "[-func PATTERN]", "remove every entry, or those of matching functions"},
	{"prune", "[-max-size SIZE] [-older-than D] [-unused-for D] [-old-versions] [-dead] [-dry-run]", "remove entries, least recently used first"},
	{"verify", "[-fix]", "check every entry as a load does (a local directory only)"},
}

// runners are the commands' code.
var runners = map[string]func(*ctl, []string) error{
	"ls": (*ctl).ls, "show": (*ctl).show, "why": (*ctl).why, "stats": (*ctl).stats, "rm": (*ctl).rm,
	"clear": (*ctl).clear, "prune": (*ctl).prune, "verify": (*ctl).verify,
}

// errHelp is returned once help was printed: the command exits 0.
var errHelp = errors.New("help printed")

// printHelp writes the usage of cachectl, its global flags fs and its
// commands.
func printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `cachectl shows and manages what cachegen has cached.

usage: cachectl [-dir DIR | -remote URL] [-json] COMMAND [flags] [args]

commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %s %s\n        %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprint(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprint(w, `
DIR defaults to the directory the wrappers use: CACHEGEN_DIR, else the user
cache directory's cachegen folder. "cachectl COMMAND -h" describes a
command and its flags. Bad input exits 2, a failure to act 1.
`)
}

// ctl is one invocation.
type ctl struct {
	ctx   context.Context // ends on an interrupt
	tier  tier
	cache *cacheruntime.Cache // the local tier; nil with -remote
	json  bool
	out   io.Writer
	// unprefixed is set for a Redis remote whose key prefix is empty: its
	// entries share the database with other keys, and clear and prune
	// need -force.
	unprefixed bool
}

// tier is what the commands act on: a local cache directory, or a remote
// store.
type tier interface {
	List(context.Context) ([]cacheruntime.Entry, error)
	Remove(ctx context.Context, key string) (bool, error)
	Clear(context.Context) error
	Prune(context.Context, cacheruntime.PruneOptions) ([]cacheruntime.Entry, error)
	DescribeResult(ctx context.Context, key string) (string, error)
	String() string // where it is, for stats
}

// localTier is a cache directory; a *cacheruntime.Remote is a tier as it
// is.
type localTier struct{ *cacheruntime.Cache }

func (l localTier) String() string { return l.Dir() }

// Run runs the cachectl command line args, printing to stdout and stderr,
// and returns its exit code. The remote stores -remote can open are those
// the program links.
func Run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "cachectl: %s\n", cutLong(ue.msg))
		return 2
	default:
		fmt.Fprintf(stderr, "cachectl: %s\n", cutLong(err.Error()))
		return 1
	}
}

// cutLong cuts each run of more than 80 characters without a space in msg
// to its first 64, so that an argument of any length is not echoed whole.
func cutLong(msg string) string {
	var b strings.Builder
	for i, word := range strings.Split(msg, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		if len(word) > 80 {
			word = fmt.Sprintf("%s…(%d bytes)", strings.ToValidUTF8(word[:64], ""), len(word))
		}
		b.WriteString(word)
	}
	return b.String()
}

// printsJSON are the commands that print JSON with -json.
var printsJSON = map[string]bool{"ls": true, "show": true, "why": true, "stats": true}

// flags returns a subcommand's flag set, whose errors become usage
// errors and whose -h prints its help; -json is accepted after the
// commands that print JSON too.
func (c *ctl) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if printsJSON[name] {
		fs.BoolVar(&c.json, "json", c.json, "print JSON")
	}
	fs.Usage = func() {} // parse prints help on -h only, to c's output
	return fs
}

// commandHelp writes the usage of the command fs parses, with its flags.
func commandHelp(w io.Writer, fs *flag.FlagSet) {
	for _, cmd := range commands {
		if cmd.name == fs.Name() {
			fmt.Fprintf(w, "usage: cachectl [-dir DIR | -remote URL] %s %s\n\n%s.\n\nflags:\n", cmd.name, cmd.args, cmd.summary)
		}
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func (c *ctl) parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		commandHelp(c.out, fs)
		return errHelp
	case err != nil:
		return usagef("%s: %v (cachectl %s -h lists its flags)", fs.Name(), err, fs.Name())
	}
	return nil
}

func dispatch(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cachectl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "cache directory")
	remote := fs.String("remote", "", "remote store URL (redis://, file://…; s3:// with cachectl-s3)")
	asJSON := fs.Bool("json", false, "print JSON")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) || err == nil && fs.Arg(0) == "help" && fs.NArg() == 1 {
		printHelp(out, fs)
		return errHelp
	}
	if err == nil && fs.Arg(0) == "help" {
		// cachectl help COMMAND is cachectl COMMAND -h.
		if _, ok := runners[fs.Arg(1)]; !ok || fs.NArg() > 2 {
			return usagef("help takes one command, of %s", strings.Join(slices.Sorted(maps.Keys(runners)), ", "))
		}
		return runners[fs.Arg(1)](&ctl{ctx: context.Background(), out: out}, []string{"-h"})
	}
	if err != nil {
		return usagef("%v (%s)", err, usage)
	}
	if fs.NArg() == 0 {
		return usagef("no command (%s)", usage)
	}
	name := fs.Arg(0)
	cmd, ok := runners[name]
	if !ok {
		return usagef("unknown command %q (%s)", name, usage)
	}
	if *asJSON && !printsJSON[name] {
		return usagef("-json: %s prints no JSON; ls, show and stats do", name)
	}
	if rest := fs.Args()[1:]; slices.ContainsFunc(rest, isHelpFlag) {
		// Help needs no cache: give it before opening one.
		return cmd(&ctl{ctx: context.Background(), out: out}, []string{"-h"})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *remote != "" {
		if *dir != "" {
			return usagef("-dir and -remote name two caches: give one")
		}
		if name == "verify" {
			return usagef("verify checks a local directory; on a remote, ls lists only intact entries and prune removes failing ones first")
		}
		u, err := url.Parse(*remote)
		if err == nil && u.Scheme == "file" {
			// A shared directory is checked as -dir is, before the store
			// would make it.
			if err := cachedir.Check(u.Path); err != nil {
				return usagef("-remote: %v", err)
			}
		}
		unprefixed := err == nil && (u.Scheme == "redis" || u.Scheme == "rediss") && u.Query().Has("prefix") && u.Query().Get("prefix") == ""
		r, err := cacheruntime.OpenRemote(ctx, *remote, cacheruntime.RemoteOptions{})
		if errors.Is(err, cacheruntime.ErrNoStore) {
			return usagef("-remote: this program links no store for %s:// URLs (cachectl links redis:// and file:// only, and no cloud SDK): for s3:// or mem://, run cachectl-s3, the same command with every store linked (go run github.com/cachegen/cachegen/cmd/cachectl-s3 -remote URL %s)",
				u.Scheme, strings.Join(fs.Args(), " "))
		}
		if err != nil {
			return usagef("-remote: %v", err)
		}
		defer r.Close()
		if err := r.Reach(ctx); err != nil {
			return usagef("-remote: %v", err)
		}
		return cmd(&ctl{ctx: ctx, tier: r, json: *asJSON, out: out, unprefixed: unprefixed}, fs.Args()[1:])
	}
	if *dir == "" {
		d, err := cacheruntime.DefaultDir()
		if err != nil {
			return usagef("%v", err)
		}
		*dir = d
	}
	if err := cachedir.Check(*dir); err != nil {
		return usagef("%v", err)
	}
	c, err := cacheruntime.Open(*dir)
	if err != nil {
		return err
	}
	return cmd(&ctl{ctx: ctx, tier: localTier{c}, cache: c, json: *asJSON, out: out}, fs.Args()[1:])
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "--h" }

// matcher returns a test of function names for a -func pattern.
func matcher(pattern string) (func(string) bool, error) {
	if pattern == "" {
		return func(string) bool { return true }, nil
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return func(s string) bool { return strings.Contains(s, pattern) }, nil
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, usagef("bad -func pattern %q: %v", pattern, err)
	}
	return func(s string) bool {
		full, _ := path.Match(pattern, s)
		short, _ := path.Match(pattern, s[strings.LastIndex(s, "/")+1:])
		return full || short
	}, nil
}

func (c *ctl) entries(pattern string) ([]cacheruntime.Entry, error) {
	match, err := matcher(pattern)
	if err != nil {
		return nil, err
	}
	all, err := c.tier.List(c.ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(e cacheruntime.Entry) bool { return !match(e.Func) }), nil
}

// jsonEntry is how -json prints an entry.
type jsonEntry struct {
	Key        string          `json:"key"`
	Func       string          `json:"func"`
	Version    int             `json:"version"`
	ComputedAt time.Time       `json:"computed_at"`
	DurationS  float64         `json:"duration_s"`
	Size       int64           `json:"size"`
	LastUsed   time.Time       `json:"last_used"`
	TTLS       float64         `json:"ttl_s,omitempty"`
	Stale      bool            `json:"stale"`
	Code       string          `json:"code,omitempty"`
	OldVersion bool            `json:"old_version"`
	OtherCode  bool            `json:"other_code"` // computed by code the latest entries of its version do not accept
	Params     json.RawMessage `json:"params"`
	Inputs     []jsonInput     `json:"inputs,omitempty"`
	Result     string          `json:"result,omitempty"` // show only: the stored result, for people
}

// jsonInput is how -json prints a file input.
type jsonInput struct {
	Path   string `json:"path"`
	Dir    bool   `json:"dir,omitempty"`
	Files  int    `json:"files,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func toJSON(e cacheruntime.Entry) jsonEntry {
	params := json.RawMessage(e.Params)
	if !json.Valid(params) {
		// Python's JSON may hold NaN or Infinity: give it as a string.
		params, _ = json.Marshal(string(e.Params))
	}
	j := jsonEntry{Key: e.Key, Func: e.Func, Version: e.Version, ComputedAt: e.ComputedAt, DurationS: e.Duration.Seconds(),
		Size: e.Size, LastUsed: e.LastUsed, TTLS: e.TTL.Seconds(), Stale: e.Stale, Code: e.Code, OldVersion: e.OldVersion, OtherCode: e.OtherCode, Params: params}
	for _, in := range e.Inputs {
		j.Inputs = append(j.Inputs, jsonInput(in))
	}
	return j
}

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
		version := strconv.Itoa(e.Version)
		switch {
		case e.OldVersion:
			version += " (old)"
		case e.OtherCode:
			version += " (other code)"
		}
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

// quoteCut quotes s cut to 64 bytes, for a message about a bad argument.
func quoteCut(s string) string {
	if len(s) <= 64 {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:64]) + fmt.Sprintf("… (%d bytes)", len(s))
}

func checkKey(k string) error {
	if !entry.ValidKey(k) {
		return usagef("malformed key %s: a key is 16 lowercase hex digits, as cachectl ls shows", quoteCut(k))
	}
	return nil
}

func (c *ctl) find(key string) (cacheruntime.Entry, error) {
	es, err := c.tier.List(c.ctx)
	if err != nil {
		return cacheruntime.Entry{}, err
	}
	for _, e := range es {
		if e.Key == key {
			return e, nil
		}
	}
	return cacheruntime.Entry{}, fmt.Errorf("no entry with key %s", key)
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
	result, err := c.tier.DescribeResult(c.ctx, key)
	if err != nil {
		result = fmt.Sprintf("(cannot be read: %v)", err)
	}
	if c.json {
		j := toJSON(e)
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
		version += " (an old version: a higher one is cached; prune -old-versions removes it)"
	case e.OtherCode:
		version += " (dead: computed by other code than the latest entries of this version, which do not accept it; prune -dead removes it)"
	}
	fmt.Fprintf(c.out, "key:       %s\nfunc:      %s\nversion:   %s\ncode:      %s\ncomputed:  %s\ntook:      %s\nsize:      %s (%d bytes)\nlast used: %s\nttl:       %s\nparams:    %s\n",
		e.Key, e.Func, version, code, e.ComputedAt.Local().Format(time.RFC3339), took(e.Duration), units.FormatSize(e.Size), e.Size,
		e.LastUsed.Local().Format(time.RFC3339), ttl, params.String())
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
	if c.cache != nil && (*totalsOnly || *recount) {
		return c.totals(*recount)
	}
	if *totalsOnly || *recount {
		return usagef("-totals and -recount read the records of a local cache directory; a remote store is listed whole")
	}
	es, err := c.tier.List(c.ctx)
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
		fmt.Fprintf(c.out, "old versions: %s, %s (cachectl prune -old-versions removes them)\n", plural(oldEntries, "entry", "entries"), units.FormatSize(oldBytes))
	}
	if otherEntries > 0 {
		fmt.Fprintf(c.out, "other code:   %s, %s, never served to the latest code (cachectl prune -dead removes them, and the old versions)\n", plural(otherEntries, "entry", "entries"), units.FormatSize(otherBytes))
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
	u, err := c.cache.Usage()
	if recount {
		u, err = c.cache.Recount(c.ctx)
	}
	if err != nil {
		return err
	}
	if c.json {
		return json.NewEncoder(c.out).Encode(map[string]any{"dir": c.cache.Dir(), "entries": u.Entries, "bytes": u.Bytes})
	}
	_, err = fmt.Fprintf(c.out, "dir:     %s\nentries: %d\nsize:    %s\n", c.cache.Dir(), u.Entries, units.FormatSize(u.Bytes))
	return err
}

// where names the kind of cache acted on.
func (c *ctl) where() string {
	if c.cache == nil {
		return "remote"
	}
	return "dir"
}

func (c *ctl) removed(es []cacheruntime.Entry, verb string) {
	var n int64
	for _, e := range es {
		n += e.Size
	}
	fmt.Fprintf(c.out, "%s %s (%s)\n", verb, plural(len(es), "entry", "entries"), units.FormatSize(n))
}

// plural spells n things: 1 entry, 2 entries.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

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
	var gone []cacheruntime.Entry
	var missing []string
	for _, k := range args {
		e, err := c.find(k)
		if err != nil {
			missing = append(missing, k)
			continue
		}
		if _, err := c.tier.Remove(c.ctx, k); err != nil {
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

// checkPrefix refuses to clear or prune a Redis database whose entries
// have no prefix of their own, unless forced.
func (c *ctl) checkPrefix(command string, force bool) error {
	if c.unprefixed && !force {
		return usagef("%s: the remote's prefix is empty, so its entries share the database with every other key: give the cache a prefix, or pass -force to %s it anyway (only keys named like cache entries are removed)", command, command)
	}
	return nil
}

func (c *ctl) clear(args []string) error {
	fs := c.flags("clear")
	pattern := fs.String("func", "", "only entries of functions matching this pattern")
	force := fs.Bool("force", false, "clear a Redis remote whose prefix is empty")
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

// why explains the latest entry of a function, or the entry of a key.
func (c *ctl) why(args []string) error {
	fs := c.flags("why")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("why: want one FUNC pattern or KEY")
	}
	if c.cache == nil {
		return usagef("why reads a local cache directory; it cannot explain a remote store's entries")
	}
	target := fs.Arg(0)
	var e cacheruntime.Entry
	var err error
	if entry.ValidKey(target) {
		e, err = c.find(target)
	} else {
		e, err = c.latestOf(target)
	}
	if err != nil {
		return err
	}
	reason, err := c.cache.Why(c.ctx, e.Key)
	if err != nil {
		return err
	}
	if c.json {
		return json.NewEncoder(c.out).Encode(map[string]any{"key": e.Key, "func": e.Func, "version": e.Version, "code": e.Code, "computed_at": e.ComputedAt, "why": reason})
	}
	fmt.Fprintf(c.out, "key:       %s\nfunc:      %s\nversion:   %d\ncode:      %s\ncomputed:  %s\nparams:    %s\nwhy:       %s\n",
		e.Key, e.Func, e.Version, cmp.Or(e.Code, "not recorded"), e.ComputedAt.Local().Format(time.RFC3339), e.Args, reason)
	return nil
}

// latestOf returns the latest entry of the one function pattern matches.
func (c *ctl) latestOf(pattern string) (cacheruntime.Entry, error) {
	es, err := c.entries(pattern)
	if err != nil {
		return cacheruntime.Entry{}, err
	}
	if len(es) == 0 {
		return cacheruntime.Entry{}, usagef("why: no entry of a function matching %q", pattern)
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
		return cacheruntime.Entry{}, usagef("why: %q matches %d functions (%s): name one", pattern, len(funcs), strings.Join(funcs, ", "))
	}
	return latest, nil
}

func (c *ctl) prune(args []string) error {
	fs := c.flags("prune")
	maxSize := fs.String("max-size", "", "remove least recently used entries until the cache is at most this size (500MB, 10GiB)")
	olderThan := fs.String("older-than", "", "remove entries computed longer ago than this")
	unusedFor := fs.String("unused-for", "", "remove entries not used for this long")
	oldVersions := fs.Bool("old-versions", false, "remove the entries of functions that have entries of a higher version")
	dead := fs.Bool("dead", false, "remove the entries no call of the latest code is served: those of old versions, and those of other code under a version (ls marks both)")
	dryRun := fs.Bool("dry-run", false, "say what would be removed, and remove nothing")
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
	var o cacheruntime.PruneOptions
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
	es, err := c.tier.Prune(c.ctx, o)
	if err != nil {
		return err
	}
	verb := "removed"
	if o.DryRun {
		verb = "would remove"
	}
	for _, e := range es {
		what := cmp.Or(e.Func, "(corrupt)")
		switch {
		case e.OldVersion:
			what += fmt.Sprintf(" version %d (old)", e.Version)
		case e.OtherCode:
			what += fmt.Sprintf(" version %d (other code)", e.Version)
		}
		fmt.Fprintf(c.out, "%s %s %s %s, last used %s\n", verb, e.Key, what, units.FormatSize(e.Size), e.LastUsed.Local().Format(time.RFC3339))
	}
	c.removed(es, verb)
	return nil
}

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
		fmt.Fprintf(c.out, "%s: %v\n", p.Path, p.Err)
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
