package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/remote"
)

// memStore is a remote.Store and Leaser in memory, which records the requests it
// gets and fails them on demand.
type memStore struct {
	mu      sync.Mutex
	entries map[string][]byte
	leases  map[string]memLease
	ops     []string              // every request, by name
	fail    func(op string) error // when it returns an error, the request fails with it
	block   func(op string) bool  // when true, the request waits for its ctx
}

type memLease struct {
	token  string
	expiry time.Time
}

func newMemStore() *memStore {
	return &memStore{entries: map[string][]byte{}, leases: map[string]memLease{}}
}

func (s *memStore) begin(ctx context.Context, op string) error {
	s.mu.Lock()
	s.ops = append(s.ops, op)
	fail, block := s.fail, s.block
	s.mu.Unlock()
	if block != nil && block(op) {
		<-ctx.Done()
		return ctx.Err()
	}
	if fail != nil {
		return fail(op)
	}
	return nil
}

func (s *memStore) opCount(names ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, op := range s.ops {
		if len(names) == 0 || slices.Contains(names, op) {
			n++
		}
	}
	return n
}

func (s *memStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.begin(ctx, "get"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.entries[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return bytes.Clone(b), nil
}

func (s *memStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if err := s.begin(ctx, "getrange"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.entries[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	off = min(off, int64(len(b)))
	return bytes.Clone(b[off:min(off+n, int64(len(b)))]), nil
}

func (s *memStore) Put(ctx context.Context, key string, data []byte) error {
	if err := s.begin(ctx, "put"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[key] = bytes.Clone(data)
	return nil
}

func (s *memStore) Delete(ctx context.Context, key string) error {
	if err := s.begin(ctx, "delete"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[key]; !ok {
		return fs.ErrNotExist
	}
	delete(s.entries, key)
	return nil
}

func (s *memStore) List(ctx context.Context, fn func(remote.StoreEntry) error) error {
	if err := s.begin(ctx, "list"); err != nil {
		return err
	}
	s.mu.Lock()
	var es []remote.StoreEntry
	for k, b := range s.entries {
		es = append(es, remote.StoreEntry{Key: k, Size: int64(len(b)), LastUsed: time.Now()})
	}
	s.mu.Unlock()
	for _, e := range es {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) Close() error { return nil }

func (s *memStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := s.begin(ctx, "lease"); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[key]; ok && time.Now().Before(l.expiry) {
		return false, nil
	}
	s.leases[key] = memLease{token, time.Now().Add(ttl)}
	return true, nil
}

func (s *memStore) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if err := s.begin(ctx, "renew"); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[key]; !ok || l.token != token || time.Now().After(l.expiry) {
		return false, nil
	}
	s.leases[key] = memLease{token, time.Now().Add(ttl)}
	return true, nil
}

func (s *memStore) Release(ctx context.Context, key, token string) error {
	if err := s.begin(ctx, "release"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leases[key].token == token {
		delete(s.leases, key)
	}
	return nil
}

// only keeps the store's single entry at key, replacing its bytes.
func (s *memStore) set(key string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[key] = data
}

func (s *memStore) get(key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries[key]
}

// recordingStore is a memStore that keeps records (remote.Recorder), as
// every store of the module does.
type recordingStore struct {
	*memStore
	records sync.Map
}

func newRecordingStore() *recordingStore { return &recordingStore{memStore: newMemStore()} }

func (s *recordingStore) ReadRecord(ctx context.Context, name string) ([]byte, error) {
	if err := s.begin(ctx, "record"); err != nil {
		return nil, err
	}
	if b, ok := s.records.Load(name); ok {
		return b.([]byte), nil
	}
	return nil, fs.ErrNotExist
}

func (s *recordingStore) CreateRecord(ctx context.Context, name string, body []byte) (bool, error) {
	if err := s.begin(ctx, "record"); err != nil {
		return false, err
	}
	_, loaded := s.records.LoadOrStore(name, bytes.Clone(body))
	return !loaded, nil
}

func (s *recordingStore) RemoveRecord(ctx context.Context, name string) error {
	s.records.Delete(name)
	return nil
}

// openTiered opens a cache in a fresh directory in front of s.
func openTiered(t *testing.T, s remote.Store, o remote.Options, opts ...Option) (*Cache, *remote.Tier, *testenv.Buffer) {
	t.Helper()
	r := remote.New(s, "mem://test", o)
	c, log := open(t, append([]Option{WithRemote(r)}, opts...)...)
	return c, r, log
}

func keyOf(t *testing.T, call Call) string {
	t.Helper()
	k, err := call.Key()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var want = mcResult{Precision: 0.5, Bias: -0.25, Errors: []float64{1, 2, 3}}

func TestRemoteHitIsCopiedToTheLocalTier(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	a, _, _ := openTiered(t, s, remote.Options{})
	b, _, _ := openTiered(t, s, remote.Options{})
	var n counter
	if _, err := Do(ctx, a, mcCall(1), n.fn(want)); err != nil {
		t.Fatal(err)
	}
	got, err := Do(ctx, b, mcCall(1), n.fn(mcResult{}))
	if err != nil || !equalResult(got, want) {
		t.Fatalf("second cache: Do = %+v, %v; want %+v", got, err, want)
	}
	if n.n.Load() != 1 {
		t.Fatalf("computed %d times across two caches sharing a remote, want 1", n.n.Load())
	}
	if st := b.Stats(); st.RemoteHits != 1 || st.Hits != 1 || st.Misses != 0 {
		t.Errorf("second cache stats %+v, want one remote hit", st)
	}
	gets := s.opCount("getrange")
	if got, err := Do(ctx, b, mcCall(1), n.fn(mcResult{})); err != nil || !equalResult(got, want) {
		t.Fatalf("third call: %+v, %v", got, err)
	}
	if s.opCount("getrange") != gets {
		t.Error("a call after a remote hit asked the remote again: the hit was not copied to the local tier")
	}
	if st := b.Stats(); st.RemoteHits != 1 || st.Hits != 2 {
		t.Errorf("stats after a local hit %+v, want 2 hits, 1 remote", st)
	}
}

func equalResult(a, b mcResult) bool {
	return a.Precision == b.Precision && a.Bias == b.Bias && slices.Equal(a.Errors, b.Errors)
}

func TestRemoteMissStoresBothTiers(t *testing.T) {
	s := newMemStore()
	c, _, _ := openTiered(t, s, remote.Options{})
	var n counter
	if _, err := Do(context.Background(), c, mcCall(2), n.fn(want)); err != nil {
		t.Fatal(err)
	}
	k := keyOf(t, mcCall(2))
	local, _, _, err := c.disk.ReadEntry(disk.EntryName(k))
	if err != nil {
		t.Fatalf("local tier: %v", err)
	}
	if remote := s.get(k); !bytes.Equal(remote, local) {
		t.Errorf("the remote holds %d bytes, the local tier %d: want the same entry in both", len(remote), len(local))
	}
	if s.opCount("lease") != 1 || s.opCount("release") != 1 {
		t.Errorf("requests %v: want the miss computed under one lease, released after", s.ops)
	}
}

func TestRemoteFailuresNeverFailACallAndTripTheBreaker(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	down := errors.New("connection refused")
	s.fail = func(string) error { return down }
	c, _, log := openTiered(t, s, remote.Options{}) // the defaults: 3 failures, 30s

	var n counter
	for i := range 10 {
		got, err := Do(ctx, c, mcCall(float64(100+i)), n.fn(want))
		if err != nil || !equalResult(got, want) {
			t.Fatalf("call %d with the remote down: %+v, %v", i, got, err)
		}
	}
	if n.n.Load() != 10 {
		t.Errorf("computed %d of 10 calls", n.n.Load())
	}
	if got := s.opCount(); got != 3 {
		t.Errorf("the remote got %d requests, want 3: the breaker must stop asking after 3 failures in a row", got)
	}
	if st := c.Stats(); st.RemoteErrors != 3 {
		t.Errorf("RemoteErrors = %d, want 3", st.RemoteErrors)
	}
	if got := strings.Count(log.String(), "remote cache"); got != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", got, log)
	}
	if !strings.Contains(log.String(), "connection refused") {
		t.Errorf("log does not say what failed:\n%s", log)
	}
}

func TestRemoteOptionDefaults(t *testing.T) {
	got := remote.New(newMemStore(), "mem://test", remote.Options{}).Options()
	want := remote.Options{Timeout: 10 * time.Second, MaxEntry: 1 << 30, LeaseTTL: 30 * time.Second, MaxWait: 2 * time.Minute, FailureLimit: 3, Cooldown: 30 * time.Second}
	if got != want {
		t.Errorf("defaults %+v, want those README states: %+v", got, want)
	}
	// Only unset fields take a default, and the wait follows the lease.
	set := remote.New(newMemStore(), "mem://test", remote.Options{ReadOnly: true, Timeout: time.Second, LeaseTTL: 5 * time.Second, FailureLimit: 7}).Options()
	if set.Timeout != time.Second || set.LeaseTTL != 5*time.Second || set.FailureLimit != 7 || !set.ReadOnly || set.MaxWait != 20*time.Second || set.Cooldown != 30*time.Second {
		t.Errorf("defaults over set fields: %+v", set)
	}
}

func TestRemoteErrorsDoNotShowURLSecrets(t *testing.T) {
	s := newMemStore()
	s.fail = func(string) error { return errors.New("auth failed for redis://bob:s3cr3tpassw0rd@db") }
	remote.Register("secrettest", func(context.Context, *url.URL) (remote.Store, error) { return s, nil })
	r, err := remote.Open(context.Background(), "secrettest://bob:s3cr3tpassw0rd@db/", remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, log := open(t, WithRemote(r))
	Do(context.Background(), c, mcCall(1), (&counter{}).fn(want))
	if !strings.Contains(log.String(), "auth failed") || strings.Contains(log.String(), "s3cr3t") {
		t.Errorf("log %q: want the failure without the password", log)
	}
}

func TestRemoteFailingSomeRequestsIsLoggedOnce(t *testing.T) {
	s := newMemStore()
	s.fail = func(op string) error {
		if op == "getrange" {
			return errors.New("read timeout")
		}
		return nil
	}
	c, _, log := openTiered(t, s, remote.Options{})
	var n counter
	for i := range 5 {
		if got, err := Do(context.Background(), c, mcCall(float64(300+i)), n.fn(want)); err != nil || !equalResult(got, want) {
			t.Fatalf("call %d: %+v, %v", i, got, err)
		}
	}
	if c.Stats().RemoteErrors != 10 || s.opCount("put") != 5 {
		t.Errorf("stats %+v, %d puts: want every get failed and every result stored", c.Stats(), s.opCount("put"))
	}
	if got := strings.Count(log.String(), "remote cache"); got != 1 {
		t.Errorf("a store failing its gets was logged %d times, want once:\n%s", got, log)
	}
}

func TestRemoteTimeoutIsAMiss(t *testing.T) {
	s := newMemStore()
	s.block = func(op string) bool { return op == "getrange" }
	c, _, _ := openTiered(t, s, remote.Options{Timeout: 50 * time.Millisecond})
	var n counter
	got, err := Do(context.Background(), c, mcCall(3), n.fn(want))
	if err != nil || !equalResult(got, want) || n.n.Load() != 1 {
		t.Fatalf("Do with a remote that hangs = %+v, %v (computed %d); want the computed result", got, err, n.n.Load())
	}
	// The lookup's get, and the one after taking the lease, timed out.
	if st := c.Stats(); st.RemoteErrors != 2 || s.opCount("put") != 1 {
		t.Errorf("RemoteErrors = %d, puts %d; want the two gets timed out and the result stored", st.RemoteErrors, s.opCount("put"))
	}
}

func TestRemoteBadBodiesAreMisses(t *testing.T) {
	ctx := context.Background()
	k := keyOf(t, mcCall(4))
	s := newMemStore()
	a, _, _ := openTiered(t, s, remote.Options{})
	var n counter
	Do(ctx, a, mcCall(4), n.fn(want))
	good := s.get(k)
	for name, body := range map[string][]byte{
		"empty":     {},
		"truncated": good[:len(good)/2],
		"header":    good[:entry.HeaderSize],
		"extended":  append(bytes.Clone(good), 0),
		"foreign":   []byte("<html>502 Bad Gateway</html>"),
	} {
		t.Run(name, func(t *testing.T) {
			s.set(k, body)
			b, _, _ := openTiered(t, s, remote.Options{})
			var m counter
			got, err := Do(ctx, b, mcCall(4), m.fn(want))
			if err != nil || !equalResult(got, want) || m.n.Load() != 1 {
				t.Fatalf("Do = %+v, %v, computed %d; want a computed result", got, err, m.n.Load())
			}
			if st := b.Stats(); st.Corrupt != 1 || st.RemoteHits != 0 {
				t.Errorf("stats %+v: want the body counted corrupt and no remote hit", st)
			}
		})
	}
}

// resum rewrites the checksums of an entry after its bytes were changed,
// as someone able to write to a shared cache could.
func resum(data []byte) {
	h, err := entry.ParseHeader(data, int64(len(data)))
	if err != nil {
		panic(err)
	}
	metaEnd := entry.HeaderSize + int(h.MetaLen)
	at := int(h.TrailerAt())
	binary.LittleEndian.PutUint32(data[at:], entry.Checksum(data[:metaEnd]))
	binary.LittleEndian.PutUint32(data[at+4:], entry.Checksum(data[metaEnd:at]))
}

func TestSignedEntries(t *testing.T) {
	ctx := context.Background()
	key1 := []byte("team signing key, 32 bytes long!")
	key2 := []byte("another key that is long enough")
	k := keyOf(t, mcCall(5))
	other := mcResult{Precision: 666}

	// openWith opens a cache of its own directory in front of s.
	openWith := func(s remote.Store, key []byte) (*Cache, *testenv.Buffer) {
		var opts []Option
		if key != nil {
			opts = append(opts, WithSigningKey(key))
		}
		c, _, log := openTiered(t, s, remote.Options{}, opts...)
		return c, log
	}
	// served runs the call on a fresh cache with key, and reports whether
	// it was served rather than computed, and what it returned.
	served := func(s remote.Store, key []byte) (bool, mcResult, Stats, string) {
		c, log := openWith(s, key)
		var n counter
		got, err := Do(ctx, c, mcCall(5), n.fn(want))
		if err != nil {
			t.Fatal(err)
		}
		return n.n.Load() == 0, got, c.Stats(), log.String()
	}

	s := newRecordingStore()
	a, _ := openWith(s, key1)
	Do(ctx, a, mcCall(5), (&counter{}).fn(want))
	signed := bytes.Clone(s.get(k))
	// untouched checks that the team's entry is still the one a signed.
	untouched := func(t *testing.T) {
		t.Helper()
		if !bytes.Equal(s.get(k), signed) {
			t.Error("the entry signed with the team's key was replaced")
		}
	}

	t.Run("same key is served", func(t *testing.T) {
		s.set(k, bytes.Clone(signed))
		if ok, got, st, _ := served(s, key1); !ok || !equalResult(got, want) || st.BadSignatures != 0 {
			t.Errorf("served=%v got=%+v stats=%+v; want a hit", ok, got, st)
		}
	})
	t.Run("another key neither serves nor replaces the team's entries", func(t *testing.T) {
		s.set(k, bytes.Clone(signed))
		ok, got, st, log := served(s, key2)
		if ok || !equalResult(got, want) || st.Corrupt != 0 {
			t.Errorf("served=%v got=%+v stats=%+v; want a miss", ok, got, st)
		}
		untouched(t)
		if msg := "the remote's entries are signed with another key than this machine's CACHEGEN_SIGNING_KEY (the remote's key id " + entry.KeyID(key1) + ", this machine's " + entry.KeyID(key2) + ")"; strings.Count(log, msg) != 1 {
			t.Errorf("log does not say once: %s\n%s", msg, log)
		}
		for _, secret := range [][]byte{key1, key2} {
			if strings.Contains(log, string(secret)) {
				t.Errorf("log shows a signing key:\n%s", log)
			}
		}
	})
	t.Run("unsigned is rejected, and replaced", func(t *testing.T) {
		u := newRecordingStore()
		plain, _ := openWith(u, nil)
		Do(ctx, plain, mcCall(5), (&counter{}).fn(other))
		if ok, got, st, _ := served(u, key1); ok || !equalResult(got, want) || st.BadSignatures != 1 {
			t.Errorf("served=%v got=%+v stats=%+v; want the planted result rejected", ok, got, st)
		}
		if h, err := entry.ParseHeader(u.get(k), -1); err != nil || entry.CheckMAC(key1, h.Sum, h, u.get(k)) != nil {
			t.Errorf("the unsigned entry was not replaced by a signed one (%v)", err)
		}
	})
	t.Run("tampered is rejected", func(t *testing.T) {
		bad := bytes.Clone(signed)
		h, _ := entry.ParseHeader(bad, int64(len(bad)))
		bad[h.TrailerAt()-1] ^= 0x40 // the last payload byte: an Errors element
		resum(bad)
		if _, _, _, err := entry.Parse(bad, nil); err != nil {
			t.Fatalf("the tampered entry must pass every check but the MAC: %v", err)
		}
		s.set(k, bad)
		if ok, got, st, _ := served(s, key1); ok || !equalResult(got, want) || st.BadSignatures != 1 {
			t.Errorf("served=%v got=%+v stats=%+v; want the tampered entry rejected", ok, got, st)
		}
	})
	t.Run("stripped signature is rejected", func(t *testing.T) {
		bad := bytes.Clone(signed[:len(signed)-entry.MACSize])
		binary.LittleEndian.PutUint16(bad[10:], 0)
		resum(bad)
		s.set(k, bad)
		if ok, _, st, _ := served(s, key1); ok || st.BadSignatures != 1 {
			t.Errorf("served=%v stats=%+v; want the unsigned copy rejected", ok, st)
		}
	})
	t.Run("moved to another key is rejected", func(t *testing.T) {
		h, _ := entry.ParseHeader(signed, int64(len(signed)))
		var otherSum [32]byte
		otherSum[0] = 1
		if entry.CheckMAC(key1, h.Sum, h, signed) != nil {
			t.Fatal("a valid entry fails its MAC")
		}
		if entry.CheckMAC(key1, otherSum, h, signed) == nil {
			t.Error("the MAC does not bind the entry to its full key")
		}
	})
	t.Run("a machine without a key neither serves nor replaces signed entries", func(t *testing.T) {
		s.set(k, bytes.Clone(signed))
		ok, got, _, log := served(s, nil)
		if ok || !equalResult(got, want) {
			t.Errorf("served=%v got=%+v; want a miss", ok, got)
		}
		untouched(t)
		if msg := "the remote's entries are signed (key id " + entry.KeyID(key1) + "), and this machine has no signing key"; strings.Count(log, msg) != 1 {
			t.Errorf("log does not say once: %s\n%s", msg, log)
		}
	})
	t.Run("a store without records is judged by its entries", func(t *testing.T) {
		p := newMemStore() // keeps no signing record
		a, _ := openWith(p, key1)
		Do(ctx, a, mcCall(5), (&counter{}).fn(want))
		team := bytes.Clone(p.get(k))
		// Another key finds signed entries it cannot verify: it uses nothing.
		if ok, _, _, log := served(p, key2); ok || !bytes.Equal(p.get(k), team) || !strings.Contains(log, "signed with another key") {
			t.Errorf("another key: served=%v, entry kept %v\n%s", ok, bytes.Equal(p.get(k), team), log)
		}
		// No key: the first signed entry it finds stops it writing.
		c, log := openWith(p, nil)
		for _, n := range []float64{5, 6} {
			var computed counter
			Do(ctx, c, mcCall(n), computed.fn(want))
			if computed.n.Load() != 1 {
				t.Errorf("call %v served from a signed entry it cannot check", n)
			}
		}
		if !bytes.Equal(p.get(k), team) || p.get(keyOf(t, mcCall(6))) != nil {
			t.Errorf("a machine without a key wrote to a store of signed entries:\n%s", log)
		}
		if strings.Count(log.String(), "and this machine has no signing key") != 1 {
			t.Errorf("log does not say once why the remote is not used:\n%s", log)
		}
	})
	t.Run("local tier is checked too", func(t *testing.T) {
		dir := t.TempDir()
		plain, _ := openDir(t, dir)
		Do(ctx, plain, mcCall(5), (&counter{}).fn(other))
		c, _ := openDir(t, dir, WithSigningKey(key1))
		var n counter
		got, _ := Do(ctx, c, mcCall(5), n.fn(want))
		if n.n.Load() != 1 || !equalResult(got, want) || c.Stats().BadSignatures != 1 {
			t.Errorf("got %+v, computed %d, stats %+v; want the unsigned local entry rejected", got, n.n.Load(), c.Stats())
		}
	})
	t.Run("short key is refused", func(t *testing.T) {
		_, err := Open(t.TempDir(), WithSigningKey([]byte("short")))
		if err == nil || !strings.Contains(err.Error(), "at least 16") || strings.Contains(err.Error(), "short") {
			t.Errorf("Open with a 5-byte key: %v; want a refusal that does not quote the key", err)
		}
	})
}

func TestRemoteReadOnlySendsNoWrites(t *testing.T) {
	ctx := context.Background()
	s := newMemStore()
	w, _, _ := openTiered(t, s, remote.Options{})
	Do(ctx, w, mcCall(6), (&counter{}).fn(want))
	s.ops = nil

	c, _, _ := openTiered(t, s, remote.Options{ReadOnly: true})
	var n counter
	for _, snr := range []float64{6, 7, 7} { // a remote hit, a miss, a local hit
		if _, err := Do(ctx, c, mcCall(snr), n.fn(want)); err != nil {
			t.Fatal(err)
		}
	}
	if n.n.Load() != 1 || c.Stats().RemoteHits != 1 {
		t.Errorf("computed %d, stats %+v; want one remote hit and one computation", n.n.Load(), c.Stats())
	}
	c.Invalidate(context.Background(), mcCall(6))
	for _, op := range s.ops {
		if op != "getrange" {
			t.Errorf("a read-only remote got requests %v: want only reads", s.ops)
			break
		}
	}
	if s.get(keyOf(t, mcCall(6))) == nil || s.get(keyOf(t, mcCall(7))) != nil {
		t.Error("the read-only tier's store changed")
	}
}

func TestLeaseComputesOnceAcrossCaches(t *testing.T) {
	s := newMemStore()
	var n atomic.Int64
	var wg sync.WaitGroup
	results := make([]int, 4)
	caches := make([]*Cache, 4)
	for i := range caches {
		// Separate directories: only the remote's lease can keep them
		// from computing four times.
		caches[i], _, _ = openTiered(t, s, remote.Options{LeaseTTL: time.Second})
	}
	for i, c := range caches {
		wg.Go(func() {
			v, err := Do(context.Background(), c, mcCall(8), func(context.Context) (int, error) {
				n.Add(1)
				time.Sleep(300 * time.Millisecond)
				return 42, nil
			})
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		})
	}
	wg.Wait()
	if n.Load() != 1 {
		t.Errorf("four caches sharing a leasing remote computed %d times, want 1", n.Load())
	}
	if !slices.Equal(results, []int{42, 42, 42, 42}) {
		t.Errorf("results %v", results)
	}
}

func TestLeaseOfADeadHolderIsTakenOver(t *testing.T) {
	s := newMemStore()
	k := keyOf(t, mcCall(9))
	// A holder that died: its lease is never renewed.
	s.Lease(context.Background(), k, "dead", 300*time.Millisecond)
	c, _, _ := openTiered(t, s, remote.Options{LeaseTTL: time.Second})
	var n counter
	got, err := Do(context.Background(), c, mcCall(9), n.fn(want))
	if err != nil || !equalResult(got, want) || n.n.Load() != 1 {
		t.Fatalf("Do = %+v, %v, computed %d; want it computed once the dead lease expired", got, err, n.n.Load())
	}
	if s.opCount("lease") < 2 {
		t.Errorf("requests %v: want the caller to wait on the held lease before taking it", s.ops)
	}
}

// A caller waiting for another machine's computation waits at most half of
// its time, then computes itself: the remote tier never fails a call. A
// caller that gives up (its context cancelled) gets its context's error.
func TestLeaseWaitHonoursContext(t *testing.T) {
	s := newMemStore()
	k := keyOf(t, mcCall(10))
	s.Lease(context.Background(), k, "busy", time.Hour)
	c, _, _ := openTiered(t, s, remote.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	var n counter
	var left time.Duration
	got, err := Do(ctx, c, mcCall(10), func(ctx context.Context) (mcResult, error) {
		dl, _ := ctx.Deadline()
		left = time.Until(dl)
		return n.fn(want)(ctx)
	})
	if err != nil || !equalResult(got, want) || n.n.Load() != 1 {
		t.Errorf("Do while another machine holds the lease, ctx ending: %v, computed %d; want it computed here", err, n.n.Load())
	}
	if left < 150*time.Millisecond {
		t.Errorf("the call began computing with %s of its 400ms left, want about half", left)
	}
	s.Lease(context.Background(), keyOf(t, mcCall(12)), "busy", time.Hour)
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := Do(ctx, c, mcCall(12), n.fn(want)); !errors.Is(err, context.Canceled) || n.n.Load() != 1 {
		t.Errorf("Do while another machine holds the lease, ctx cancelled: %v, computed %d; want the ctx's error", err, n.n.Load())
	}
}

func TestLeaseWaitIsBounded(t *testing.T) {
	s := newMemStore()
	k := keyOf(t, mcCall(11))
	s.Lease(context.Background(), k, "busy", time.Hour)
	c, _, log := openTiered(t, s, remote.Options{MaxWait: 100 * time.Millisecond}, WithVerbose(true))
	var n counter
	got, err := Do(context.Background(), c, mcCall(11), n.fn(want))
	if err != nil || !equalResult(got, want) || n.n.Load() != 1 {
		t.Errorf("Do = %+v, %v, computed %d; want it computed after MaxWait", got, err, n.n.Load())
	}
	if !strings.Contains(log.String(), "computing it here") {
		t.Errorf("log %q: want the give-up explained", log)
	}
	if !strings.Contains(log.String(), "[WAIT] another machine (remote mem://test) is computing this call: waiting for its result key="+k) {
		t.Errorf("log %q: want the wait announced", log)
	}
}

func TestInvalidateRemovesBothTiers(t *testing.T) {
	s := newMemStore()
	c, _, _ := openTiered(t, s, remote.Options{})
	var n counter
	Do(context.Background(), c, mcCall(12), n.fn(want))
	if ok, err := c.Invalidate(context.Background(), mcCall(12)); !ok || err != nil {
		t.Fatalf("Invalidate = %v, %v", ok, err)
	}
	Do(context.Background(), c, mcCall(12), n.fn(want))
	if n.n.Load() != 2 {
		t.Errorf("computed %d times, want 2: an invalidated call must not come back from the remote", n.n.Load())
	}
}

func TestRemoteFromEnvironment(t *testing.T) {
	s := newMemStore()
	remote.Register("envtest", func(ctx context.Context, u *url.URL) (remote.Store, error) {
		if u.Host == "fail" {
			return nil, fmt.Errorf("cannot reach %s", u.String())
		}
		return s, nil
	})
	cases := []struct {
		name, remote, mode, key string
		wantRemote, readOnly    bool
		wantOff                 bool
		wantLog                 string
	}{
		{"remote", "envtest://h", "", "", true, false, false, ""},
		{"readonly", "envtest://h", "readonly", "", true, true, false, ""},
		{"readonly in capitals", "envtest://h", "ReadOnly", "", true, true, false, ""},
		{"bad remote mode", "envtest://h", "sometimes", "", false, false, false, `CACHEGEN_REMOTE_MODE="sometimes" is not a remote mode`},
		{"unopenable", "envtest://u:hunter2hunter2@fail", "", "", false, false, false, "using the local cache only"},
		{"signing key", "", "", "sixteen or more bytes", false, false, false, ""},
		{"short signing key", "", "", "short", false, false, true, "CACHEGEN_SIGNING_KEY is 5 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envDir, t.TempDir())
			t.Setenv(envRemote, tc.remote)
			t.Setenv(envRemoteMode, tc.mode)
			if tc.key != "" {
				t.Setenv(envSigningKey, tc.key)
			}
			var log bytes.Buffer
			c := fromEnv(slog.New(logline.New(&log)))
			if (c.remote != nil) != tc.wantRemote || c.remote != nil && c.remote.Options().ReadOnly != tc.readOnly {
				t.Errorf("remote %v, want present=%v readonly=%v", c.remote, tc.wantRemote, tc.readOnly)
			}
			if (c.Mode() == ModeOff) != tc.wantOff {
				t.Errorf("mode %v", c.Mode())
			}
			if tc.key != "" && !tc.wantOff && string(c.signKey) != tc.key {
				t.Error("the signing key was not used")
			}
			if tc.wantLog == "" && log.Len() > 0 || !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log %q, want %q", log.String(), tc.wantLog)
			}
			if strings.Contains(log.String(), "hunter2") || tc.key != "" && strings.Contains(log.String(), tc.key) {
				t.Errorf("log shows a secret: %q", log.String())
			}
		})
	}
}

// A hit in verify mode saves no computing, from either tier: the call is
// computed anyway.
func TestVerifyModeSavesNothing(t *testing.T) {
	s := newMemStore()
	slow := func(context.Context) (int, error) { time.Sleep(5 * time.Millisecond); return 1, nil }
	first, _, _ := openTiered(t, s, remote.Options{})
	do(t, first, mcCall(1), slow)
	c, _, _ := openTiered(t, s, remote.Options{}, WithMode(ModeVerify))
	do(t, c, mcCall(1), slow) // from the remote
	do(t, c, mcCall(1), slow) // from the local copy
	if st := c.Stats(); st.Hits != 2 || st.RemoteHits != 1 || st.Saved != 0 {
		t.Errorf("stats %+v: want two hits, one remote, and nothing saved", st)
	}
}

// stuckRenewals is a store whose lease renewals never answer.
type stuckRenewals struct{ *memStore }

func (s stuckRenewals) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// Releasing a lease stops a renewal under way: a renewal that hangs does
// not hold the caller past its context.
func TestLeaseReleaseDoesNotWaitForARenewal(t *testing.T) {
	c, _, _ := openTiered(t, stuckRenewals{newMemStore()}, remote.Options{LeaseTTL: 300 * time.Millisecond, Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	got, err := Do(ctx, c, mcCall(21), func(context.Context) (mcResult, error) {
		time.Sleep(350 * time.Millisecond) // long enough for a renewal to start
		return want, nil
	})
	if err != nil || !equalResult(got, want) {
		t.Fatalf("Do = %+v, %v", got, err)
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("Do took %s with a 1s context: the release waited for a hanging renewal", took)
	}
}

// A scheme no linked store opens is refused with what to import, and
// without the URL's secrets.
func TestOpenUnknownSchemeSaysWhatToImport(t *testing.T) {
	_, err := remote.Open(context.Background(), "nosuch://u:hunter2hunter2@h/", remote.Options{})
	if !errors.Is(err, remote.ErrNoStore) || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), `import _ "github.com/cachegen/cachegen/remote/all"`) {
		t.Errorf("Open of an unknown scheme: %v", err)
	}
}

// rangeSpy records the largest range asked of the store it wraps.
type rangeSpy struct {
	*memStore
	largest atomic.Int64
}

func (s *rangeSpy) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	for cur := s.largest.Load(); n > cur && !s.largest.CompareAndSwap(cur, n); cur = s.largest.Load() {
	}
	return s.memStore.GetRange(ctx, key, off, n)
}

// A cache with a signing key gives it to its remote tier: a large entry
// planted there without the key's MAC is refused from its head, and the
// rest of it is never asked for.
func TestLargeRemoteEntryIsCheckedBeforeItIsFetched(t *testing.T) {
	spy := &rangeSpy{memStore: newMemStore()}
	c, _, _ := openTiered(t, spy, remote.Options{}, WithSigningKey([]byte("a signing key of enough bytes")))
	path := filepath.Join(t.TempDir(), "planted")
	plantHeaderOf(t, path, validEntry(t), entry.BigSigned+32<<20, false)
	planted, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spy.set(keyOf(t, mcCall(300)), planted)
	got, err := Do(context.Background(), c, mcCall(300), (&counter{}).fn(want))
	if err != nil || !equalResult(got, want) {
		t.Fatalf("Do over a planted remote entry: %+v, %v; want the computed result", got, err)
	}
	if n := spy.largest.Load(); n > 1<<20 {
		t.Errorf("the tier asked the store for %d bytes at once of a planted %d-byte entry: the signing key was not used to refuse it first", n, len(planted))
	}
}
