package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
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
// laid out as a Cache's directory (made if missing, mode 0700 unless it
// exists): entries become visible whole by rename, and leases are files
// created exclusively.
func DirStore(dir string) (Store, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("cachegen: store directory: %w", err)
	}
	return diskStore{dir: dir, fs: osFS{}}, nil
}

const leaseSuffix = ".lease"

func (s diskStore) leasePath(key string) string {
	return filepath.Join(s.dir, key[:2], key+leaseSuffix)
}

// checkKey keeps a Store's callers from naming paths outside the store.
func checkKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return nil
}

func (s diskStore) Get(_ context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	data, _, _, err := readEntryFile(s.path(key))
	return data, err
}

func (s diskStore) GetRange(_ context.Context, key string, off, n int64) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, max(0, min(n, fi.Size()-off)))
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

func (s diskStore) Put(_ context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.write(key, data)
}

func (s diskStore) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.fs.Remove(s.path(key))
}

func (s diskStore) List(_ context.Context, fn func(StoreEntry) error) error {
	return s.walk(func(path string, kind fileKind) error {
		if kind != kindEntry {
			return nil
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil // removed meanwhile
		}
		return fn(StoreEntry{Key: strings.TrimSuffix(filepath.Base(path), entrySuffix), Size: fi.Size(), LastUsed: fi.ModTime()})
	})
}

func (s diskStore) Close() error { return nil }

// Lease, Renew and Release keep each lease in the file xx/KEY.lease.
func (s diskStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return ObjectLeaser(dirLeases{s}).Lease(ctx, key, token, ttl)
}

func (s diskStore) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return ObjectLeaser(dirLeases{s}).Renew(ctx, key, token, ttl)
}

func (s diskStore) Release(ctx context.Context, key, token string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return ObjectLeaser(dirLeases{s}).Release(ctx, key, token)
}

// dirLeases are the lease files of a disk store, named by key.
type dirLeases struct{ s diskStore }

func (d dirLeases) CreateObject(_ context.Context, key string, body []byte) (bool, error) {
	path := d.s.leasePath(key)
	if err := d.s.fs.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
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

func (d dirLeases) ReadObject(_ context.Context, key string) ([]byte, error) {
	return os.ReadFile(d.s.leasePath(key))
}

// ReplaceObject writes by rename, so that a reader never sees half a lease.
func (d dirLeases) ReplaceObject(_ context.Context, key string, body []byte) error {
	path := d.s.leasePath(key)
	f, err := os.CreateTemp(filepath.Dir(path), tempPrefix+key+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func (d dirLeases) RemoveObject(_ context.Context, key string) error {
	if err := os.Remove(d.s.leasePath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
