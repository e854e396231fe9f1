package remote

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
)

// Options configures a remote tier. The zero value is usable.
type Options struct {
	// ReadOnly makes the tier serve hits and never write: no stores, no
	// leases, no removals, and no records of use where the store keeps
	// them (UseKeeper), so its hits do not keep entries from being
	// pruned as unused. For machines that may read a team's cache but
	// must not change it.
	ReadOnly bool
	// Timeout bounds each request; the default is 10s. The requests of a
	// call before it computes (the lookup, the lease, the wait for
	// another machine) take, in all, at most half of what remained of the
	// call's context when it began, so that it has the other half to
	// compute in; storing its result and releasing its lease, at most half
	// of what remains then. A request that fails or times out is a miss,
	// and the call computes locally: a remote tier never fails a call.
	Timeout time.Duration
	// MaxEntry is the largest entry the tier reads or writes; the default
	// is DefaultMaxEntry. A larger entry is a miss and is not stored
	// there, and no reply of the store makes the process allocate more
	// than MaxEntry plus ReplySlack (a Store that reads replies of its own
	// framing, such as Redis's, is told the bound: see ReplyLimiter).
	MaxEntry int64
	// LeaseTTL is how long a lease lasts without renewal; it is renewed
	// every third of it while its holder computes. The default is 30s.
	LeaseTTL time.Duration
	// MaxWait bounds how long a caller waits for another machine's
	// computation of the same call before computing it itself, whatever
	// its context allows; the default is four lease times. A waiter also
	// takes over at once a lease that is not a valid one (no expiry, or one
	// further ahead than a lease time), and any lease not renewed within a
	// lease time expires: a forged lease delays callers by about a lease
	// time at most.
	MaxWait time.Duration
	// FailureLimit is how many requests in a row must fail before the
	// tier stops asking the store for Cooldown, after which one request
	// probes it again. The defaults are 3 and 30s.
	FailureLimit int
	Cooldown     time.Duration
}

// DefaultMaxEntry is the largest entry a remote tier reads or writes
// unless Options.MaxEntry says otherwise: 1 GiB.
const DefaultMaxEntry = 1 << 30

// ReplySlack is what a store's reply may take beyond MaxEntry: its
// framing, and the small replies of listings and leases.
const ReplySlack = 1 << 20

// A ReplyLimiter is a Store that reads replies in a framing of its own
// (Redis's), and can refuse one that claims more than max bytes, or more
// items than max bytes could hold, before reading it. New tells it
// MaxEntry plus ReplySlack.
type ReplyLimiter interface {
	LimitReplies(max int64)
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxEntry <= 0 {
		o.MaxEntry = DefaultMaxEntry
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 4 * o.LeaseTTL
	}
	if o.FailureLimit <= 0 {
		o.FailureLimit = 3
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 30 * time.Second
	}
	return o
}

// A Tier is a shared tier behind a cache's local disk: a Store, with
// per-request timeouts, a breaker and leases, so that a store that is
// down, slow or wrong costs calls their remote hits and never their
// results. Give it to runtime.Open with runtime.WithRemote. A Tier is safe
// for concurrent use.
type Tier struct {
	store  Store
	leaser Leaser   // nil when store cannot lease
	name   string   // for logs: the URL without secrets
	url    *url.URL // the URL it was opened from, whose secrets errors must not show; may be nil
	opts   Options
	log    atomic.Pointer[slog.Logger]
	now    func() time.Time

	br     breaker
	errors atomic.Int64

	signing     sync.Map    // entry.KeyID of a key ("" for none) -> signingMemo
	signedSeen  atomic.Bool // a signed entry was found in a store without a signing record
	refusalSaid atomic.Bool // Use warned that the machine may not use the tier
}

// New returns a remote tier over s; name identifies it in logs.
func New(s Store, name string, o Options) *Tier {
	r := &Tier{store: s, name: name, opts: o.withDefaults(), now: time.Now}
	r.leaser, _ = s.(Leaser)
	if l, ok := s.(ReplyLimiter); ok {
		l.LimitReplies(r.opts.MaxEntry + ReplySlack)
	}
	if ro, ok := s.(ReadOnlyStore); ok && r.opts.ReadOnly {
		ro.SetReadOnly()
	}
	r.br.limit, r.br.cooldown = r.opts.FailureLimit, r.opts.Cooldown
	r.log.Store(slog.New(logline.New(os.Stderr)))
	return r
}

