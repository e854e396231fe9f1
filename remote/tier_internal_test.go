package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/logline"
)

func TestRedactHidesSecrets(t *testing.T) {
	u, _ := url.Parse("redis://alice:hunter2hunter2@db:6379/0?prefix=t&password=p4ssw0rd&region=eu")
	got := redact(u)
	if strings.Contains(got, "hunter2") || strings.Contains(got, "p4ssw0rd") || !strings.Contains(got, "alice") || !strings.Contains(got, "region=eu") {
		t.Errorf("Redact = %q", got)
	}
	if msg := scrub("dial redis://alice:hunter2hunter2@db failed: p4ssw0rd", u); strings.Contains(msg, "hunter2") || strings.Contains(msg, "p4ssw0rd") {
		t.Errorf("scrub left a secret: %q", msg)
	}
}

// TestMalformedURLsAreRedacted opens malformed URLs that hold a secret: it
// shows in no error, name or log.
func TestMalformedURLsAreRedacted(t *testing.T) {
	Register("echo", func(_ context.Context, u *url.URL) (Store, error) {
		return nil, fmt.Errorf("cannot open %s (host %q, path %q, opaque %q, fragment %q, query %q)", u.String(), u.Host, u.Path, u.Opaque, u.Fragment, u.RawQuery)
	})
	for _, raw := range []string{
		"echo:user:SECRET@h",
		"echo://:1234/SECRET@h",
		"echo://:12?SECRET@h",
		"echo://:12#SECRET@h",
		"echo://user:SECRET@h/",
		"echo://h/?endpoint=http://user:SECRET@minio:9000&region=x",
		"echo://h/?password=SECRET",
		"echo ://user:SECRET@h",
		"echo://:1234/SECRET?x@h",
		"echo://:12?a=SE&CRET@h",
	} {
		_, err := Open(context.Background(), raw, Options{})
		if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "CRET") {
			t.Errorf("Open(%q): %v", raw, err)
		}
		if u, perr := url.Parse(raw); perr == nil && (strings.Contains(redact(u), "SECRET") || strings.Contains(redact(u), "CRET")) {
			t.Errorf("redact(%q) = %q", raw, redact(u))
		}
	}
}

// Scrub of a remote that does not parse as a URL removes its credentials
// where it has some, and leaves a message without any as it is.
func TestScrubOfAMalformedURL(t *testing.T) {
	if got := Scrub("open %zz: bad", "%zz"); got != "open %zz: bad" {
		t.Errorf("Scrub without credentials = %q, want the message unchanged", got)
	}
	if got := Scrub("open %zz://u:SECRET@h: bad", "%zz://u:SECRET@h"); strings.Contains(got, "SECRET") {
		t.Errorf("Scrub = %q, want no secret", got)
	}
}

// failingStore is a Store whose requests fail while fail is set, and
// which holds nothing otherwise.
type failingStore struct {
	mu   sync.Mutex
	fail error
	ops  int
}

func (s *failingStore) op() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops++
	return s.fail
}

func (s *failingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ops
}

func (s *failingStore) Get(ctx context.Context, key string) ([]byte, error) {
	return s.GetRange(ctx, key, 0, -1)
}

func (s *failingStore) GetRange(context.Context, string, int64, int64) ([]byte, error) {
	if err := s.op(); err != nil {
		return nil, err
	}
	return nil, fs.ErrNotExist
}

func (s *failingStore) Put(context.Context, string, []byte) error { return s.op() }
func (s *failingStore) Delete(context.Context, string) error      { return s.op() }
func (s *failingStore) List(context.Context, func(StoreEntry) error) error {
	return s.op()
}
func (s *failingStore) Close() error { return nil }

// After FailureLimit failures in a row the tier asks nothing for
// Cooldown; then one request probes the store, and when it answers the
// tier is back, and says so.
func TestBreakerCoolsDownThenProbes(t *testing.T) {
	ctx := context.Background()
	s := &failingStore{fail: errors.New("connection refused")}
	var log bytes.Buffer
	r := New(s, "mem://test", Options{}) // the defaults: 3 failures, 30s
	r.SetLogger(slog.New(logline.New(&log)))
	now := time.Unix(1e9, 0)
	r.now = func() time.Time { return now }
	for range 10 {
		if data, err := r.Get(ctx, "0123456789abcdef", nil); data != nil || err == nil {
			t.Fatalf("Get from a store that is down: %q, %v", data, err)
		}
	}
	if got := s.count(); got != 3 {
		t.Errorf("the store got %d requests, want 3: the breaker stops asking after 3 failures in a row", got)
	}
	if r.Errors() != 3 {
		t.Errorf("Errors() = %d, want 3", r.Errors())
	}
	now = now.Add(29 * time.Second)
	r.Get(ctx, "0123456789abcdef", nil)
	if got := s.count(); got != 3 {
		t.Errorf("the store got a request 29s into a 30s cooldown")
	}
	now = now.Add(2 * time.Second)
	s.mu.Lock()
	s.fail = nil
	s.mu.Unlock()
	if _, err := r.Get(ctx, "0123456789abcdef", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get after the cooldown: %v, want the store's answer, none", err)
	}
	if s.count() != 4 {
		t.Errorf("%d requests: want one probe after the cooldown", s.count())
	}
	if !strings.Contains(log.String(), "answering again") {
		t.Errorf("recovery not logged:\n%s", log.String())
	}
	r.Put(ctx, "0123456789abcdef", []byte("x"))
	if s.count() != 5 {
		t.Errorf("after recovery, a put was not sent")
	}
}
