package ctl

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/units"
)

func (c *ctl) ls(args []string) error {
	fs := c.flags("ls")
	pattern := fs.String("func", "", "only entries of functions matching this pattern")
	sortBy := fs.String("sort", "time", "time, size, duration or func")
	wide := fs.Bool("wide", false, "print every parameter whole, however wide")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("ls: unexpected argument %q", fs.Arg(0))
	}
	orders := map[string]func(a, b maintain.Entry) int{
		"time":     func(a, b maintain.Entry) int { return b.ComputedAt.Compare(a.ComputedAt) },
		"size":     func(a, b maintain.Entry) int { return cmp.Compare(b.Size, a.Size) },
		"duration": func(a, b maintain.Entry) int { return cmp.Compare(b.Duration, a.Duration) },
		"func":     func(a, b maintain.Entry) int { return strings.Compare(a.Func, b.Func) },
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
			if err := enc.Encode(toJSON(e, c.signKey != nil)); err != nil {
				return err
			}
		}
		return nil
	}
	rows := [][]string{{"KEY", "FUNC", "VERSION", "COMPUTED", "TOOK", "SIZE", "PARAMS"}}
	for _, e := range es {
		computed := e.ComputedAt.Local().Format("2006-01-02 15:04:05")
		if e.Stale {
			computed += " (stale)"
		}
		version := strings.TrimSpace(strconv.Itoa(e.Version) + " " + deadMark(e))
		if e.BadSignature {
			version += " (bad signature)"
		}
		rows = append(rows, []string{e.Key, e.Func[strings.LastIndex(e.Func, "/")+1:], version, computed, took(e.Duration), units.FormatSize(e.Size), string(e.Args)})
	}
	// Columns as wide as their widest cell, but the last (the params),
	// cut to what the terminal leaves of its width.
	widths := make([]int, len(rows[0])-1)
	for _, r := range rows {
		for i := range widths {
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	width := terminalWidth()
	for _, r := range rows {
		var b strings.Builder
		for i, w := range widths {
			b.WriteString(r[i])
			b.WriteString(strings.Repeat(" ", w-utf8.RuneCountInString(r[i])+2))
		}
		cell := r[len(r)-1]
		if !*wide {
			cell = fitParams(cell, max(width-utf8.RuneCountInString(b.String()), minParams))
		}
		fmt.Fprintln(c.out, b.String()+cell)
	}
	return nil
}

// fitParams cuts params, the spelling of a call's arguments ({"a": …,
// "n": 3}), to room columns: the longest values first, one by one, to no
// fewer than minValue columns each, so that every parameter stays in
// sight; only what is still too wide then is cut at its end.
func fitParams(params string, room int) string {
	if utf8.RuneCountInString(params) <= room {
		return params
	}
	fields := splitParams(params)
	render := func() string {
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = string(f[0]) + ": " + string(f[1])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if fields != nil {
		for over := utf8.RuneCountInString(render()) - room; over > 0; over = utf8.RuneCountInString(render()) - room {
			longest := -1
			for i, f := range fields {
				if len(f[1]) > minValue && (longest < 0 || len(f[1]) > len(fields[longest][1])) {
					longest = i
				}
			}
			if longest < 0 {
				break
			}
			v := fields[longest][1]
			keep := max(minValue, len(v)-over) - 1
			fields[longest][1] = append(v[:keep:keep], '…')
		}
		params = render()
	}
	if r := []rune(params); len(r) > room {
		params = string(r[:room-1]) + "…"
	}
	return params
}

// splitParams splits the canonical spelling of params, an object whose
// values may hold bare tokens JSON has not (Infinity, NaN), into its
// names and values, as written; nil where it is no such object.
func splitParams(params string) [][2][]rune {
	r := []rune(strings.TrimSpace(params))
	if len(r) < 2 || r[0] != '{' || r[len(r)-1] != '}' {
		return nil
	}
	var fields [][2][]rune
	depth, inString, start := 0, false, 1
	var items [][]rune
	for i := 1; i < len(r)-1; i++ {
		switch c := r[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 0:
			items = append(items, r[start:i])
			start = i + 1
		}
		if depth < 0 {
			return nil
		}
	}
	if inString || depth != 0 {
		return nil
	}
	if rest := r[start : len(r)-1]; len(strings.TrimSpace(string(rest))) > 0 {
		items = append(items, rest)
	}
	for _, item := range items {
		name, value, ok := strings.Cut(strings.TrimSpace(string(item)), ": ")
		if !ok || !strings.HasPrefix(name, `"`) {
			return nil
		}
		fields = append(fields, [2][]rune{[]rune(name), []rune(value)})
	}
	return fields
}

// minValue is the fewest columns ls cuts a parameter's value to.
const minValue = 10

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

// deadMark is how ls and prune mark a dead entry: "(old)", "(other
// code)", or "" for a live one.
func deadMark(e maintain.Entry) string {
	switch {
	case e.OldVersion:
		return "(old)"
	case e.OtherCode:
		return "(other code)"
	}
	return ""
}