// Open opens the store that rawURL names, as a remote tier. The schemes
// are those registered with Register: remote/file registers file:///dir,
// and the runtime imports it;
// importing remote/all registers redis://, rediss://, s3:// and mem://,
// and any other scheme gocloud.dev/blob has a driver linked for (gs://,
// azblob://). Credentials in the URL never appear in logs or errors.
func Open(ctx context.Context, rawURL string, o Options) (*Tier, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("remote %q is not a URL: want one such as redis://host:6379/0 or s3://bucket/prefix?region=eu-west-1", redactText(rawURL))
	}
	if strayAt(u) {
		// A password with a / ? or # in it, unescaped: whatever the store
		// made of it would quote part of it.
		return nil, fmt.Errorf("remote %q has an @ outside its user information: URL-escape the password (/ as %%2F, ? as %%3F, # as %%23, @ as %%40)", redactText(rawURL))
	}
	openers.Lock()
	open := openers.byScheme[u.Scheme]
	if open == nil {
		open = openers.byScheme[""]
	}
	openers.Unlock()
	name := redact(u)
	if open == nil {
		return nil, fmt.Errorf("%w for %s:// URLs: import it in its main package, as import _ \"github.com/cachegen/cachegen/remote/%s\" (redis, s3 or blob), or import _ \"github.com/cachegen/cachegen/remote/all\" for all of them", ErrNoStore, u.Scheme, storePackage(u.Scheme))
	}
	s, err := open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("opening remote %s: %s", name, scrub(err.Error(), u))
	}
	r := New(s, name, o)
	r.url = u
	return r, nil
}

// String returns the remote's URL without its secrets.
func (r *Tier) String() string { return r.name }

// Store returns the store the remote tier keeps its entries in.
func (r *Tier) Store() Store { return r.store }

// Options returns the tier's options, with the defaults filled in.
func (r *Tier) Options() Options { return r.opts }

// SetLogger makes the tier log its failures and waits to l; runtime.Open
// gives it the cache's logger.
func (r *Tier) SetLogger(l *slog.Logger) { r.log.Store(l) }

// Close closes the store.
func (r *Tier) Close() error { return r.store.Close() }

// Errors returns how many requests to the store have failed; 0 for a nil
// Tier.
func (r *Tier) Errors() int64 {
	if r == nil {
		return 0
	}
	return r.errors.Load()
}

// errUnavailable is returned while the breaker is open.
var errUnavailable = errors.New("remote cache unavailable: not asking it until its cooldown ends")

// errNoTime is returned when the caller's context leaves no time for a
// request.
var errNoTime = errors.New("no time left in the caller's context for a remote request")

// timeout is how long a request may take: the remote's Timeout, or half
// of what remains of ctx, whichever is shorter.
func (r *Tier) timeout(ctx context.Context) time.Duration {
	t := r.opts.Timeout
	if dl, ok := ctx.Deadline(); ok {
		t = min(t, time.Until(dl)/2)
	}
	return t
}

// keepDeadline returns a context that is not cancelled with ctx but keeps
// its deadline: for requests that must outlive a caller that gives up
// (storing its result, releasing its lease) but not its time.
func keepDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	kept := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(kept, dl)
	}
	return kept, func() {}
}

// do runs one request through the remote's breaker, for at most
// r.timeout(ctx). A missing entry is not a failure; a failure is counted,
// and logged at most once per cooldown, so that an outage, or a store
// failing only some requests, is one line.
func (r *Tier) do(ctx context.Context, op string, f func(context.Context) error) error {
	if !r.br.allow(r.now()) {
		return errUnavailable
	}
	t := r.timeout(ctx)
	if t <= 0 {
		return errNoTime
	}
	rctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	err := f(rctx)
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, entry.ErrBadSignature) {
		if r.br.succeed() {
			r.log.Load().Info("remote cache is answering again", "remote", r.name)
		}
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err() // the caller gave up: not the store's failure
	}
	r.errors.Add(1)
	why := err.Error()
	if r.url != nil {
		why = scrub(why, r.url)
	}
	level := slog.LevelDebug
	if r.br.fail(r.now()) {
		level = slog.LevelWarn
	}
	r.log.Load().Log(ctx, level, fmt.Sprintf("a request to the remote cache failed: computing locally (after %d failures in a row it is left alone for %s)", r.opts.FailureLimit, r.opts.Cooldown),
		"remote", r.name, "op", op, "err", why)
	return err
}

