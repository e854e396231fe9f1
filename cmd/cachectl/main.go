// Command cachectl shows and manages what cachegen has cached.
//
// Usage:
//
//	cachectl [-dir DIR | -remote URL] [-json] COMMAND [args]
//
// Commands:
//
//	ls [-func PATTERN] [-sort time|size|duration|func]   list entries; dead ones are marked
//	show KEY                                             one entry's metadata, params, inputs and result
//	why FUNC|KEY                                         why a function's latest entry (or a key's) was computed
//	stats                                                totals, dead entries, per function
//	rm KEY...                                            remove entries
//	clear [-func PATTERN]                                remove every (matching) entry
//	prune [-max-size SIZE] [-older-than D] [-unused-for D] [-old-versions] [-dead] [-dry-run]
//	                                                     remove least recently used entries, or dead ones
//	verify [-fix]                                        check every entry's integrity, and count them
//
// An entry is dead when no call of the current code can be served it: it
// is of an old version, or of other code than the module in the working
// directory runs, as its generated files record it.
//
// cachectl -h, and cachectl COMMAND -h, print help.
//
// With -remote, the commands act on a shared remote store instead, named
// as CACHEGEN_REMOTE names it (redis://host:6379/0, file:///shared/dir);
// verify is for local directories only. cachectl links Redis and no cloud
// SDK, so that an app can add it as a tool without them: for an S3 bucket
// (s3://bucket/prefix) or mem://, run cachectl-s3, the same command with
// every remote store linked.
//
// DIR defaults to the directory cachegen's wrappers use: CACHEGEN_DIR, else
// the user cache directory's cachegen folder. A PATTERN is a shell glob
// matched against the function's qualified name or the part of it after
// the last slash ("montecarlo.Run*"), or, without glob characters, a
// substring of it. ls shows functions without their import path's
// directories (show and -json give the full name), and cuts PARAMS to $COLUMNS (default 120). Bad input exits 2 with one line saying
// what is wrong; a failure to act exits 1.
package main

import (
	"os"

	"github.com/cachegen/cachegen/internal/ctl"
	_ "github.com/cachegen/cachegen/remote/redis" // redis:// for -remote; file:// is built in
)

func main() {
	os.Exit(ctl.Run(os.Args[1:], os.Stdout, os.Stderr))
}
