// Package ctl is the code of the cachectl commands: cmd/cachectl, which
// links Redis as its only remote store, and cmd/cachectl-s3, which links
// them all. Run takes the command line and returns the exit code: 0, 1
// when an action failed, 2 for bad input.
package ctl

import (
	"context"
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
	"strings"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/cachedir"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// usageError is bad input: the command exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = "usage: cachectl [-dir DIR | -remote URL] [-json] ls|show|why|stats|rm|clear|prune|verify|push [args]; cachectl -h for help"

// command is one of cachectl's commands, for help.
type command struct{ name, args, summary string }

var commands = []command{
	{"ls", "[-func PATTERN] [-sort time|size|duration|func] [-wide]", "list entries, newest first; dead entries (old versions, and other code than the module here runs) and stale ones are marked; long parameters are cut one by one to the terminal's width ($COLUMNS), or printed whole with -wide"},
	{"show", "KEY", "one entry's metadata, params, file inputs and stored result"},
	{"why", "FUNC|KEY", "why the latest entry of a function (or the entry of a key) was computed: what kept the entries before it from serving it"},
	{"stats", "[-totals] [-recount]", "totals, dead entries, and per function entries, size on disk and stored compute time"},
	{"rm", "KEY...", "remove entries"},
	{"clear", "[-func PATTERN] [-yes]", "remove every entry, or those of matching functions (on a shared store, with -yes; without it, say what would go)"},
	{"prune", "[-max-size SIZE] [-older-than D] [-unused-for D] [-old-versions] [-dead] [-func PATTERN] [-dry-run] [-yes]", "remove entries, least recently used first (on a shared store, -old-versions and -dead with -yes; without it, say what would go)"},
	{"verify", "[-fix]", "check every entry as a load does (a local directory only)"},
	{"push", "", "copy to the remote (-remote, else CACHEGEN_REMOTE) every entry of the local directory (-dir, else the default) it lacks, replacing none: results computed while it was down"},
}

// runners are the commands' code.
var runners = map[string]func(*ctl, []string) error{
	"ls": (*ctl).ls, "show": (*ctl).show, "why": (*ctl).why, "stats": (*ctl).stats, "rm": (*ctl).rm,
	"clear": (*ctl).clear, "prune": (*ctl).prune, "verify": (*ctl).verify,
	"push": func(c *ctl, args []string) error { return c.parse(c.flags("push"), args) }, // help only: see push
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
	ctx     context.Context // ends on an interrupt
	tier    *maintain.Tier  // a cache directory, or a shared store with -remote
	shared  *remote.Tier    // the remote tier; nil without -remote
	signKey []byte          // the key entries' signatures are checked with, or nil
	json    bool
	out     io.Writer
	// unprefixed is set for a Redis remote whose key prefix is empty: its
	// entries share the database with other keys, and clear and prune
	// need -force.
	unprefixed bool
	// code holds the generated records of the packages of codeRead, by
	// qualified name; knowsCode is set once currentCode found one.
	code      map[string]fingerprint.Record
	codeRead  map[string]bool
	knowsCode bool
}

// list returns the tier's entries, those of other code than the module
// here runs marked, cleaned for text output (see cleanEntry).
func (c *ctl) list() ([]maintain.Entry, error) {
	es, err := c.tier.List(c.ctx)
	maintain.MarkOtherCode(es, c.currentCode)
	if !c.json {
		for i := range es {
			cleanEntry(&es[i])
		}
	}
	return es, err
}

// currentCode returns the code that the cached function fn, of the module
// that holds the working directory, runs now, as its generated file
// records it: none outside a module, where no entry is known to be of
// other code. The generated files of a package are read once, the first
// time one of its functions is asked about. It notes in c.knowsCode that
// some function's code was found.
func (c *ctl) currentCode(fn string) (maintain.CurrentCode, bool) {
	pkg := fingerprint.PackageOf(fn)
	if c.codeRead == nil {
		c.codeRead, c.code = map[string]bool{}, map[string]fingerprint.Record{}
	}
	if !c.codeRead[pkg] {
		c.codeRead[pkg] = true
		recs, _ := fingerprint.Current(".", []string{fn})
		maps.Copy(c.code, recs)
	}
	r, ok := c.code[fn]
	if !ok {
		return maintain.CurrentCode{}, false
	}
	c.knowsCode = true
	return maintain.CurrentCode{Version: r.Version, Codes: append([]string{r.Sum}, r.Accepted...)}, true
}

// Run runs the cachectl command line args, printing to stdout and stderr,
// and returns its exit code. The remote stores -remote can open are those
// the program links.
func Run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout)
	// What a store or its server said may quote the remote's password,
	// whole or cut short.
	say := func(msg string) string {
		for _, u := range []string{remoteFlag(args), os.Getenv("CACHEGEN_REMOTE")} { // push takes the variable's
			if u != "" {
				msg = remote.Scrub(msg, u)
			}
		}
		return logline.Clean(cutLong(msg))
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "cachectl: %s\n", say(ue.msg))
		return 2
	default:
		fmt.Fprintf(stderr, "cachectl: %s\n", say(err.Error()))
		return 1
	}
}

