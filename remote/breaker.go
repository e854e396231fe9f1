package remote

import (
	"sync"
	"time"
)

// breaker stops requests to a store after limit failures in a row, for
// cooldown; then it lets one request through, and closes again if that
// request succeeds.
type breaker struct {
	mu        sync.Mutex
	limit     int
	cooldown  time.Duration
	fails     int
	openUntil time.Time
	warned    time.Time // when a failure was last reported
}

func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails < b.limit {
		return true
	}
	if now.Before(b.openUntil) {
		return false
	}
	b.openUntil = now.Add(b.cooldown) // this request probes; others wait for it
	return true
}

// closed reports whether requests are being let through freely.
func (b *breaker) closed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fails < b.limit
}

// succeed records a success, and reports whether it closed the breaker.
func (b *breaker) succeed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	recovered := b.fails >= b.limit
	b.fails = 0
	return recovered
}

// fail records a failure, and reports whether to report it: the first
// failure in a cooldown is.
func (b *breaker) fail(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fails++
	if b.fails >= b.limit {
		b.openUntil = now.Add(b.cooldown)
	}
	if !b.warned.IsZero() && now.Sub(b.warned) < b.cooldown {
		return false
	}
	b.warned = now
	return true
}
