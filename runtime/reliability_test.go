package runtime

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
)

// selfChecking returns a payload whose elements all equal n: a reader of
// a torn entry would see a mix.
func selfChecking(n int) []int {
	xs := make([]int, 4096)
	for i := range xs {
		xs[i] = n
	}
	return xs
}

func consistent(xs []int) bool {
	for _, x := range xs {
		if x != xs[0] {
			return false
		}
	}
	return len(xs) == 4096
}

// Scenario 3: readers loop while writers replace one entry with
// self-checking payloads; no reader ever sees a partial or mixed value,
// and no entry is ever rejected as corrupt.
func TestNoTornReads(t *testing.T) {
	dir := t.TempDir()
	call := mcCall(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		writer, _ := openDir(t, dir, WithMode(ModeRefresh))
		wg.Go(func() {
			for n := w * 1_000_000; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				Do(context.Background(), writer, call, func(context.Context) ([]int, error) { return selfChecking(n), nil })
			}
		})
	}
	readers := make([]*Cache, 4)
	for r := range readers {
		readers[r], _ = openDir(t, dir)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := Do(context.Background(), readers[r], call, func(context.Context) ([]int, error) { return selfChecking(-1), nil })
				if err != nil || !consistent(got) {
					t.Errorf("reader got a torn value (err %v)", err)
					return
				}
			}
		})
	}
	time.Sleep(stressDuration())
	close(stop)
	wg.Wait()
	var hits int64
	for _, r := range readers {
		s := r.Stats()
		hits += s.Hits
		if s.Corrupt != 0 {
			t.Errorf("a reader rejected %d entries as corrupt: a write was visible before it was whole", s.Corrupt)
		}
	}
	if hits == 0 {
		t.Error("readers never hit: the test exercised nothing")
	}
}

// failingFS fails one step of a write with err.
type failingFS struct {
	disk.OSFS
	step string
	err  error
}

type failingFile struct {
	disk.TempFile
	fs *failingFS
}

func (f *failingFS) MkdirAll(r *os.Root, name string) error {
	if f.step == "mkdir" {
		return &fs.PathError{Op: "mkdir", Path: name, Err: f.err}
	}
	return f.OSFS.MkdirAll(r, name)
}

func (f *failingFS) CreateTemp(r *os.Root, dir, prefix string) (disk.TempFile, error) {
	if f.step == "create" {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: f.err}
	}
	t, err := f.OSFS.CreateTemp(r, dir, prefix)
	return failingFile{t, f}, err
}

func (f failingFile) Write(p []byte) (int, error) {
	if f.fs.step == "write" {
		n, _ := f.TempFile.Write(p[:len(p)/2]) // half written, then the disk is full
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: f.fs.err}
	}
	return f.TempFile.Write(p)
}

func (f failingFile) Close() error {
	err := f.TempFile.Close()
	if f.fs.step == "close" {
		return &fs.PathError{Op: "close", Path: f.Name(), Err: f.fs.err}
	}
	return err
}

func (f *failingFS) Rename(r *os.Root, oldname, newname string) error {
	if f.step == "rename" {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: f.err}
	}
	return f.OSFS.Rename(r, oldname, newname)
}

// Scenario 6: disk full and I/O errors at each step of a write. The
// caller gets its computed result, no entry and no temporary file is left,
// the failure is counted every time and logged once.
func TestStoreFailuresLoseNothing(t *testing.T) {
	for _, step := range []string{"mkdir", "create", "write", "close", "rename"} {
		for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
			t.Run(step+"/"+errno.Error(), func(t *testing.T) {
				c, log := open(t)
				c.disk.FS = &failingFS{step: step, err: errno}
				for range 3 {
					got, err := Do(context.Background(), c, mcCall(1), func(context.Context) ([]int, error) { return selfChecking(7), nil })
					if err != nil || !consistent(got) || got[0] != 7 {
						t.Fatalf("got (%v…, %v), want the computed result", got[:1], err)
					}
				}
				if s := c.Stats(); s.StoreErrors != 3 || s.Computations != 3 {
					t.Errorf("stats %+v, want 3 store errors and 3 computations", s)
				}
				if n := strings.Count(log.String(), "could not store"); n != 1 || !strings.Contains(log.String(), errno.Error()) {
					t.Errorf("logged %d times, want once naming %q:\n%s", n, errno.Error(), log)
				}
				var files []string
				c.disk.Walk(context.Background(), func(path string, kind disk.FileKind) error {
					if kind != disk.KindLock {
						files = append(files, path)
					}
					return nil
				})
				if len(files) != 0 {
					t.Errorf("left %v behind", files)
				}
			})
		}
	}
}

// Scenario 7: a cache that cannot be written still serves the entries it
// has, computes the rest, and warns once.
func TestUnwritableCacheServesWhatItHas(t *testing.T) {
	dir := t.TempDir()
	c, log := openDir(t, dir)
	Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 1, nil })
	c.disk.FS = &failingFS{step: "create", err: syscall.EROFS}
	if v, _ := Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return -1, nil }); v != 1 {
		t.Errorf("existing entry not served: got %d", v)
	}
	for i := range 3 {
		if v, err := Do(context.Background(), c, mcCall(float64(10+i)), func(context.Context) (int, error) { return 10 + i, nil }); v != 10+i || err != nil {
			t.Errorf("new call got (%d, %v)", v, err)
		}
	}
	if n := strings.Count(log.String(), "WARN"); n != 1 {
		t.Errorf("%d warnings, want one:\n%s", n, log)
	}
}

// The same with real permissions, where they apply.
func TestReadOnlyDirectoryPermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which may write to a read-only directory: TestUnwritableCacheServesWhatItHas covers this path through the filesystem seam")
	}
	dir := t.TempDir()
	c, log := openDir(t, dir)
	Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return 1, nil })
	key, _ := mcCall(1).Key()
	os.Chmod(filepath.Join(dir, key[:2]), 0o500)
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	defer os.Chmod(filepath.Join(dir, key[:2]), 0o700)
	if v, _ := Do(context.Background(), c, mcCall(1), func(context.Context) (int, error) { return -1, nil }); v != 1 {
		t.Errorf("existing entry not served: got %d", v)
	}
	if v, err := Do(context.Background(), c, mcCall(2), func(context.Context) (int, error) { return 2, nil }); v != 2 || err != nil {
		t.Errorf("new call got (%d, %v)", v, err)
	}
	if n := strings.Count(log.String(), "WARN"); n != 1 {
		t.Errorf("%d warnings, want one:\n%s", n, log)
	}
}

// stressDuration is how long the concurrency tests run: briefly in
// go test ./..., for ten seconds with CACHEGEN_STRESS=1.
func stressDuration() time.Duration {
	if os.Getenv("CACHEGEN_STRESS") != "" {
		return 10 * time.Second
	}
	return 300 * time.Millisecond
}
