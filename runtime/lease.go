package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// LeaseObjects are the operations on small named objects from which
// ObjectLeaser builds leases, for stores without a native one: a
// directory (exclusive create), or an object store (conditional write).
type LeaseObjects interface {
	// CreateObject writes body as the object name only if there is none,
	// and reports false when there is.
	CreateObject(ctx context.Context, name string, body []byte) (bool, error)
	// ReadObject returns the object name, or an error wrapping
	// fs.ErrNotExist.
	ReadObject(ctx context.Context, name string) ([]byte, error)
	// ReplaceObject writes body as the object name, whole.
	ReplaceObject(ctx context.Context, name string, body []byte) error
	// RemoveObject removes the object name; a missing one is not an error.
	RemoveObject(ctx context.Context, name string) error
}

// ObjectLeaser returns a Leaser whose lease on a key is an object named by
// the key, holding its token and its expiry in Unix nanoseconds by the
// holder's clock: machines sharing the store need clocks that agree to
// well within a lease time.
//
// A lease is taken by creating its object. One found expired is removed
// and the creation tried once more; when two callers race to take over
// one expired lease, both may win, which costs a duplicate computation,
// never a wrong result.
func ObjectLeaser(o LeaseObjects) Leaser { return objectLeaser{o} }

type objectLeaser struct{ o LeaseObjects }

func leaseBody(token string, ttl time.Duration) []byte {
	return fmt.Appendf(nil, "%s %d", token, time.Now().Add(ttl).UnixNano())
}

// read returns the lease's token and expiry; an unreadable lease reads as
// expired.
func (l objectLeaser) read(ctx context.Context, key string) (token string, expiry time.Time, err error) {
	b, err := l.o.ReadObject(ctx, key)
	if err != nil {
		return "", time.Time{}, err
	}
	var ns int64
	if _, err := fmt.Sscanf(string(b), "%s %d", &token, &ns); err != nil {
		return "", time.Time{}, nil
	}
	return token, time.Unix(0, ns), nil
}

func (l objectLeaser) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	for range 2 {
		created, err := l.o.CreateObject(ctx, key, leaseBody(token, ttl))
		if created || err != nil {
			return created, err
		}
		_, expiry, err := l.read(ctx, key)
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
func (l objectLeaser) holds(ctx context.Context, key, token string) (bool, error) {
	held, expiry, err := l.read(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil && held == token && time.Now().Before(expiry), err
}

func (l objectLeaser) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	ok, err := l.holds(ctx, key, token)
	if !ok || err != nil {
		return false, err
	}
	return true, l.o.ReplaceObject(ctx, key, leaseBody(token, ttl))
}

func (l objectLeaser) Release(ctx context.Context, key, token string) error {
	ok, err := l.holds(ctx, key, token)
	if !ok || err != nil {
		return err
	}
	return l.o.RemoveObject(ctx, key)
}
