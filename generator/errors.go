package generator

import (
	"errors"
	"fmt"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
)

// posError is an error at a position in a source file.
type posError struct {
	pos token.Position
	msg string
}

func (e posError) Error() string {
	if !e.pos.IsValid() {
		return e.msg
	}
	return fmt.Sprintf("%s: %s", e.pos, e.msg)
}

// Short returns err as the go command prints a problem in a source file:
// its path relative to dir where that is shorter (./sim.go for a file in
// dir, sub/sim.go, ../sim.go), else as it is.
func Short(err error, dir string) string {
	var pe posError
	if !errors.As(err, &pe) || pe != err || !pe.pos.IsValid() || dir == "" {
		return err.Error()
	}
	if rel, err := filepath.Rel(dir, pe.pos.Filename); err == nil && len(rel) < len(pe.pos.Filename) {
		if !strings.ContainsRune(rel, filepath.Separator) {
			rel = "." + string(filepath.Separator) + rel
		}
		pe.pos.Filename = rel
	}
	return pe.Error()
}

func errorf(pos token.Position, format string, args ...any) error {
	return posError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

// sortErrors orders errors by file, line and column.
func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		var a, b posError
		if !errors.As(errs[i], &a) || !errors.As(errs[j], &b) {
			return false
		}
		if a.pos.Filename != b.pos.Filename {
			return a.pos.Filename < b.pos.Filename
		}
		if a.pos.Line != b.pos.Line {
			return a.pos.Line < b.pos.Line
		}
		return a.pos.Column < b.pos.Column
	})
}

// suggest returns ": did you mean NAME?" for the candidate nearest to
// name within a small edit distance (an edit for each three letters, two
// at most: none for a name of one or two), or "" when none is near.
func suggest(name string, candidates []string) string {
	best, bestD := "", min(2, len(name)/3)+1
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD && c != name {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return ": did you mean " + best + "?"
}

// editDistance is the Levenshtein distance between a and b, by runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