// remoteFlag returns the -remote URL of a command line, or "".
func remoteFlag(args []string) string {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "remote" {
			if hasValue {
				return value
			}
			if i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return ""
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
	remoteURL := fs.String("remote", "", "remote store URL (redis://, file://…; s3:// with cachectl-s3)")
	asJSON := fs.Bool("json", false, "print JSON")
	keyFile := fs.String("signing-key-file", "", "check entries' signatures with the key this file holds (default: CACHEGEN_SIGNING_KEY, when set); ls and show mark those it does not verify")
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
	signKey, err := signingKey(*keyFile)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if name == "push" {
		return push(ctx, *dir, *remoteURL, signKey, out, fs.Args()[1:])
	}
	if *remoteURL != "" {
		if *dir != "" {
			return usagef("-dir and -remote name two caches: give one")
		}
		if name == "verify" {
			return usagef("verify checks a local directory; on a remote, ls lists only intact entries and prune removes failing ones first")
		}
		r, unprefixed, err := openRemote(ctx, *remoteURL, fs.Args())
		if err != nil {
			return err
		}
		defer r.Close()
		c := &ctl{ctx: ctx, tier: maintain.Shared(r, signKey), shared: r, signKey: signKey, json: *asJSON, unprefixed: unprefixed}
		c.out = safeOut{out, &c.json}
		return cmd(c, fs.Args()[1:])
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
	t, err := maintain.Open(*dir, maintain.Options{SigningKey: signKey})
	if err != nil {
		return err
	}
	cc := &ctl{ctx: ctx, tier: t, signKey: signKey, json: *asJSON}
	cc.out = safeOut{out, &cc.json}
	return cmd(cc, fs.Args()[1:])
}

// openRemote opens the store rawURL names and checks that it answers;
// unprefixed says it is a Redis whose entries have no key prefix of their
// own. args is the command line after the flags, for a message.
func openRemote(ctx context.Context, rawURL string, args []string) (r *remote.Tier, unprefixed bool, err error) {
	u, err := url.Parse(rawURL)
	if err == nil && u.Scheme == "file" {
		// A shared directory is checked as -dir is, before the store
		// would make it.
		if err := cachedir.Check(u.Path); err != nil {
			return nil, false, usagef("-remote: %v", err)
		}
	}
	unprefixed = err == nil && (u.Scheme == "redis" || u.Scheme == "rediss") && u.Query().Has("prefix") && u.Query().Get("prefix") == ""
	r, err = remote.Open(ctx, rawURL, remote.Options{})
	if errors.Is(err, remote.ErrNoStore) {
		return nil, false, usagef("-remote: this program links no store for %s:// URLs (cachectl links redis:// and file:// only, and no cloud SDK): for s3:// or mem://, run cachectl-s3, the same command with every store linked (go run github.com/cachegen/cachegen/cmd/cachectl-s3 -remote URL %s)",
			u.Scheme, strings.Join(args, " "))
	}
	if err != nil {
		return nil, false, usagef("-remote: %v", err)
	}
	if err := r.Reach(ctx); err != nil {
		r.Close()
		return nil, false, usagef("-remote: %v", err)
	}
	return r, unprefixed, nil
}

// signingKey returns the key cachectl checks signatures with: the content
// of file (without the line ends that end it, as $(cat file) has it),
// else CACHEGEN_SIGNING_KEY when set, else nil.
func signingKey(file string) ([]byte, error) {
	var key string
	from := "CACHEGEN_SIGNING_KEY"
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, usagef("-signing-key-file: %v", err)
		}
		key, from = strings.TrimRight(string(b), "\r\n"), "-signing-key-file "+file
	} else if s, ok := os.LookupEnv("CACHEGEN_SIGNING_KEY"); ok && s != "" {
		key = s
	} else {
		return nil, nil
	}
	if len(key) < 16 {
		return nil, usagef("the signing key (from %s) is %d bytes: a key is at least 16", from, len(key))
	}
	return []byte(key), nil
}

