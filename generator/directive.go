package generator

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cachegen/cachegen/internal/units"
)

// directivePrefix starts every cachegen directive.
const directivePrefix = "//cache:"

// isDirective reports whether a comment line is a cachegen directive:
// //cache: followed at once by a field.
func isDirective(text string) bool {
	rest, ok := strings.CutPrefix(text, directivePrefix)
	return ok && rest != "" && rest[0] != ' ' && rest[0] != '\t'
}

// nearDirective matches a comment meant as a directive but not written as
// one, which would be silently ignored: "// cache:version=1",
// "//cache: version=1", "//Cache:Version=1".
var nearDirective = regexp.MustCompile(`(?i)^//\s*cache\s*:\s*(version|ignore|with|files|ttl)\s*=\s*`)

// nearDecl matches a comment meant as //cache:key, //cache:store or
// //cache:load but not written as one.
var nearDecl = regexp.MustCompile(`(?i)^//\s*cache\s*:\s*(key|store|load)\s*$`)

// nearMiss returns the directive a comment line that is a near miss of
// one means, and whether it is one.
func nearMiss(text string) (string, bool) {
	if m := nearDecl.FindStringSubmatch(text); m != nil {
		if _, ok := declKind(text); !ok {
			return directivePrefix + strings.ToLower(m[1]), true
		}
		return "", false
	}
	m := nearDirective.FindStringSubmatchIndex(text)
	if m == nil || isDirective(text) {
		return "", false
	}
	return directivePrefix + strings.ToLower(text[m[2]:m[3]]) + "=" + text[m[1]:], true
}

// parseDirective parses
// "//cache:version=N [ignore=a,b] [with=X,Y] [files=p,q] [ttl=D] [mmap]".
func parseDirective(text string) (directive, error) {
	var d directive
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	fields := strings.Fields(strings.TrimPrefix(text, directivePrefix))
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "version=") {
		fail("directive %q must start with version=N, as in //cache:version=1", text)
	}
	// Every field is read, whatever the others: each mistake is reported
	// in one run, and the function is checked all the same.
	seen := map[string]bool{}
	for _, f := range fields {
		if f == "mmap" {
			if seen[f] {
				fail("directive field %s appears twice", f)
			}
			seen[f], d.Map = true, true
			continue
		}
		name, value, ok := strings.Cut(f, "=")
		if !ok || value == "" {
			fail("directive field %q is not name=value", f)
			continue
		}
		if seen[name] {
			fail("directive field %s appears twice: keep one", name)
			if name != "ignore" && name != "with" && name != "files" {
				continue
			}
			// Lists are taken whole all the same, so that a parameter
			// named in either is not refused as if named in neither.
		}
		seen[name] = true
		switch name {
		case "version":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 || strings.HasPrefix(value, "+") {
				fail("version %q is not a non-negative integer", value)
				continue
			}
			d.Version = n
		case "ignore":
			d.Ignore = append(d.Ignore, strings.Split(value, ",")...)
		case "with":
			d.With = append(d.With, strings.Split(value, ",")...)
		case "files":
			d.Files = append(d.Files, strings.Split(value, ",")...)
		case "ttl":
			ttl, err := units.ParseAge(value)
			if err != nil {
				fail("ttl %w", err)
				continue
			}
			d.TTL = ttl
		default:
			fail("unknown directive field %q: want version, ignore, with, files, ttl or mmap", name)
		}
	}
	for _, list := range []*[]string{&d.Ignore, &d.With, &d.Files} {
		if slices.Contains(*list, "") {
			fail("empty name in a comma-separated list of %q", text)
			*list = slices.DeleteFunc(*list, func(n string) bool { return n == "" })
		}
	}
	return d, errors.Join(errs...)
}
