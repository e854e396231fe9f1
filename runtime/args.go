package runtime

import (
	"context"
	"maps"
	"sync/atomic"

	"github.com/cachegen/cachegen/internal/keying"
)

// Arg returns the argument a computing call's function is to read for its
// parameter name: the copy of v that Do made before computing, when v
// holds references (pointers, slices, maps, interfaces) and could be
// copied, else v itself. Generated compute functions pass each such
// argument through it; a compute function written by hand should too.
//
// What a function computes from is then what was keyed: another goroutine
// that writes to the caller's value while the call computes (a data race
// in the caller's program) changes the caller's value, never what is
// computed or stored under its key. What the function writes to its copy
// is written back into the caller's value after it returns (and its
// result is not stored: see Do), so a function that changes its argument
// in place still does.
func Arg[T any](ctx context.Context, name string, v T) T {
	if args, _ := ctx.Value(argsKey{}).(*callArgs); args != nil {
		if a, ok := args.vals[name].(T); ok {
			args.used[name].Store(true)
			return a
		}
	}
	return v
}

type argsKey struct{}

// callArgs are the copies of a computing call's arguments (see Arg), and
// which of them its compute function took.
type callArgs struct {
	snap *keying.Snapshot
	vals map[string]any
	used map[string]*atomic.Bool
}

func newCallArgs(snap *keying.Snapshot) *callArgs {
	if snap == nil || len(snap.Args) == 0 {
		return nil
	}
	a := &callArgs{snap: snap, vals: snap.Args, used: make(map[string]*atomic.Bool, len(snap.Args))}
	for name := range snap.Args {
		a.used[name] = new(atomic.Bool)
	}
	return a
}

// params returns the call's params as the function computed from them:
// the copies it took through Arg, and the caller's arguments it read
// itself.
func (a *callArgs) params(call Call) map[string]any {
	if a == nil {
		return call.Params
	}
	params := maps.Clone(call.Params)
	for name, used := range a.used {
		if used.Load() {
			params[name] = a.snap.Params[name]
		}
	}
	return params
}

// restore writes back into the caller's arguments what the function did
// to the copies it took, of the params changed.
func (a *callArgs) restore(changed []string) {
	if a == nil {
		return
	}
	var took []string
	for _, name := range changed {
		if u := a.used[name]; u != nil && u.Load() {
			took = append(took, name)
		}
	}
	a.snap.Restore(took)
}

// withArgs returns ctx carrying args, the copies a call's compute reads
// (see Arg); with none, ctx carrying none of another call's.
func withArgs(ctx context.Context, args *callArgs) context.Context {
	if args == nil && ctx.Value(argsKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, argsKey{}, args)
}
