package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	cacheruntime "github.com/cachegen/cachegen/runtime"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// A bucket keeps each entry as the object entries/KEY, and each lease as
// the object leases/KEY, which holds its token and expiry.
type bucketStore struct {
	b   *blob.Bucket
	now func() time.Time
}

// NewBucket returns a Store that keeps its entries in b.
func NewBucket(b *blob.Bucket) cacheruntime.Store {
	return &bucketStore{b: b, now: time.Now}
}

const (
	entryDir = "entries/"
	leaseDir = "leases/"
)

// wrap makes a missing object's error wrap fs.ErrNotExist.
func wrap(key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %w", notFound(key), err)
	}
	return err
}

func (s *bucketStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.b.ReadAll(ctx, entryDir+key)
	return b, wrap(key, err)
}

func (s *bucketStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	r, err := s.b.NewRangeReader(ctx, entryDir+key, off, n, nil)
	if err != nil {
		return nil, wrap(key, err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

var octets = &blob.WriterOptions{ContentType: "application/octet-stream"}

// Put writes the whole object at once: object stores make it visible whole.
func (s *bucketStore) Put(ctx context.Context, key string, data []byte) error {
	return s.b.WriteAll(ctx, entryDir+key, data, octets)
}

func (s *bucketStore) Delete(ctx context.Context, key string) error {
	return wrap(key, s.b.Delete(ctx, entryDir+key))
}

// List lists the entries' objects; LastUsed is when each was written.
func (s *bucketStore) List(ctx context.Context, fn func(cacheruntime.StoreEntry) error) error {
	it := s.b.List(&blob.ListOptions{Prefix: entryDir})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if obj.IsDir {
			continue
		}
		e := cacheruntime.StoreEntry{Key: strings.TrimPrefix(obj.Key, entryDir), Size: obj.Size, LastUsed: obj.ModTime}
		if err := fn(e); err != nil {
			return err
		}
	}
}

func (s *bucketStore) Close() error { return s.b.Close() }

// A lease object holds "TOKEN EXPIRY", the expiry in Unix nanoseconds by
// the holder's clock: machines sharing a bucket need clocks that agree to
// well within a lease time.
func (s *bucketStore) readLease(ctx context.Context, key string) (token string, expiry time.Time, err error) {
	b, err := s.b.ReadAll(ctx, leaseDir+key)
	if err != nil {
		return "", time.Time{}, wrap(key, err)
	}
	var ns int64
	if _, err := fmt.Sscanf(string(b), "%s %d", &token, &ns); err != nil {
		return "", time.Time{}, nil // unreadable: treated as expired
	}
	return token, time.Unix(0, ns), nil
}

func (s *bucketStore) writeLease(ctx context.Context, key, token string, ttl time.Duration, ifNotExist bool) error {
	body := fmt.Sprintf("%s %d", token, s.now().Add(ttl).UnixNano())
	return s.b.WriteAll(ctx, leaseDir+key, []byte(body), &blob.WriterOptions{ContentType: "text/plain", IfNotExist: ifNotExist})
}

// Lease creates the lease object only if there is none. A lease found
// expired is deleted and the creation tried once more; when two callers
// race to take over one expired lease, both may win, which costs a
// duplicate computation, never a wrong result.
func (s *bucketStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	for range 2 {
		err := s.writeLease(ctx, key, token, ttl, true)
		if err == nil {
			return true, nil
		}
		if gcerrors.Code(err) != gcerrors.FailedPrecondition {
			return false, err
		}
		_, expiry, err := s.readLease(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return false, err
		}
		if s.now().Before(expiry) {
			return false, nil
		}
		if err := s.b.Delete(ctx, leaseDir+key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return false, err
		}
	}
	return false, nil
}

func (s *bucketStore) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	held, _, err := s.readLease(ctx, key)
	if errors.Is(err, fs.ErrNotExist) || err == nil && held != token {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, s.writeLease(ctx, key, token, ttl, false)
}

func (s *bucketStore) Release(ctx context.Context, key, token string) error {
	held, _, err := s.readLease(ctx, key)
	if errors.Is(err, fs.ErrNotExist) || err == nil && held != token {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.b.Delete(ctx, leaseDir+key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}