// Get returns the bytes stored as the entry of key, or an error (wrapping
// fs.ErrNotExist when there is none). It reads the header first, and the
// rest only when the header is an entry's: a value that is not an entry
// costs one small read, and nothing a value holds makes Get fetch more
// than the entry its header claims to be, nor more than MaxEntry. With a
// signing key, a large entry has its MAC checked as it is read, before it
// is held whole. What Get returns is still to be
// checked as an entry: bytes that are no entry are returned as read.
func (r *Tier) Get(ctx context.Context, key string, signKey []byte) ([]byte, error) {
	var data []byte
	err := r.do(ctx, "get", func(ctx context.Context) (err error) {
		data, err = getEntry(ctx, r.store, key, signKey, r.opts.MaxEntry, !r.opts.ReadOnly)
		return err
	})
	return data, err
}

// Fetched is what Tier.GetMany found of a batch of keys.
type Fetched struct {
	// Entries holds the bytes of each entry read whole, to be checked as
	// Get's are.
	Entries map[string][]byte
	// Absent holds the keys the store has no entry of.
	Absent map[string]bool
}

// BatchSize is how many keys GetMany reads in one request at most: the
// starts of that many entries (64 KiB each at most) are 64 MiB.
const BatchSize = 1024

// GetMany reads the entries of keys (at most BatchSize) as Get reads each,
// in one request through the breaker: the first 64 KiB of every entry at
// once (in one round trip from a store that batches, see Batcher; from
// another, a few at a time, concurrently). An entry longer than that is
// left for Get, which reads it header first as ever; so is any key the
// request failed for. A failing store returns what it found, and an
// error.
func (r *Tier) GetMany(ctx context.Context, keys []string) (Fetched, error) {
	f := Fetched{Entries: map[string][]byte{}, Absent: map[string]bool{}}
	if len(keys) == 0 {
		return f, nil
	}
	if len(keys) > BatchSize {
		return f, fmt.Errorf("GetMany of %d keys: at most %d at once", len(keys), BatchSize)
	}
	use := !r.opts.ReadOnly
	err := r.do(ctx, "get many", func(ctx context.Context) error {
		var firsts [][]byte
		var errs []error
		if b, ok := r.store.(Batcher); ok {
			var err error
			if firsts, errs, err = b.GetRanges(ctx, keys, headChunk, use); err != nil {
				return err
			}
		} else {
			firsts, errs = make([][]byte, len(keys)), make([]error, len(keys))
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for i, k := range keys {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					if u, ok := r.store.(UseKeeper); ok && use {
						firsts[i], errs[i] = u.UseRange(ctx, k, 0, headChunk)
					} else {
						firsts[i], errs[i] = r.store.GetRange(ctx, k, 0, headChunk)
					}
				})
			}
			wg.Wait()
		}
		var failed error
		for i, k := range keys {
			switch first, err := firsts[i], errs[i]; {
			case errors.Is(err, fs.ErrNotExist):
				f.Absent[k] = true
			case err != nil:
				failed = cmp.Or(failed, err)
			case int64(len(first)) > headChunk:
				failed = cmp.Or(failed, errTooLong)
			case len(first) < headChunk:
				f.Entries[k] = first // all there is
			default:
				// A long entry: Get reads the rest, checking its header
				// first.
			}
		}
		return failed
	})
	return f, err
}

// Read is Get outside the breaker, the per-request timeout and the log:
// for maintenance (cachectl's show), which reports its own errors and is
// bounded by its ctx alone. What it reads is bounded and checked as Get's.
func (r *Tier) Read(ctx context.Context, key string, signKey []byte) ([]byte, error) {
	return getEntry(ctx, r.store, key, signKey, r.opts.MaxEntry, false)
}

// get is Get, nil when there is no entry or the store fails.
func (r *Tier) get(ctx context.Context, key string, signKey []byte) []byte {
	data, err := r.Get(ctx, key, signKey)
	if err != nil {
		return nil
	}
	return data
}

// errTooLong rejects a reply longer than what was asked for.
var errTooLong = errors.New("the store returned more bytes than were asked for")

// getRange is s.GetRange, refusing a reply longer than n.
func getRange(ctx context.Context, s Store, key string, off, n int64) ([]byte, error) {
	b, err := s.GetRange(ctx, key, off, n)
	if err == nil && int64(len(b)) > n {
		return nil, errTooLong
	}
	return b, err
}