// safeOut is the writer of a command's output: with -json (given before
// the command or after it, so read at each write), its JSON with the
// characters a terminal may act on escaped as JSON escapes them; else its
// lines, with those characters spelled (see logline.Clean). Values that
// came from a cache are cleaned one by one too (entries), so that none
// starts a line.
type safeOut struct {
	w    io.Writer
	json *bool
}

func (o safeOut) Write(p []byte) (int, error) {
	if !*o.json {
		return logline.CleanWriter{W: o.w}.Write(p)
	}
	if _, err := o.w.Write(logline.CleanJSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
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

func (c *ctl) entries(pattern string) ([]maintain.Entry, error) {
	match, err := matcher(pattern)
	if err != nil {
		return nil, err
	}
	all, err := c.list()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(e maintain.Entry) bool { return !match(e.Func) }), nil
}

// cleanEntry spells, for text output, what of an entry came from the
// cache (its function's name, params, inputs' paths) as
// logline.Clean does, so that none of it acts on a terminal or starts a
// line of its own.
func cleanEntry(e *maintain.Entry) {
	e.Func = logline.Clean(e.Func)
	e.Params = []byte(logline.Clean(string(e.Params)))
	e.Args = []byte(logline.Clean(string(e.Args)))
	for i := range e.Inputs {
		e.Inputs[i].Path = logline.Clean(e.Inputs[i].Path)
	}
}

// minKeyPrefix is the fewest hex digits of a key that cachectl takes
// for the whole key.
const minKeyPrefix = 4

// isKeyPrefix reports whether k reads as a key or the start of one.
func isKeyPrefix(k string) bool {
	return len(k) >= minKeyPrefix && len(k) <= 16 && entry.ValidKey(k+strings.Repeat("0", 16-len(k)))
}

func checkKey(k string) error {
	if !isKeyPrefix(k) {
		return usagef("malformed key %s: a key is 16 lowercase hex digits, as cachectl ls shows, or its first %d or more", logline.QuoteCut(k), minKeyPrefix)
	}
	return nil
}

// errNoEntry says no entry has a key.
var errNoEntry = errors.New("no entry")

// resolve returns the entry whose key is k or starts with it, as git
// takes a commit by a prefix of its hash: one that starts several
// entries' keys is an error naming them.
func resolve(es []maintain.Entry, k string) (maintain.Entry, error) {
	var found []maintain.Entry
	for _, e := range es {
		if e.Key == k {
			return e, nil
		}
		if strings.HasPrefix(e.Key, k) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return maintain.Entry{}, fmt.Errorf("%w with key %s", errNoEntry, k)
	case 1:
		return found[0], nil
	}
	var names []string
	for i, e := range found {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(found)-5))
			break
		}
		names = append(names, e.Key+" ("+e.Func+")")
	}
	return maintain.Entry{}, fmt.Errorf("key %s is ambiguous: %d entries' keys start with it: %s: give more of its digits", k, len(found), strings.Join(names, ", "))
}
