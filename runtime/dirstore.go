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
			return nil, fmt.Errorf("file URL %s names host %q: want file:///absolute/path", Redact(u), u.Host)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("file URL %s has no path: want file:///absolute/path", Redact(u))
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

// A lease file holds "TOKEN EXPIRY", the expiry in Unix nanoseconds by the
// holder's clock: machines sharing a directory need clocks that agree to
// well within a lease time.
func (s diskStore) readLease(key string) (token string, expiry time.Time, err error) {
	b, err := os.ReadFile(s.leasePath(key))
	if err != nil {
		return "", time.Time{}, err
	}
	var ns int64
	if _, err := fmt.Sscanf(string(b), "%s %d", &token, &ns); err != nil {
		return "", time.Time{}, nil // unreadable: treated as expired
	}
	return token, time.Unix(0, ns), nil
}

func leaseBody(token string, ttl time.Duration) []byte {
	return fmt.Appendf(nil, "%s %d", token, time.Now().Add(ttl).UnixNano())
}

// Lease creates the lease file exclusively. One found expired is removed
// and the creation tried once more; when two callers race to take over an
// expired lease, both may win, which costs a duplicate computation, never
// a wrong result.
func (s diskStore) Lease(_ context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	if err := s.fs.MkdirAll(filepath.Dir(s.leasePath(key)), dirPerm); err != nil {
		return false, err
	}
	for range 2 {
		f, err := os.OpenFile(s.leasePath(key), os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
		if err == nil {
			_, err = f.Write(leaseBody(token, ttl))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			return err == nil, err
		}
		if !errors.Is(err, fs.ErrExist) {
			return false, err
		}
		_, expiry, err := s.readLease(key)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return false, err
		}
		if time.Now().Before(expiry) {
			return false, nil
		}
		if err := os.Remove(s.leasePath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

// Renew rewrites the lease file by rename, so that a reader never sees it
// half written.
func (s diskStore) Renew(_ context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	held, expiry, err := s.readLease(key)
	if errors.Is(err, fs.ErrNotExist) || err == nil && (held != token || time.Now().After(expiry)) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f, err := os.CreateTemp(filepath.Dir(s.leasePath(key)), tempPrefix+key+"-*")
	if err != nil {
		return false, err
	}
	_, err = f.Write(leaseBody(token, ttl))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.leasePath(key))
	}
	if err != nil {
		os.Remove(f.Name())
		return false, err
	}
	return true, nil
}

func (s diskStore) Release(_ context.Context, key, token string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	held, _, err := s.readLease(key)
	if errors.Is(err, fs.ErrNotExist) || err == nil && held != token {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(s.leasePath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
