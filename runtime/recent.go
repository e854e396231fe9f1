package runtime

import (
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/explain"
)

// A miss explains itself from the short record of the latest entries of
// its function that the cache directory keeps (see explain.Record): only a
// verbose miss reads it.

// explained returns the call that r keys, as explanations compare it.
func (r *request[T]) explained(at time.Time) explain.Call {
	e := explain.Call{Key: r.id.key, Version: r.call.Version, Code: r.call.Code, Accepted: r.call.Accepted, Parts: r.call.parts(), Args: map[string]string{}, At: at}
	for name, sp := range r.id.Spans {
		if name != fnParam && name != versionParam {
			e.Args[name] = explain.Spell(r.id.Text[sp.Start:sp.End])
		}
	}
	return e
}

// parts returns call.Parts as a list.
func (call Call) parts() []string {
	if call.Parts == "" {
		return nil
	}
	return strings.Split(call.Parts, ",")
}

// why returns the reason why r missed, from its function's record.
func (r *request[T]) why(found look) string {
	if found.rejected != "" {
		return found.rejected
	}
	var held []explain.Call
	switch {
	case found.otherCode:
		// The call's own entry is there, computed by other code: that is
		// the reason, whatever else the record holds.
		held = []explain.Call{{Key: r.id.key, Version: r.call.Version, Code: found.otherCodeOf}}
	case r.c.mode != ModeOff:
		held = explain.Recent(r.c.disk, r.call.Func, false)
	}
	explain.WithParts(r.c.disk, r.call.Func, held)
	return explain.Why(r.explained(r.c.now()), held).String()
}
