package file_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cachegen/cachegen/remote"
	"github.com/cachegen/cachegen/remote/file" // registers file://
	"github.com/cachegen/cachegen/remote/storetest"
)

// A file:// URL opens a directory as a shared store that passes every
// check a Store must.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) remote.Store {
		r, err := remote.Open(context.Background(), "file://"+t.TempDir(), remote.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Store()
	})
}

// TestForgedLeasesAreTakenOver plants leases that would make waiters wait
// for ever: with no expiry, expiring far ahead, oversized, or a FIFO. A
// caller takes each over at once; a lease held and renewed by a live
// holder is respected.
func TestForgedLeasesAreTakenOver(t *testing.T) {
	const ttl = 30 * time.Second
	far := time.Now().Add(time.Hour).UnixNano()
	for name, body := range map[string][]byte{
		"no expiry": []byte("token"),
		"far ahead": fmt.Appendf(nil, "token %d", far),
		"garbled":   []byte("\x00\x01"),
		"oversized": bytes.Repeat([]byte("x "), 8<<10),
		"a FIFO":    nil,
		"valid":     fmt.Appendf(nil, "token %d", time.Now().Add(ttl/2).UnixNano()),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := file.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			const key = "0123456789abcdef"
			lease := filepath.Join(dir, "01", key+".lease")
			os.MkdirAll(filepath.Dir(lease), 0o700)
			if body == nil {
				if err := syscall.Mkfifo(lease, 0o600); err != nil {
					t.Skip(err)
				}
			} else {
				os.WriteFile(lease, body, 0o600)
			}
			got, err := s.Lease(context.Background(), key, "mine", ttl)
			if wantTaken := name != "valid"; got != wantTaken || err != nil {
				t.Fatalf("Lease over a %s lease = %v, %v; want %v", name, got, err, wantTaken)
			}
		})
	}
}
