package keying

import (
	"reflect"

	"github.com/cachegen/cachegen/internal/snapshot"
)

// A Snapshot is a copy of the arguments of a call's params that can
// change (see Changed), made before the call computes: Params are the
// call's params with the copies in place of the arguments, and Args the
// copies by param name, for the compute function to read.
type Snapshot struct {
	Params map[string]any
	Args   map[string]any
	orig   map[string]reflect.Value
	copies map[string]reflect.Value
}

// Take copies the arguments of params that can change and can be copied
// (see snapshot.Copyable); those that cannot are left out of Args, and
// are the caller's own. It is nil where no argument can change.
func Take(params map[string]any) *Snapshot {
	canAny := false
	for _, v := range params {
		canAny = canAny || canChange(v)
	}
	if !canAny {
		return nil // nothing to copy
	}
	s := &Snapshot{Params: make(map[string]any, len(params)), Args: map[string]any{},
		orig: map[string]reflect.Value{}, copies: map[string]reflect.Value{}}
	var c snapshot.Copier
	for name, v := range params {
		s.Params[name] = v
		if !canChange(v) {
			continue
		}
		var arg reflect.Value
		switch v := v.(type) {
		case derivedKey:
			arg = v.argument()
		case typed:
			arg = v.v
		default:
			arg = reflect.ValueOf(v)
		}
		cp, ok := c.Copy(arg)
		if !ok {
			continue
		}
		switch v := v.(type) {
		case derivedKey:
			s.Params[name] = v.withArgument(cp)
		case typed:
			s.Params[name] = typed{cp}
		default:
			s.Params[name] = cp.Interface()
		}
		s.Args[name] = cp.Interface()
		s.orig[name], s.copies[name] = arg, cp
	}
	return s
}

// Restore writes what the function did to the copies of the params names
// into the caller's arguments (see snapshot.Restore).
func (s *Snapshot) Restore(names []string) {
	if s == nil {
		return
	}
	for _, name := range names {
		if cp, ok := s.copies[name]; ok {
			snapshot.Restore(s.orig[name], cp)
		}
	}
}
