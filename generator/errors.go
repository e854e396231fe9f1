package generator

import (
	"errors"
	"fmt"
	"go/token"
	"sort"
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
