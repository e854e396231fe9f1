// Package file is the file:// store: a shared tier in a directory that
// many machines share (over NFS, say), laid out as a cache's directory.
// Importing the runtime registers it; a program that opens stores
// without the runtime imports it for its side effect.
package file

import (
	"context"
	"crypto/rand"
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

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/lease"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/remote"
)

func init() {
	remote.Register("file", func(_ context.Context, u *url.URL) (remote.Store, error) {
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("file URL %s names host %q: want file:///absolute/path", u.Redacted(), u.Host)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("file URL %s has no path: want file:///absolute/path", u.Redacted())
		}
		return Open(u.Path)
	})
}

// A Store keeps its entries in a directory laid out as a Cache's: entries
// become visible whole by rename, and leases are files created
// exclusively. Like a Cache's directory, it never reads or removes
// anything outside its directory, nor reads anything but a regular file.
// It is a remote.Creator, a remote.Leaser and a remote.Recorder.
type Store struct{ d *disk.Store }

var (
	_ remote.Creator  = (*Store)(nil)
	_ remote.Leaser   = (*Store)(nil)
	_ remote.Recorder = (*Store)(nil)
)

// Open returns the Store of dir, made if missing (mode 0700, with the
// README that marks it as a cache).
func Open(dir string) (*Store, error) {
	d := disk.New(dir, false, nil)
	if _, err := d.OpenRoot(true); err != nil {
		return nil, fmt.Errorf("store directory: %w", err)
	}
	d.WriteReadme()
	return &Store{d}, nil
}

// checkKey keeps a Store's callers from naming paths outside the store.
func checkKey(key string) error {
	if !entry.ValidKey(key) {
		return fmt.Errorf("%w: %s", entry.ErrBadKey, logline.QuoteCut(key))
	}
	return nil
}

// Get reads the file of key whole; the tiers read entries header first
// with GetRange.
func (s *Store) Get(_ context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return s.d.ReadSmall(disk.EntryName(key), math.MaxInt64)
}

func (s *Store) GetRange(_ context.Context, key string, off, n int64) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, fi, err := s.d.OpenRegular(disk.EntryName(key))
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

// Put writes the entry of key atomically: it becomes visible whole, by
// rename, or not at all, and no temporary file is left behind. It does
// not sync: an entry a crash or power loss damages fails its checksums
// and is a miss.
func (s *Store) Put(_ context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, _, err := s.d.WriteEntry(key, disk.WriteParts([][]byte{data}))
	return err
}

// Create writes the entry of key unless there is one (see
// disk.Store.CreateEntry).
func (s *Store) Create(_ context.Context, key string, data []byte) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return s.d.CreateEntry(key, disk.WriteParts([][]byte{data}))
}

func (s *Store) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.d.RemoveEntry(disk.EntryName(key))
}

func (s *Store) List(ctx context.Context, fn func(remote.StoreEntry) error) error {
	return s.d.Walk(ctx, func(name string, kind disk.FileKind) error {
		if kind != disk.KindEntry {
			return nil
		}
		fi, err := s.d.Stat(name)
		if err != nil {
			return nil // removed meanwhile
		}
		return fn(remote.StoreEntry{Key: strings.TrimSuffix(path.Base(name), disk.EntrySuffix), Size: fi.Size(), LastUsed: fi.ModTime()})
	})
}

func (s *Store) Close() error { return nil }

// Lease, Renew and Release keep each lease in the file xx/KEY.lease.
func (s *Store) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return lease.New(leases{s.d}).Lease(ctx, key, token, ttl)
}

func (s *Store) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return lease.New(leases{s.d}).Renew(ctx, key, token, ttl)
}

func (s *Store) Release(ctx context.Context, key, token string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return lease.New(leases{s.d}).Release(ctx, key, token)
}

// Records (see remote.Recorder) are files in the store's top directory,
// named record.NAME.
func recordName(name string) (string, error) {
	for _, r := range name {
		if r < 'a' || r > 'z' {
			return "", fmt.Errorf("record name %s: want lowercase letters", logline.QuoteCut(name))
		}
	}
	if name == "" {
		return "", errors.New("empty record name")
	}
	return "record." + name, nil
}

func (s *Store) ReadRecord(_ context.Context, name string) ([]byte, error) {
	file, err := recordName(name)
	if err != nil {
		return nil, err
	}
	return s.d.ReadSmall(file, remote.MaxRecord)
}

// CreateRecord writes a temporary file and links it to the record's name,
// which fails if one exists: a reader sees the whole record or none.
func (s *Store) CreateRecord(_ context.Context, name string, body []byte) (bool, error) {
	file, err := recordName(name)
	if err != nil {
		return false, err
	}
	r, err := s.d.OpenRoot(true)
	if err != nil {
		return false, err
	}
	tmp := file + ".tmp" + rand.Text()
	f, err := r.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, disk.FilePerm)
	if err != nil {
		return false, err
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	defer r.Remove(tmp)
	if err != nil {
		return false, err
	}
	err = r.Link(tmp, file)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) RemoveRecord(_ context.Context, name string) error {
	file, err := recordName(name)
	if err != nil {
		return err
	}
	if err := s.d.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// leases are the lease files of a store, named by key.
type leases struct{ d *disk.Store }

func (l leases) CreateObject(_ context.Context, key string, body []byte) (bool, error) {
	r, err := l.d.OpenRoot(true)
	if err != nil {
		return false, err
	}
	if err := r.MkdirAll(disk.ShardOf(key), disk.DirPerm); err != nil {
		return false, err
	}
	f, err := r.OpenFile(disk.LeaseName(key), os.O_CREATE|os.O_EXCL|os.O_WRONLY, disk.FilePerm)
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
func (l leases) ReadObject(_ context.Context, key string) ([]byte, error) {
	b, err := l.d.ReadSmall(disk.LeaseName(key), lease.MaxBody)
	if errors.Is(err, entry.ErrCorrupt) {
		return nil, nil
	}
	return b, err
}

// ReplaceObject writes by rename, so that a reader never sees half a lease.
func (l leases) ReplaceObject(_ context.Context, key string, body []byte) error {
	return l.d.Replace(disk.LeaseName(key), key, body)
}

func (l leases) RemoveObject(_ context.Context, key string) error {
	if err := l.d.Remove(disk.LeaseName(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