// getEntry reads the entry of key from s, header first, fetching no more
// than max bytes; use records the read as a use, where s keeps uses (see
// UseKeeper). What it returns is still to be checked: bytes that are no
// entry are returned as read, for the check to reject.
func getEntry(ctx context.Context, s Store, key string, signKey []byte, max int64, use bool) ([]byte, error) {
	var first []byte
	var err error
	if u, ok := s.(UseKeeper); ok && use {
		first, err = u.UseRange(ctx, key, 0, headChunk)
		if err == nil && int64(len(first)) > headChunk {
			first, err = nil, errTooLong
		}
	} else {
		first, err = getRange(ctx, s, key, 0, headChunk)
	}
	if err != nil || len(first) < headChunk {
		return first, err // all there is
	}
	h, err := entry.ParseHeader(first, -1)
	if err != nil || h.Size() <= int64(len(first)) {
		return first, nil
	}
	if h.Size() > max {
		return nil, fmt.Errorf("%w: the entry is %d bytes, more than the %d the remote tier reads (Options.MaxEntry)", fs.ErrNotExist, h.Size(), max)
	}
	if signKey != nil && h.Size() > entry.BigSigned {
		// Whoever can write to the store but lacks the key cannot make
		// this reader hold what they planted in memory.
		err := entry.CheckMACReading(signKey, h, h.Size(), func(p []byte, off int64) error {
			b, err := getRange(ctx, s, key, off, int64(len(p)))
			if err == nil && copy(p, b) < len(p) {
				err = fmt.Errorf("%w: entry shorter than its header says", entry.ErrCorrupt)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	rest, err := getRange(ctx, s, key, int64(len(first)), h.Size()-int64(len(first)))
	if err != nil {
		return nil, err
	}
	return append(first, rest...), nil
}

// Put stores an entry, unless the tier is read-only or the entry is larger
// than MaxEntry, and returns the error of a store that failed or was not
// asked (its breaker open, or no time left): an entry that may be stored
// later (see Create). A failure is logged and counted; the caller has its
// result regardless. A caller that gives up does not stop it, but its
// deadline bounds it.
func (r *Tier) Put(ctx context.Context, key string, data []byte) error {
	if r.opts.ReadOnly || int64(len(data)) > r.opts.MaxEntry {
		return nil
	}
	ctx, cancel := keepDeadline(ctx)
	defer cancel()
	return r.do(ctx, "put", func(ctx context.Context) error {
		return r.store.Put(ctx, key, data)
	})
}

// Create stores an entry unless the store holds one for key already, and
// reports whether it did: for an entry that a store failed to take, copied
// later, which must not replace one another machine stored meanwhile. A
// store that is no Creator is asked whether it has the entry first. A
// read-only tier, or an entry larger than MaxEntry, stores nothing.
func (r *Tier) Create(ctx context.Context, key string, data []byte) (bool, error) {
	if r.opts.ReadOnly || int64(len(data)) > r.opts.MaxEntry {
		return false, nil
	}
	var created bool
	err := r.do(ctx, "create", func(ctx context.Context) error {
		if c, ok := r.store.(Creator); ok {
			var err error
			created, err = c.Create(ctx, key, data)
			return err
		}
		_, err := getRange(ctx, r.store, key, 0, 1)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		created = true
		return r.store.Put(ctx, key, data)
	})
	return created, err
}

// Claim prepares to compute key: it takes the key's lease, so that other
// machines wait rather than compute it too. When another holder has the
// lease, Claim waits (until ctx is done, for at most MaxWait) until that
// holder stores an entry that usable accepts, which Claim returns, or its
// lease ends, which lets Claim take it. release gives the lease back after
// the result is stored. A store that cannot lease, a read-only tier or a
// failing store make Claim return at once: the caller computes. onWait is
// called once, when Claim begins to wait.
//
// Its requests and its wait take no more than budget allows (the share of
// the caller's time the remote tier may take): when budget ends first,
// Claim returns nothing and no error, and the caller computes. Only ctx
// ending is an error. A ctx that a sweep marked not to wait makes Claim
// return callctx.ErrLeased where it would wait. signKey is as for Get.
func (r *Tier) Claim(ctx, budget context.Context, key string, signKey []byte, usable func([]byte) bool, onWait func()) (data []byte, release func(), err error) {
	release = func() {}
	if r.leaser == nil || r.opts.ReadOnly {
		return nil, release, nil
	}
	caller := ctx
	ctx = budget
	token := newToken()
	deadline := r.now().Add(r.opts.MaxWait)
	poll := 20 * time.Millisecond
	for {
		var got bool
		err := r.do(ctx, "lease", func(ctx context.Context) (err error) {
			got, err = r.leaser.Lease(ctx, key, token, r.opts.LeaseTTL)
			return err
		})
		if err != nil {
			return nil, release, caller.Err()
		}
		if got {
			release = r.hold(caller, key, token)
			// A holder may have stored the entry and released its lease
			// since this caller missed.
			if data := r.get(ctx, key, signKey); data != nil && usable(data) {
				release()
				return data, func() {}, nil
			}
			return nil, release, nil
		}
		if callctx.NoWait(ctx) {
			// A sweep comes back to it, unless it is stored already.
			if data := r.get(ctx, key, signKey); data != nil && usable(data) {
				return data, release, nil
			}
			return nil, release, callctx.ErrLeased
		}
		if onWait != nil {
			onWait()
			onWait = nil
		}
		select {
		case <-ctx.Done():
			// The caller's time is up, or the share of it the remote tier
			// may take: the caller computes, unless it gave up.
			return nil, release, caller.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, time.Second, r.opts.LeaseTTL/4)
		if data := r.get(ctx, key, signKey); data != nil && usable(data) {
			return data, release, nil
		}
		if !r.br.closed() {
			return nil, release, nil
		}
		if r.now().After(deadline) {
			r.log.Load().Warn("waited for another machine to compute a result: computing it here", "remote", r.name, "key", key, "waited", r.opts.MaxWait)
			return nil, release, nil
		}
	}
}

// hold renews token's lease on key until the returned function, which
// releases it, is called. The release cancels a renewal under way, and is
// itself bounded by the deadline of ctx, so that it never holds its caller
// past it.
func (r *Tier) hold(ctx context.Context, key, token string) func() {
	releaseCtx, cancelRelease := keepDeadline(ctx)
	renewCtx, cancelRenew := context.WithCancel(context.WithoutCancel(ctx))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			select {
			case <-stop:
				return // released as the ticker fired
			default:
			}
			var held bool
			err := r.do(renewCtx, "lease renewal", func(ctx context.Context) (err error) {
				held, err = r.leaser.Renew(ctx, key, token, r.opts.LeaseTTL)
				return err
			})
			if err == nil && !held {
				return // lost it: another caller may compute too, which costs time only
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancelRenew()
			close(stop)
			<-done
			defer cancelRelease()
			r.do(releaseCtx, "lease release", func(ctx context.Context) error {
				return r.leaser.Release(ctx, key, token)
			})
		})
	}
}

func newToken() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text())
}

