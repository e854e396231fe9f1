// Package storetest checks that a remote.Store, and a Leaser if it
// is one, behaves as the cache relies on.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/remote"
)

// Run checks the store that open returns; open gives each subtest an empty
// store, which Run closes.
func Run(t *testing.T, open func(t *testing.T) remote.Store) {
	ctx := context.Background()
	const k1, k2 = "0123456789abcdef", "fedcba9876543210"
	sub := func(name string, f func(t *testing.T, s remote.Store)) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			f(t, s)
		})
	}

	sub("GetPutDelete", func(t *testing.T, s remote.Store) {
		if _, err := s.Get(ctx, k1); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Get of a missing entry: err = %v, want one wrapping fs.ErrNotExist", err)
		}
		data := bytes.Repeat([]byte("entry\x00"), 1000)
		if err := s.Put(ctx, k1, data); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, k1); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Get after Put = %d bytes, %v; want the %d bytes put", len(got), err, len(data))
		}
		if err := s.Put(ctx, k1, []byte("replaced")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, k1); err != nil || string(got) != "replaced" {
			t.Fatalf("Get after a second Put = %q, %v; want %q", got, err, "replaced")
		}
		if err := s.Delete(ctx, k1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, k1); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Get after Delete: err = %v, want fs.ErrNotExist", err)
		}
		if err := s.Delete(ctx, k1); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Delete of a missing entry: err = %v, want fs.ErrNotExist", err)
		}
	})

	sub("GetRange", func(t *testing.T, s remote.Store) {
		if err := s.Put(ctx, k1, []byte("0123456789")); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			off, n int64
			want   string
		}{{0, 4, "0123"}, {3, 4, "3456"}, {8, 100, "89"}} {
			got, err := s.GetRange(ctx, k1, c.off, c.n)
			if err != nil || string(got) != c.want {
				t.Errorf("GetRange(%d, %d) = %q, %v; want %q", c.off, c.n, got, err, c.want)
			}
		}
		if _, err := s.GetRange(ctx, k2, 0, 4); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("GetRange of a missing entry: err = %v, want fs.ErrNotExist", err)
		}
	})

	sub("List", func(t *testing.T, s remote.Store) {
		before := time.Now().Add(-time.Minute)
		for i, k := range []string{k1, k2} {
			if err := s.Put(ctx, k, make([]byte, 10*(i+1))); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]int64{}
		err := s.List(ctx, func(e remote.StoreEntry) error {
			got[e.Key] = e.Size
			if e.LastUsed.Before(before) || e.LastUsed.After(time.Now().Add(time.Minute)) {
				t.Errorf("entry %s: LastUsed %v is not about now", e.Key, e.LastUsed)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{k1: 10, k2: 20}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("List = %v, want %v", got, want)
		}
	})

	sub("Creator", func(t *testing.T, s remote.Store) {
		c, ok := s.(remote.Creator)
		if !ok {
			t.Skip("the store cannot create entries only where there are none")
		}
		if ok, err := c.Create(ctx, k1, []byte("first")); err != nil || !ok {
			t.Fatalf("Create of a missing entry = %v, %v; want true", ok, err)
		}
		if ok, err := c.Create(ctx, k1, []byte("second")); err != nil || ok {
			t.Fatalf("Create of an entry there = %v, %v; want false", ok, err)
		}
		if got, err := s.Get(ctx, k1); err != nil || string(got) != "first" {
			t.Fatalf("Get after two Creates = %q, %v; want the first", got, err)
		}
		// Of creators racing, one creates it.
		var wg sync.WaitGroup
		var created sync.Map
		for i := range 8 {
			wg.Go(func() {
				if ok, err := c.Create(ctx, k2, []byte{byte('a' + i)}); err == nil && ok {
					created.Store(i, true)
				}
			})
		}
		wg.Wait()
		n := 0
		created.Range(func(any, any) bool { n++; return true })
		if n != 1 {
			t.Errorf("%d of 8 racing Creates created the entry, want 1", n)
		}
	})

	sub("UseKeeper", func(t *testing.T, s remote.Store) {
		u, ok := s.(remote.UseKeeper)
		if !ok {
			t.Skip("the store keeps no records of use")
		}
		if err := s.Put(ctx, k1, []byte("0123456789")); err != nil {
			t.Fatal(err)
		}
		if _, err := u.UseRange(ctx, k2, 0, 4); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("UseRange of a missing entry: err = %v, want fs.ErrNotExist", err)
		}
		lastUsed := func() time.Time {
			var at time.Time
			if err := s.List(ctx, func(e remote.StoreEntry) error {
				if e.Key == k1 {
					at = e.LastUsed
				}
				if e.Key == k2 {
					t.Errorf("List has %s, which only UseRange asked for", k2)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return at
		}
		put := lastUsed()
		time.Sleep(20 * time.Millisecond)
		for range 2 {
			if got, err := s.GetRange(ctx, k1, 0, 4); err != nil || string(got) != "0123" {
				t.Fatalf("GetRange = %q, %v", got, err)
			}
			if at := lastUsed(); !at.Equal(put) {
				t.Fatalf("LastUsed moved from %v to %v after a GetRange and a listing: only UseRange records a use", put, at)
			}
		}
		if got, err := u.UseRange(ctx, k1, 3, 4); err != nil || string(got) != "3456" {
			t.Fatalf("UseRange(3, 4) = %q, %v; want %q", got, err, "3456")
		}
		if at := lastUsed(); !at.After(put) {
			t.Errorf("LastUsed %v after UseRange, not after the Put's %v", at, put)
		}
	})

	sub("NoTornReads", func(t *testing.T, s remote.Store) {
		a, b := bytes.Repeat([]byte{'a'}, 256<<10), bytes.Repeat([]byte{'b'}, 128<<10)
		if err := s.Put(ctx, k1, a); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s.Put(ctx, k1, [][]byte{a, b}[i%2])
			}
		})
		for range 50 {
			got, err := s.Get(ctx, k1)
			if err != nil || !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				t.Errorf("Get during Puts = %d bytes, %v: want one whole value", len(got), err)
				break
			}
		}
		close(stop)
		wg.Wait()
	})

	sub("Lease", func(t *testing.T, s remote.Store) {
		l, ok := s.(remote.Leaser)
		if !ok {
			t.Skip("the store does not lease keys")
		}
		ttl := time.Second
		if got, err := l.Lease(ctx, k1, "a", ttl); err != nil || !got {
			t.Fatalf("first Lease = %v, %v; want true", got, err)
		}
		if got, err := l.Lease(ctx, k1, "b", ttl); err != nil || got {
			t.Fatalf("Lease of a held key = %v, %v; want false", got, err)
		}
		if got, err := l.Lease(ctx, k2, "b", ttl); err != nil || !got {
			t.Fatalf("Lease of another key = %v, %v; want true", got, err)
		}
		if got, err := l.Renew(ctx, k1, "b", ttl); err != nil || got {
			t.Fatalf("Renew by a non-holder = %v, %v; want false", got, err)
		}
		if err := l.Release(ctx, k1, "b"); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.Lease(ctx, k1, "b", ttl); got {
			t.Fatal("a non-holder's Release ended the lease")
		}
		if err := l.Release(ctx, k1, "a"); err != nil {
			t.Fatal(err)
		}
		if got, err := l.Lease(ctx, k1, "b", ttl); err != nil || !got {
			t.Fatalf("Lease after the holder released = %v, %v; want true", got, err)
		}
		// b renews across two lease times: it keeps the lease.
		for range 4 {
			time.Sleep(ttl / 3)
			if got, err := l.Renew(ctx, k1, "b", ttl); err != nil || !got {
				t.Fatalf("Renew by the holder = %v, %v; want true", got, err)
			}
		}
		if got, _ := l.Lease(ctx, k1, "c", ttl); got {
			t.Fatal("a renewed lease was taken")
		}
		// Left alone, it expires.
		time.Sleep(ttl + 200*time.Millisecond)
		if got, err := l.Lease(ctx, k1, "c", ttl); err != nil || !got {
			t.Fatalf("Lease after expiry = %v, %v; want true", got, err)
		}
		if got, _ := l.Renew(ctx, k1, "b", ttl); got {
			t.Fatal("the expired holder renewed a lease now held by another")
		}
	})
}
