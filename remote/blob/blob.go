// Package blob keeps a cachegen cache's shared tier in a bucket of
// gocloud.dev/blob. Importing it registers mem:// (a bucket in memory) and,
// for every scheme no other store claims, the bucket gocloud.dev/blob
// opens for it: link the driver too (remote/s3 does for s3://, or import
// gocloud.dev/blob/gcsblob for gs://).
//
//	import _ "github.com/cachegen/cachegen/remote/blob"
//
// Each entry is the object entries/KEY, each lease the object leases/KEY,
// created with a conditional write and holding its token and expiry, and
// each record of the store (see remote.Recorder) the object of its name.
package blob

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/lease"
	"github.com/cachegen/cachegen/remote"
	gcblob "gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob" // mem://
	"gocloud.dev/gcerrors"
)

func init() {
	remote.Register("", Open)
	remote.Register("mem", Open)
}

// A bucketStore keeps each entry as the object entries/KEY, and each
// lease as the object leases/KEY, which holds its token and expiry.
type bucketStore struct {
	b *gcblob.Bucket
}

// New returns a Store that keeps its entries in b.
func New(b *gcblob.Bucket) remote.Store {
	return &bucketStore{b: b}
}

const (
	entryDir = "entries/"
	leaseDir = "leases/"
)

// wrap makes a missing object's error wrap fs.ErrNotExist.
func wrap(key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("no entry %s: %w: %w", key, fs.ErrNotExist, err)
	}
	return err
}

// Get reads the whole entry: at most a remote tier's largest entry, even
// from a server that sends more than the object holds.
func (s *bucketStore) Get(ctx context.Context, key string) ([]byte, error) {
	return s.GetRange(ctx, key, 0, remote.DefaultMaxEntry)
}

// GetRange reads at most n bytes, whatever the server sends.
func (s *bucketStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	r, err := s.b.NewRangeReader(ctx, entryDir+key, off, n, nil)
	if err != nil {
		return nil, wrap(key, err)
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, n))
}

var octets = &gcblob.WriterOptions{ContentType: "application/octet-stream"}

// Put writes the whole object at once: object stores make it visible whole.
func (s *bucketStore) Put(ctx context.Context, key string, data []byte) error {
	return s.b.WriteAll(ctx, entryDir+key, data, octets)
}

// Create writes the object only if it does not exist: a conditional
// write.
func (s *bucketStore) Create(ctx context.Context, key string, data []byte) (bool, error) {
	err := s.b.WriteAll(ctx, entryDir+key, data, &gcblob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: true})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return false, nil
	}
	return err == nil, err
}

func (s *bucketStore) Delete(ctx context.Context, key string) error {
	return wrap(key, s.b.Delete(ctx, entryDir+key))
}

// List lists the entries' objects; LastUsed is when each was written.
func (s *bucketStore) List(ctx context.Context, fn func(remote.StoreEntry) error) error {
	it := s.b.List(&gcblob.ListOptions{Prefix: entryDir})
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
		e := remote.StoreEntry{Key: strings.TrimPrefix(obj.Key, entryDir), Size: obj.Size, LastUsed: obj.ModTime}
		if err := fn(e); err != nil {
			return err
		}
	}
}

func (s *bucketStore) Close() error { return s.b.Close() }

// Records are the objects named by the record's name, beside the
// entries/ and leases/ folders.
func (s *bucketStore) ReadRecord(ctx context.Context, name string) ([]byte, error) {
	r, err := s.b.NewRangeReader(ctx, name, 0, remote.MaxRecord+1, nil)
	if err != nil {
		return nil, wrap(name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, remote.MaxRecord+1))
	if err == nil && len(b) > remote.MaxRecord {
		return nil, fmt.Errorf("record %s is longer than %d bytes", name, remote.MaxRecord)
	}
	return b, err
}

func (s *bucketStore) CreateRecord(ctx context.Context, name string, body []byte) (bool, error) {
	err := s.b.WriteAll(ctx, name, body, &gcblob.WriterOptions{ContentType: "text/plain", IfNotExist: true})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return false, nil
	}
	return err == nil, err
}

func (s *bucketStore) RemoveRecord(ctx context.Context, name string) error {
	if err := s.b.Delete(ctx, name); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}

// Lease, Renew and Release keep each lease in the object leases/KEY,
// created with a conditional write.
func (s *bucketStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	return lease.New(bucketLeases{s.b}).Lease(ctx, key, token, ttl)
}

func (s *bucketStore) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	return lease.New(bucketLeases{s.b}).Renew(ctx, key, token, ttl)
}

func (s *bucketStore) Release(ctx context.Context, key, token string) error {
	return lease.New(bucketLeases{s.b}).Release(ctx, key, token)
}

// bucketLeases are the lease objects of a bucket, named by key.
type bucketLeases struct{ b *gcblob.Bucket }

func (l bucketLeases) CreateObject(ctx context.Context, key string, body []byte) (bool, error) {
	err := l.b.WriteAll(ctx, leaseDir+key, body, &gcblob.WriterOptions{ContentType: "text/plain", IfNotExist: true})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return false, nil
	}
	return err == nil, err
}

// ReadObject reads no more of a lease object than a lease can hold, and
// one byte more, so that a planted giant object is not a valid lease and
// costs nothing to find so.
func (l bucketLeases) ReadObject(ctx context.Context, key string) ([]byte, error) {
	r, err := l.b.NewRangeReader(ctx, leaseDir+key, 0, maxLeaseRead, nil)
	if err != nil {
		return nil, wrap(key, err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// maxLeaseRead is more than any lease body holds.
const maxLeaseRead = 2 << 10

func (l bucketLeases) ReplaceObject(ctx context.Context, key string, body []byte) error {
	return l.b.WriteAll(ctx, leaseDir+key, body, &gcblob.WriterOptions{ContentType: "text/plain"})
}

func (l bucketLeases) RemoveObject(ctx context.Context, key string) error {
	if err := l.b.Delete(ctx, leaseDir+key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return err
	}
	return nil
}

// Open opens any URL gocloud.dev/blob has a driver linked for. For buckets
// named by the URL's host (s3://bucket/a/b), the path is a key prefix.
func Open(ctx context.Context, u *url.URL) (remote.Store, error) {
	c := *u
	if c.Host != "" && len(c.Path) > 1 {
		q := c.Query()
		q.Set("prefix", c.Path[1:]+"/")
		c.RawQuery, c.Path = q.Encode(), ""
	}
	b, err := gcblob.OpenBucket(ctx, c.String())
	if err != nil {
		return nil, err
	}
	return New(b), nil
}
