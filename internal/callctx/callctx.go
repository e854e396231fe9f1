// Package callctx holds the marks a sweep puts on the context of the calls
// it makes, which the runtime and the remote tier read: they change how
// one call waits and counts, never what it returns. And it holds the Host,
// what a sweep needs of its cache that the runtime's API does not give.
package callctx

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrBusy is what a call marked NoWait returns when another process or
// machine holds its lock or lease: the sweep comes back to it later.
var ErrBusy = errors.New("another process is computing this call")

// ErrLeased is the ErrBusy of a call that another machine computes, under
// its lease on the remote tier.
var ErrLeased = fmt.Errorf("%w: another machine, under its lease on the remote", ErrBusy)

type noWaitKey struct{}

// WithNoWait marks ctx so that its call returns ErrBusy instead of waiting
// for another process or machine; with wait, it takes the mark off again
// (a point's own computation waits for others as any call does).
func WithNoWait(ctx context.Context, noWait bool) context.Context {
	return context.WithValue(ctx, noWaitKey{}, noWait)
}

// NoWait reports whether ctx carries the NoWait mark.
func NoWait(ctx context.Context) bool { b, _ := ctx.Value(noWaitKey{}).(bool); return b }

type countedKey struct{}

// WithCounted marks ctx, or with counted false unmarks it: what its call
// finds that is not served (an entry of other code, a corrupt or badly
// signed one) was already counted, by the sweep's first look, and is not
// counted again.
func WithCounted(ctx context.Context, counted bool) context.Context {
	return context.WithValue(ctx, countedKey{}, counted)
}

// Counted reports whether ctx carries the counted mark.
func Counted(ctx context.Context) bool { b, _ := ctx.Value(countedKey{}).(bool); return b }

// A Lookup is what a lookup-only call found: whether either tier held a
// valid entry, how long its result took to compute, whether an entry of
// other code was found instead, and the call's key; and how to look.
type Lookup struct {
	Hit       bool
	Took      time.Duration
	OtherCode bool
	Key       string
	// Rejected is set when the lookup found an entry and a check
	// rejected it (and counted it: see WithCounted).
	Rejected bool
	// LocalOnly makes the lookup look in the local tier alone; RemoteOnly,
	// in the remote tier alone.
	LocalOnly, RemoteOnly bool
	// Remote, when not nil, is what a batch read of the remote tier found
	// (see Host.FetchRemote): the call's entry, or that there is none,
	// with known true; the lookup asks the remote itself only for a key
	// Remote does not know.
	Remote func(key string) (data []byte, known bool)
}

type lookupKey struct{}

// WithLookup marks ctx so that its call only looks its entry up, computing
// nothing, and reports what it found in l. A call that finds nothing
// returns ErrNotCached.
func WithLookup(ctx context.Context, l *Lookup) context.Context {
	return context.WithValue(ctx, lookupKey{}, l)
}

// LookupOf returns the Lookup ctx carries, or nil.
func LookupOf(ctx context.Context) *Lookup { l, _ := ctx.Value(lookupKey{}).(*Lookup); return l }

// ErrNotCached is what a lookup-only call returns when it found no entry.
var ErrNotCached = errors.New("not cached")

// A Host is what a sweep needs of the cache it runs on beyond the
// runtime's exported API; *runtime.Cache is a Hoster.
type Host struct {
	// Off is whether the cache is off: a sweep then prints nothing.
	Off bool
	// Verbose is whether the cache logs each call.
	Verbose bool
	// HolderWait is how long a call waits for another process or machine
	// that holds its lock or lease before computing itself: 0 when it waits
	// as long as the holder lives (a private directory's holder is the
	// user's own).
	HolderWait time.Duration
	// Records is the cache's directory, where a sweep keeps the compute
	// times of a function's points for its next estimates; nil where
	// there are none to keep: the cache is off, or others can write to
	// its directory. ReadOnly says they are read and not written.
	Records  Records
	ReadOnly bool
	// FetchRemote reads the remote tier's entries of keys (at most
	// BatchSize) in a few round trips, for a Lookup's Remote; nil when the
	// cache has no remote tier it may read.
	FetchRemote func(ctx context.Context, keys []string) func(key string) ([]byte, bool)
	// BatchSize is how many keys FetchRemote reads at once.
	BatchSize int
}

// Records reads and replaces the small records a cache directory keeps
// beside its entries, confined to the directory (see disk.Store).
type Records interface {
	ReadSmall(name string, max int64) ([]byte, error)
	Replace(name, key string, parts ...[]byte) error
}

// A Hoster is a cache a sweep can run on.
type Hoster interface {
	// SweepHost returns the Host of the cache, or, for a nil cache, of
	// the cache ctx carries (else the default cache).
	SweepHost(ctx context.Context) Host
}

// SharedLockWait bounds a call's wait for another process's lock in a
// shared directory: four lease times, as a remote tier's MaxWait. In a
// private directory the lock is the user's own, and a call waits as long
// as its context allows. Tests shorten it.
var SharedLockWait = 2 * time.Minute
