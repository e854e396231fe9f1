// Package lease builds leases, for stores without a native one, from
// small named objects: a directory (exclusive create) or an object store
// (conditional write).
package lease

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// Objects are the operations on small named objects from which
// New builds leases, for stores without a native one: a
// directory (exclusive create), or an object store (conditional write).
type Objects interface {
	// CreateObject writes body as the object name only if there is none,
	// and reports false when there is.
	CreateObject(ctx context.Context, name string, body []byte) (bool, error)
	// ReadObject returns the object name, or an error wrapping
	// fs.ErrNotExist. It need not read more than MaxBody bytes and
	// one more of an object: a larger one is not a lease.
	ReadObject(ctx context.Context, name string) ([]byte, error)
	// ReplaceObject writes body as the object name, whole.
	ReplaceObject(ctx context.Context, name string, body []byte) error
	// RemoveObject removes the object name; a missing one is not an error.
	RemoveObject(ctx context.Context, name string) error
}

// New returns leases whose lease on a key is an object named by the key, holding its token and its expiry in Unix nanoseconds by the
// holder's clock: machines sharing the store need clocks that agree to
// well within a lease time.
//
// A lease is taken by creating its object. One found expired, or not a
// valid lease (unreadable, oversized, without an expiry, or with one
// further ahead than a holder renewing it could have set: more than the
// lease time plus leaseSkew), is removed and the creation tried once more,
// so that anyone who can write to the store can delay callers by at most
// about one lease time, never hang them. When two callers race to take
// over one lease, both may win, which costs a duplicate computation, never
// a wrong result.
func New(o Objects) *Leaser { return &Leaser{o} }

// Leaser takes, renews and releases leases kept in objects.
type Leaser struct{ o Objects }

func leaseBody(token string, ttl time.Duration) []byte {
	return fmt.Appendf(nil, "%s %d", token, time.Now().Add(ttl).UnixNano())
}

// leaseSkew is how far apart the clocks of machines sharing a store may
// be: a lease's expiry may lie at most one lease time and leaseSkew ahead.
const leaseSkew = 5 * time.Second

// MaxBody bounds what a lease object may hold.
const MaxBody = 1 << 10

// read returns the lease's token and expiry. A lease that is not valid
// for leases of ttl (unreadable, oversized, or expiring further ahead than
// ttl allows) reads as expired.
func (l *Leaser) read(ctx context.Context, key string, ttl time.Duration) (token string, expiry time.Time, err error) {
	b, err := l.o.ReadObject(ctx, key)
	if err != nil {
		return "", time.Time{}, err
	}
	var ns int64
	if len(b) > MaxBody {
		return "", time.Time{}, nil
	}
	if _, err := fmt.Sscanf(string(b), "%s %d", &token, &ns); err != nil {
		return "", time.Time{}, nil
	}
	expiry = time.Unix(0, ns)
	if expiry.After(time.Now().Add(ttl + leaseSkew)) {
		return token, time.Time{}, nil // forged, or by a clock far ahead
	}
	return token, expiry, nil
}

func (l *Leaser) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	for range 2 {
		created, err := l.o.CreateObject(ctx, key, leaseBody(token, ttl))
		if created || err != nil {
			return created, err
		}
		_, expiry, err := l.read(ctx, key, ttl)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil || time.Now().Before(expiry) {
			return false, err
		}
		if err := l.o.RemoveObject(ctx, key); err != nil {
			return false, err
		}
	}
	return false, nil
}

// holds reports whether token holds an unexpired lease on key.
func (l *Leaser) holds(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	held, expiry, err := l.read(ctx, key, ttl)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil && held == token && time.Now().Before(expiry), err
}

func (l *Leaser) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	ok, err := l.holds(ctx, key, token, ttl)
	if !ok || err != nil {
		return false, err
	}
	return true, l.o.ReplaceObject(ctx, key, leaseBody(token, ttl))
}

func (l *Leaser) Release(ctx context.Context, key, token string) error {
	held, _, err := l.read(ctx, key, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case held != token:
		return nil // taken over meanwhile: it is not ours to end
	}
	return l.o.RemoveObject(ctx, key)
}
