package runtime

import "sync"

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
	value     any      // the computed value, shared with waiters only if payload is nil
	payload   [][]byte // the encoded value, in parts: each waiter decodes its own copy
	err       error
	abandoned bool // compute panicked or exited its goroutine: waiters compute again
}

// join returns the flight of key, and whether the caller is its leader and
// must run it.
func (fs *flights) join(key [32]byte) (*flight, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.m[key]; ok {
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
// exit goes on.
func (fs *flights) run(key [32]byte, f *flight, fn func() (any, [][]byte, error)) {
	normal := false
	defer func() {
		fs.leave(key, f)
		f.abandoned = !normal
		close(f.done)
	}()
	f.value, f.payload, f.err = fn()
	normal = true
}

func (fs *flights) leave(key [32]byte, f *flight) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m[key] == f {
		delete(fs.m, key)
	}
}
