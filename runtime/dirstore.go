package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// The disk store is a Store too: the local tier of every Cache, and,
// through DirStore or a file:// URL, a remote tier in a directory that
// many machines share (over NFS, say).

func init() {
	RegisterStore("file", func(_ context.Context, u *url.URL) (Store, error) {
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL %s names host %q: want file:///absolute/path", redact(u), u.Host)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("file URL %s has no path: want file:///absolute/path", redact(u))
		}
		return DirStore(u.Path)
	})
}

// DirStore returns a Store, and Leaser, that keeps its entries in dir,
// laid out as a Cache's directory (made if missing, mode 0700, with the
// README that marks it as a cache): entries become visible whole by
// rename, and leases are files created exclusively. Like a Cache's
// directory, it never reads or removes anything outside dir, nor reads
// anything but a regular file.
func DirStore(dir string) (Store, error) {
	s := newDiskStore(dir)
	if _, err := s.openRoot(true); err != nil {
		return nil, fmt.Errorf("cachegen: store directory: %w", err)
	}
	s.writeReadme()
	return s, nil
}

const leaseSuffix = ".lease"

// maxLeaseSize bounds a lease file: a larger one is not a lease, and is
// not read.
const maxLeaseSize = 1 << 10

// checkKey keeps a Store's callers from naming paths outside the store.
func checkKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %s", ErrBadKey, quoteCut(key))
	}
	return nil
}

// Get reads the file of key whole; the tiers read entries header first
// with GetRange.
func (s *diskStore) Get(_ context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return s.readSmall(entryName(key), math.MaxInt64)
}

func (s *diskStore) GetRange(_ context.Context, key string, off, n int64) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, fi, err := s.openRegular(entryName(key))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, max(0, min(n, fi.Size()-off)))
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

func (s *diskStore) Put(_ context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.write(key, data)
}

func (s *diskStore) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.remove(entryName(key))
}

func (s *diskStore) List(_ context.Context, fn func(StoreEntry) error) error {
	return s.walk(func(name string, kind fileKind) error {
		if kind != kindEntry {
			return nil
		}
		fi, err := s.stat(name)
		if err != nil {
			return nil // removed meanwhile
		}
		return fn(StoreEntry{Key: strings.TrimSuffix(path.Base(name), entrySuffix), Size: fi.Size(), LastUsed: fi.ModTime()})
	})
}

func (s *diskStore) Close() error { return nil }

// Lease, Renew and Release keep each lease in the file xx/KEY.lease.
func (s *diskStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return ObjectLeaser(dirLeases{s}).Lease(ctx, key, token, ttl)
}

func (s *diskStore) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return ObjectLeaser(dirLeases{s}).Renew(ctx, key, token, ttl)
}

func (s *diskStore) Release(ctx context.Context, key, token string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return ObjectLeaser(dirLeases{s}).Release(ctx, key, token)
}

// dirLeases are the lease files of a disk store, named by key.
type dirLeases struct{ s *diskStore }

func (d dirLeases) CreateObject(_ context.Context, key string, body []byte) (bool, error) {
	r, err := d.s.openRoot(true)
	if err != nil {
		return false, err
	}
	if err := d.s.fs.MkdirAll(r, shard(key)); err != nil {
		return false, err
	}
	f, err := r.OpenFile(leaseName(key), os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}

// ReadObject reads a lease file; one that is not a regular file, or is too
// large to be a lease, reads as no valid lease.
func (d dirLeases) ReadObject(_ context.Context, key string) ([]byte, error) {
	b, err := d.s.readSmall(leaseName(key), maxLeaseSize)
	if errors.Is(err, errCorrupt) {
		return nil, nil
	}
	return b, err
}

// ReplaceObject writes by rename, so that a reader never sees half a lease.
func (d dirLeases) ReplaceObject(_ context.Context, key string, body []byte) error {
	return d.s.replace(leaseName(key), key, body)
}

func (d dirLeases) RemoveObject(_ context.Context, key string) error {
	if err := d.s.remove(leaseName(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