// ReaderAt reads the entry of key at offsets, without the breaker: for
// listing entries' heads. It fetches the first 64 KiB once, so that
// reading a head costs one or two requests, and refuses a reply longer
// than what it asked for.
func (r *Tier) ReaderAt(ctx context.Context, key string) io.ReaderAt {
	return &storeReader{ctx: ctx, s: r.store, key: key}
}

// storeReader is a ReaderAt.
type storeReader struct {
	ctx   context.Context
	s     Store
	key   string
	first []byte
}

const headChunk = 64 << 10

func (sr *storeReader) ReadAt(p []byte, off int64) (int, error) {
	if sr.first == nil {
		b, err := getRange(sr.ctx, sr.s, sr.key, 0, headChunk)
		if err != nil {
			return 0, err
		}
		sr.first = b
	}
	src := sr.first
	if off+int64(len(p)) > int64(len(src)) {
		b, err := getRange(sr.ctx, sr.s, sr.key, off, int64(len(p)))
		if err != nil {
			return 0, err
		}
		src, off = b, 0
	}
	if off >= int64(len(src)) {
		return 0, io.EOF
	}
	n := copy(p, src[off:])
	if n < len(p) {
		return n, fmt.Errorf("%w: entry shorter than its entry.Header says", entry.ErrCorrupt)
	}
	return n, nil
}

// errStop stops a listing early.
var errStop = errors.New("stop")

// Reach reports whether the store answers: it asks for an entry that is
// not there, and for the first entry of a listing, and returns the error
// of any answer but "none". (A bucket that does not exist answers the
// first "none" and fails the second.)
func (r *Tier) Reach(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	_, err := r.store.GetRange(ctx, "0000000000000000", 0, 1)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		err = r.store.List(ctx, func(StoreEntry) error { return errStop })
	}
	if err == nil || errors.Is(err, errStop) {
		return nil
	}
	if errors.Is(err, ErrRefused) {
		err = fmt.Errorf("remote %s refused the credentials (check the user and password in the URL): %w", r.name, err)
	} else {
		err = fmt.Errorf("remote %s does not answer: %w", r.name, err)
	}
	if r.url != nil {
		err = scrubbed{scrub(err.Error(), r.url), err}
	}
	return err
}

// storePackage names the package under remote/ that opens scheme.
func storePackage(scheme string) string {
	switch scheme {
	case "redis", "rediss":
		return "redis"
	case "s3":
		return "s3"
	case "file":
		return "file"
	}
	return "blob"
}
