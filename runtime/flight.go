package runtime

import (
	"bytes"
	"sync"
)

// flights lets concurrent calls with the same key compute once: the first
// caller computes in its own goroutine (so a panic in compute reaches it as
// it would without the cache), and the others wait for its result or for
// their own context.
type flights struct {
	mu sync.Mutex
	m  map[[32]byte]*flight
}

// flight is one computation in progress and, once done is closed, its
// outcome.
type flight struct {
	done      chan struct{}
	value     any      // the computed value: never handed to a waiter that could share its memory (see follow)
	payload   [][]byte // the encoded value; with waiters, one copy of it that no caller can change
	err       error
	abandoned bool // compute panicked or exited its goroutine: waiters compute again
	waiters   int  // callers that joined it, not its leader
}

// join returns the flight of key, and whether the caller is its leader and
// must run it.
func (fs *flights) join(key [32]byte) (*flight, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.m[key]; ok {
		f.waiters++
		return f, false
	}
	if fs.m == nil {
		fs.m = make(map[[32]byte]*flight)
	}
	f := &flight{done: make(chan struct{})}
	fs.m[key] = f
	return f, true
}

// run runs fn as the flight of key and publishes its outcome. If fn does
// not return normally, the flight is marked abandoned before the panic or
// exit goes on. fn's encoded value may share memory with its value (the
// blocks of a result's numeric slices): when callers wait for it, they are
// given a copy of it, made before the leader's caller has the value and
// can change it.
func (fs *flights) run(key [32]byte, f *flight, fn func() (any, [][]byte, error)) {
	normal := false
	defer func() {
		if waiters := fs.leave(key, f); normal && waiters > 0 && f.payload != nil {
			f.payload = [][]byte{bytes.Join(f.payload, nil)}
		}
		f.abandoned = !normal
		close(f.done)
	}()
	f.value, f.payload, f.err = fn()
	normal = true
}

// leave ends the flight of key, and returns how many callers joined it:
// none can join it after.
func (fs *flights) leave(key [32]byte, f *flight) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m[key] == f {
		delete(fs.m, key)
	}
	return f.waiters
}
