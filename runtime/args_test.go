package runtime

import (
	"context"
	"testing"
)

// A function that changes the copy of its argument it computes from
// changes the caller's argument too, in the caller's own memory, and its
// result is not stored; one that leaves it alone is stored, and the
// caller's argument is untouched however the function's copy is used.
func TestArgsAreCopiesWrittenBack(t *testing.T) {
	c, _ := open(t)
	ctx := context.Background()
	type state struct {
		Xs   []float64
		Seen map[string]int
	}
	st := &state{Xs: []float64{3, 4}, Seen: map[string]int{}}
	view := st.Xs[1:] // another reference to the caller's memory
	call := Call{Func: "example.com/sim.Normalize", Version: 1, Params: map[string]any{"st": st}}
	normalize := func(ctx context.Context) (float64, error) {
		s := Arg(ctx, "st", st)
		if s == st {
			t.Error("the function was given the caller's argument, not its copy")
		}
		s.Xs[0], s.Xs[1] = 0.6, 0.8
		s.Seen["normalized"]++
		return 5, nil
	}
	for range 2 {
		if got, err := Do(ctx, c, call, normalize); err != nil || got != 5 {
			t.Fatalf("Do = %v, %v", got, err)
		}
		if st.Xs[0] != 0.6 || view[0] != 0.8 || st.Seen["normalized"] == 0 {
			t.Fatalf("the caller's argument is %+v (view %v): want the function's change written back", st, view)
		}
		st.Xs[0], st.Xs[1] = 3, 4
	}
	if s := c.Stats(); s.Mutations != 2 || s.BytesWritten != 0 || s.Computations != 2 {
		t.Errorf("%+v: want two computations, neither stored", s)
	}
	// A function that only reads its copy is stored, and the caller's
	// argument is its own.
	read := Call{Func: "example.com/sim.Norm", Version: 1, Params: map[string]any{"st": st}}
	norm := func(ctx context.Context) (float64, error) { s := Arg(ctx, "st", st); return s.Xs[0] + s.Xs[1], nil }
	Do(ctx, c, read, norm)
	if got, _ := Do(ctx, c, read, norm); got != 7 || c.Stats().Hits != 1 {
		t.Errorf("Do = %v, %+v: want a stored result served", got, c.Stats())
	}
	// Outside a computing call, and for a name the call does not copy,
	// Arg is its argument.
	if Arg(ctx, "st", st) != st {
		t.Error("Arg outside a call is not its argument")
	}
}
