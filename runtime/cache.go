package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mode says what a Cache does with calls.
type Mode int

const (
	// ModeOn serves hits and stores misses. It is the default.
	ModeOn Mode = iota
	// ModeOff computes every call and touches nothing on disk.
	ModeOff
	// ModeRefresh computes every call and overwrites its entry.
	ModeRefresh
	// ModeReadOnly serves hits and never writes: misses are computed and
	// not stored, and Remove and Clear fail with ErrReadOnly.
	ModeReadOnly
	// ModeVerify computes every call, even on a hit, and compares the
	// result with the stored one: a difference (a function changed
	// without a version bump, or one that is not deterministic) is logged
	// as an error and counted in Stats.VerifyMismatches. The fresh result
	// is returned; misses are stored as in ModeOn.
	ModeVerify
)

var modeNames = []string{"on", "off", "refresh", "readonly", "verify"}

func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return "Mode(" + strconv.Itoa(int(m)) + ")"
	}
	return modeNames[m]
}

// ParseMode parses the spelling of a mode used by CACHEGEN_MODE.
func ParseMode(s string) (Mode, error) {
	if i := slices.Index(modeNames, s); i >= 0 {
		return Mode(i), nil
	}
	return ModeOff, fmt.Errorf("unknown cache mode %q: want one of on, off, refresh, readonly, verify", s)
}

// ErrReadOnly is returned by Remove, Invalidate and Clear on a cache
// opened in ModeReadOnly.
var ErrReadOnly = errors.New("cache is read-only")

// ErrBadKey is returned by Remove for a string that is not a key.
var ErrBadKey = errors.New("malformed cache key: want 16 lowercase hex digits")

// An Option configures a Cache opened with Open.
type Option func(*config)

type config struct {
	mode     Mode
	logger   *slog.Logger
	verbose  bool
	maxBytes int64
	shared   bool
	remote   *Remote
	signKey  []byte
}

// WithMode sets the cache's mode; the default is ModeOn.
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// WithLogger sets where the cache reports warnings and, when verbose, each
// hit and miss. The default writes plain lines to standard error.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithVerbose makes the cache log a line for every hit and miss, as the
// reference CacheManager prints them.
func WithVerbose(v bool) Option { return func(c *config) { c.verbose = v } }

// WithMaxBytes limits the size of the cache directory: once a quarter of
// the limit has been written since the last check, the least recently used
// entries are removed until three quarters remain. Zero means no limit.
func WithMaxBytes(n int64) Option { return func(c *config) { c.maxBytes = n } }

// WithSharedDir lets Open use a directory that another user owns or that
// other users can write to. By default Open refuses one, in every mode:
// another user could plant entries there. Sign entries (WithSigningKey)
// when sharing a directory with users you do not trust.
func WithSharedDir() Option { return func(c *config) { c.shared = true } }

// WithRemote puts a shared tier behind the local directory: a call that
// misses locally is looked up there, and a hit is checked and copied to
// the local directory; a miss is computed once across every machine that
// shares the tier (see Leaser), then stored in both tiers. The remote never
// fails a call: a request that fails or times out is a miss. The caller
// keeps ownership of r and closes it.
func WithRemote(r *Remote) Option { return func(c *config) { c.remote = r } }

// WithSigningKey makes the cache sign every entry it writes with
// HMAC-SHA256 under key, and reject (as a miss, counted in
// Stats.BadSignatures) every entry it reads that is unsigned or signed
// with another key, in both tiers. Use it when others can write to the
// remote tier. The key must be at least 16 bytes; it never appears in logs
// or errors.
func WithSigningKey(key []byte) Option {
	return func(c *config) { c.signKey = bytes.Clone(key) }
}

// Cache stores the results of calls in a directory, one file per call.
//
// A Cache is safe for concurrent use by multiple goroutines, and several
// processes may share one directory: entries are written whole by rename,
// and every load verifies what it reads, so a reader never sees a partial
// or foreign entry. Within one process, concurrent calls with the same key
// compute once.
type Cache struct {
	dir     string
	mode    Mode
	log     *slog.Logger
	verbose bool
	disk    *diskStore
	flights flights
	now     func() time.Time
	remote  *Remote
	signKey []byte

	hits, misses, computations, storeErrors, corrupt, keyErrors atomic.Int64
	verifyMismatches, remoteHits, badSignatures, otherCode      atomic.Int64
	bytesRead, bytesWritten                                     atomic.Int64
	warnedStore                                                 atomic.Bool
	warnedCode                                                  sync.Map // Func -> true: told its entries were computed by other code
	warnedSource                                                sync.Map // Func -> true: told its source changed without go generate

	maxBytes  int64
	sinceTrim atomic.Int64 // bytes written since the last trim
	trimming  sync.Mutex
}

// Open returns a cache that keeps its entries in dir, creating dir (mode
// 0700) unless the mode is ModeOff or ModeReadOnly. It refuses a directory
// that other users can write to, unless given WithSharedDir.
func Open(dir string, opts ...Option) (*Cache, error) {
	cfg := config{mode: ModeOn}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.mode < ModeOn || cfg.mode > ModeVerify {
		return nil, fmt.Errorf("cachegen: invalid mode %v", cfg.mode)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(newLineHandler(os.Stderr))
	}
	if cfg.maxBytes < 0 {
		return nil, fmt.Errorf("cachegen: negative size limit %d", cfg.maxBytes)
	}
	if cfg.signKey != nil && len(cfg.signKey) < minSigningKey {
		return nil, fmt.Errorf("cachegen: signing key is %d bytes: use at least %d random bytes", len(cfg.signKey), minSigningKey)
	}
	c := &Cache{dir: dir, mode: cfg.mode, log: cfg.logger, verbose: cfg.verbose, disk: newDiskStore(dir), now: time.Now, maxBytes: cfg.maxBytes,
		remote: cfg.remote, signKey: cfg.signKey}
	if c.remote != nil {
		c.remote.log.Store(cfg.logger)
	}
	c.sinceTrim.Store(cfg.maxBytes) // the first store checks the size
	if cfg.mode == ModeOff {
		return c, nil
	}
	if dir == "" {
		return nil, errors.New("cachegen: empty cache directory")
	}
	if cfg.mode != ModeReadOnly {
		if err := os.MkdirAll(dir, dirPerm); err != nil {
			return nil, fmt.Errorf("cachegen: cache directory: %w", err)
		}
	}
	if err := checkPrivate(dir, cfg.shared); err != nil {
		return nil, err
	}
	if cfg.mode != ModeReadOnly {
		c.disk.writeReadme()
	}
	return c, nil
}

// Dir returns the directory the cache keeps its entries in.
func (c *Cache) Dir() string { return c.dir }

// Remote returns the cache's remote tier, or nil.
func (c *Cache) Remote() *Remote { return c.remote }

// Mode returns the cache's mode.
func (c *Cache) Mode() Mode { return c.mode }

// Environment variables read by Default.
const (
	EnvDir     = "CACHEGEN_DIR"
	EnvMode    = "CACHEGEN_MODE"
	EnvVerbose = "CACHEGEN_VERBOSE"
	EnvMaxSize = "CACHEGEN_MAX_SIZE"
	// EnvRemote names the remote tier: a URL such as redis://host:6379/0
	// or s3://bucket/prefix?region=eu-west-1 (see OpenRemote).
	EnvRemote = "CACHEGEN_REMOTE"
	// EnvRemoteMode is readwrite (the default) or readonly.
	EnvRemoteMode = "CACHEGEN_REMOTE_MODE"
	// EnvSigningKey, when set, is the key entries are signed with (see
	// WithSigningKey): at least 16 bytes of text.
	EnvSigningKey = "CACHEGEN_SIGNING_KEY"
	// EnvSharedDir=1 accepts a cache directory that other users own or can
	// write to (see WithSharedDir).
	EnvSharedDir = "CACHEGEN_SHARED_DIR"
)

var defaultCache struct {
	once sync.Once
	c    atomic.Pointer[Cache]
}

// Default returns the cache that generated wrappers use. On first use it is
// opened from the environment: CACHEGEN_DIR (default: the user cache
// directory's cachegen folder), CACHEGEN_MODE (on, off, refresh, readonly,
// verify; default on), CACHEGEN_VERBOSE=1, CACHEGEN_MAX_SIZE (such as
// 10GiB), CACHEGEN_REMOTE (a URL: see OpenRemote), CACHEGEN_REMOTE_MODE
// (readwrite or readonly), CACHEGEN_SIGNING_KEY and CACHEGEN_SHARED_DIR=1
// (accept a directory others own or can write to). A bad value, or a
// directory that cannot be made, is logged with what the variable allows,
// and the default cache then computes every call; a remote that cannot be
// opened is logged and left out. A misconfigured cache costs time, never a
// crash or a wrong result. Default is safe for concurrent use.
func Default() *Cache {
	defaultCache.once.Do(func() {
		if defaultCache.c.Load() == nil {
			defaultCache.c.CompareAndSwap(nil, fromEnv(slog.New(newLineHandler(os.Stderr))))
		}
	})
	return defaultCache.c.Load()
}

// SetDefault replaces the cache that Default returns.
func SetDefault(c *Cache) {
	defaultCache.c.Store(c)
	defaultCache.once.Do(func() {})
}

// DefaultDir returns the directory Default uses: CACHEGEN_DIR, or the
// cachegen folder of the user cache directory.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%s is not set and there is no user cache directory (%v): set %s to a directory", EnvDir, err, EnvDir)
	}
	return filepath.Join(base, "cachegen"), nil
}

// fromEnv opens a cache configured by the environment, falling back to
// ModeOff with a logged error when the configuration is unusable.
func fromEnv(logger *slog.Logger) *Cache {
	off := &Cache{mode: ModeOff, log: logger, now: time.Now}
	var opts []Option
	opts = append(opts, WithLogger(logger))
	if s := os.Getenv(EnvMode); s != "" {
		m, err := ParseMode(s)
		if err != nil {
			logger.Error(fmt.Sprintf("%s=%q is not a mode: set it to on, off, refresh, readonly or verify; computing every call without the cache", EnvMode, s))
			return off
		}
		opts = append(opts, WithMode(m))
	}
	if s := os.Getenv(EnvVerbose); s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			logger.Error(fmt.Sprintf("%s=%q is not a boolean: set it to 1 or 0", EnvVerbose, s))
		}
		opts = append(opts, WithVerbose(v))
	}
	if s := os.Getenv(EnvSharedDir); s != "" {
		shared, err := strconv.ParseBool(s)
		if err != nil {
			logger.Error(fmt.Sprintf("%s=%q is not a boolean: set it to 1 or 0; computing every call without the cache", EnvSharedDir, s))
			return off
		}
		if shared {
			opts = append(opts, WithSharedDir())
		}
	}
	if s := os.Getenv(EnvMaxSize); s != "" {
		n, err := ParseSize(s)
		if err != nil {
			logger.Error(fmt.Sprintf("%s=%q is not a size: set it to a size such as 500MB or 10GiB; computing every call without the cache", EnvMaxSize, s))
			return off
		}
		opts = append(opts, WithMaxBytes(n))
	}
	if s, ok := os.LookupEnv(EnvSigningKey); ok {
		if len(s) < minSigningKey {
			logger.Error(fmt.Sprintf("%s is %d bytes: set it to at least %d random bytes (such as the output of openssl rand -hex 32); computing every call without the cache", EnvSigningKey, len(s), minSigningKey))
			return off
		}
		opts = append(opts, WithSigningKey([]byte(s)))
	}
	if s := os.Getenv(EnvRemote); s != "" {
		var o RemoteOptions
		switch m := os.Getenv(EnvRemoteMode); m {
		case "", "readwrite":
		case "readonly":
			o.ReadOnly = true
		default:
			logger.Error(fmt.Sprintf("%s=%q is not a remote mode: set it to readwrite or readonly; using the local cache only", EnvRemoteMode, m))
			s = ""
		}
		if s != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			r, err := OpenRemote(ctx, s, o)
			cancel()
			if err != nil {
				logger.Error(fmt.Sprintf("%v (from %s); using the local cache only", err, EnvRemote))
			} else {
				opts = append(opts, WithRemote(r))
			}
		}
	}
	dir, err := DefaultDir()
	if err != nil {
		logger.Error(err.Error() + "; computing every call without the cache")
		return off
	}
	c, err := Open(dir, opts...)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "cachegen: ")
		if !errors.Is(err, errNotPrivate) {
			msg += ": set " + EnvDir + " to a directory you can write"
		}
		logger.Error(fmt.Sprintf("%s (from %s); computing every call without the cache", msg, EnvDir))
		return off
	}
	return c
}

// Stats counts what a Cache did in this process.
type Stats struct {
	Hits         int64 // calls served from an entry
	Misses       int64 // calls that found no usable entry
	Computations int64 // times a compute function ran
	StoreErrors  int64 // results that could not be stored (and were returned all the same)
	Corrupt      int64 // entries rejected by a check: each was a miss
	KeyErrors    int64 // calls whose arguments could not be keyed (computed, not cached)
	// VerifyMismatches counts hits whose fresh computation, in ModeVerify,
	// differed from the stored result.
	VerifyMismatches int64
	BytesRead        int64 // entry bytes read by hits
	BytesWritten     int64 // entry bytes written by stores
	RemoteHits       int64 // hits served by the remote tier (counted in Hits too)
	RemoteErrors     int64 // requests to the remote tier that failed or timed out
	// BadSignatures counts entries rejected, with a signing key, for a
	// missing or wrong MAC: each was a miss.
	BadSignatures int64
	// OtherCode counts entries not served because code other than the
	// call's computed them (see Call.Code): each was a miss.
	OtherCode int64
}

// Stats returns the counters of the cache. It is safe to call concurrently
// with calls.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:             c.hits.Load(),
		Misses:           c.misses.Load(),
		Computations:     c.computations.Load(),
		StoreErrors:      c.storeErrors.Load(),
		Corrupt:          c.corrupt.Load(),
		KeyErrors:        c.keyErrors.Load(),
		VerifyMismatches: c.verifyMismatches.Load(),
		BytesRead:        c.bytesRead.Load(),
		BytesWritten:     c.bytesWritten.Load(),
		RemoteHits:       c.remoteHits.Load(),
		RemoteErrors:     c.remote.errorCount(),
		BadSignatures:    c.badSignatures.Load(),
		OtherCode:        c.otherCode.Load(),
	}
}

// Entry is the metadata of one stored result.
type Entry struct {
	Key        string
	Func       string
	Version    int
	Params     json.RawMessage // the canonical params as hashed (Python's JSON: may hold NaN or Infinity)
	ComputedAt time.Time
	Duration   time.Duration // how long compute took
	Size       int64         // bytes on disk
	LastUsed   time.Time     // when it was last stored or loaded, to within an hour
	TTL        time.Duration // how long it stays fresh; 0 means for ever
	Stale      bool          // older than its TTL: the next call recomputes it
	Code       string        // fingerprint of the code that computed it; "" if not recorded
}

// Do returns the result of compute for call: loaded from the cache when a
// valid entry exists, else computed, stored and returned.
//
// Do never returns a wrong or partial result because of the cache: an entry
// that fails any check is a miss. It never loses a computed result: a
// failure to store it is logged and counted in Stats, and the result is
// returned. An error from compute is returned as is, with compute's value,
// and nothing is stored. Concurrent calls with the same key compute once;
// a caller waiting for another's computation returns when its ctx is done.
// A nil c means Default().
//
// When call.Code is set, only entries computed by that code (or by code
// in call.Accepted) are served. Where the function's source is at hand and
// no longer has the fingerprint call.Code (it was edited without go
// generate: see CheckCode), Do panics in a test binary, and elsewhere
// computes without the cache, warning once.
func Do[T any](ctx context.Context, c *Cache, call Call, compute func(context.Context) (T, error)) (T, error) {
	if c == nil {
		c = Default()
	}
	if err := sourceChanged(call); err != nil {
		if testDir != "" {
			panic("cachegen: " + err.Error())
		}
		if _, told := c.warnedSource.LoadOrStore(call.Func, true); !told && c.mode != ModeOff {
			c.log.Warn(err.Error() + "; until then, computing it without the cache")
		}
		c.computations.Add(1)
		return compute(ctx)
	}
	if c.mode == ModeOff {
		c.computations.Add(1)
		return compute(ctx)
	}
	id, err := call.identity()
	if err != nil {
		c.keyErrors.Add(1)
		c.log.Warn(fmt.Sprintf("computing without the cache: %v", err))
		c.computations.Add(1)
		return compute(ctx)
	}
	tsum := typeSum(reflect.TypeFor[T]())
	var rejected []byte // a remote entry found unusable, not to be checked again
	if c.mode != ModeRefresh {
		v, stored, ok := load[T](c, id, call, tsum)
		if !ok && c.remote != nil {
			if data := c.remote.get(ctx, id.key); data != nil {
				if v, stored, ok = loadRemote[T](c, id, call, tsum, data); !ok {
					rejected = data
				}
			}
		}
		if ok {
			if c.mode == ModeVerify {
				return verify(ctx, c, id, call, stored, compute)
			}
			return v, nil
		}
	}
	c.misses.Add(1)
	if c.verbose {
		c.log.Info(fmt.Sprintf("[MISS] key=%s fn=%s computing…", id.key, call.Func))
	}
	for {
		f, leader := c.flights.join(id.sum)
		if leader {
			c.flights.run(id.sum, f, func() (any, [][]byte, error) {
				unlock, waited, err := c.lockKey(ctx, id.key)
				if err != nil {
					var zero T
					return zero, nil, err // ctx ended while another process computed
				}
				defer unlock()
				if waited && c.mode != ModeRefresh {
					// Another process held the key: it has likely stored it.
					if v, payload, ok := load[T](c, id, call, tsum); ok {
						c.misses.Add(-1)
						return v, [][]byte{payload}, nil
					}
				}
				if c.remote != nil && c.mode != ModeRefresh && c.mode != ModeReadOnly {
					// Compute once across machines: wait for whoever
					// holds the key's lease, or take it.
					var v T
					var payload []byte
					data, release, err := c.remote.claim(ctx, id.key, func(data []byte) (ok bool) {
						if bytes.Equal(data, rejected) {
							return false
						}
						v, payload, ok = loadRemote[T](c, id, call, tsum, data)
						return ok
					})
					if err != nil {
						return v, nil, err
					}
					defer release()
					if data != nil {
						c.misses.Add(-1)
						return v, [][]byte{payload}, nil
					}
				}
				start := c.now()
				v, err := compute(ctx)
				took := c.now().Sub(start)
				c.computations.Add(1)
				if err != nil {
					return v, nil, err
				}
				payload, err := encodeResult(v)
				c.store(ctx, id, call, tsum, start, took, payload, err)
				return v, payload, nil
			})
			v, _ := f.value.(T)
			return v, f.err
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-f.done:
		}
		if f.abandoned || isContextErr(f.err) && ctx.Err() == nil {
			continue // the computing caller gave up or panicked: compute for this one
		}
		if f.payload != nil {
			// Joining makes this waiter's own copy, which it may alias.
			if v, err := decodeResult[T](bytes.Join(f.payload, nil), true); err == nil {
				return v, nil
			}
		}
		v, _ := f.value.(T)
		return v, f.err
	}
}

// verify computes a call that hit, and reports a difference between the
// fresh result and the stored one.
func verify[T any](ctx context.Context, c *Cache, id identity, call Call, stored []byte, compute func(context.Context) (T, error)) (T, error) {
	c.computations.Add(1)
	v, err := compute(ctx)
	if err != nil {
		return v, err
	}
	fresh, err := encodeResult(v)
	if err == nil && !bytes.Equal(bytes.Join(fresh, nil), stored) {
		c.verifyMismatches.Add(1)
		c.log.Error(fmt.Sprintf("[VERIFY] key=%s fn=%s: a fresh computation differs from the stored result: "+
			"bump its //cache:version if the function changed, or make it deterministic (fix its random seed)", id.key, call.Func))
	}
	return v, nil
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// load returns the stored result of id and its encoded form, if a valid,
// fresh entry exists in the local tier.
func load[T any](c *Cache, id identity, call Call, tsum [8]byte) (T, []byte, bool) {
	var zero T
	name := entryName(id.key)
	path := c.disk.abs(name)
	data, mtime, payCRC, err := c.disk.readEntry(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return zero, nil, false
	case errors.Is(err, errOtherFormat):
		c.log.Debug(fmt.Sprintf("%v: %s; computing it again", err, path))
		return zero, nil, false
	case errors.Is(err, errCorrupt):
		c.corrupt.Add(1)
		c.log.Warn(fmt.Sprintf("%v: %s; computing it again", err, path))
		return zero, nil, false
	case err != nil:
		c.log.Warn(fmt.Sprintf("reading cache entry: %v; computing", err))
		return zero, nil, false
	}
	v, h, payload, ok := check[T](c, id, call, tsum, data, payCRC, path)
	if !ok {
		return zero, nil, false
	}
	c.hits.Add(1)
	c.bytesRead.Add(int64(len(data)))
	if now := c.now(); now.Sub(mtime) > touchInterval && c.mode != ModeReadOnly {
		// Record the use for least-recently-used trimming, cheaply: at
		// most one metadata write per entry an hour.
		c.disk.touch(name, now)
	}
	c.logHit(id, call, h, "")
	return v, payload, true
}

// loadRemote is load for an entry read from the remote tier: a valid one
// is copied to the local tier.
func loadRemote[T any](c *Cache, id identity, call Call, tsum [8]byte, data []byte) (T, []byte, bool) {
	v, h, payload, ok := check[T](c, id, call, tsum, data, nil, "remote "+c.remote.name)
	if !ok {
		var zero T
		return zero, nil, false
	}
	c.hits.Add(1)
	c.remoteHits.Add(1)
	c.bytesRead.Add(int64(len(data)))
	if c.mode != ModeReadOnly {
		if err := c.disk.write(id.key, data); err == nil {
			c.bytesWritten.Add(int64(len(data)))
			c.trimAfterWrite(int64(len(data)))
		}
	}
	c.logHit(id, call, h, " from remote")
	return v, payload, true
}

// check parses and checks an entry read from where, and decodes its
// result. A corrupt or wrongly signed entry is logged and counted; a stale
// one is not usable either.
func check[T any](c *Cache, id identity, call Call, tsum [8]byte, data []byte, payCRC *uint32, where string) (T, header, []byte, bool) {
	var zero T
	h, _, payload, err := parseEntry(data, payCRC)
	if err == nil && h.sum != id.sum {
		err = fmt.Errorf("%w: entry holds another call (a key prefix collision, or a moved file)", errCorrupt)
	}
	if err == nil && h.typeSum != tsum {
		err = fmt.Errorf("%w: entry holds a result of another type (was the result type changed without a version bump?)", errCorrupt)
	}
	if err == nil && c.signKey != nil {
		if err = checkMAC(c.signKey, id.sum, h, data); err != nil {
			c.badSignatures.Add(1)
			c.log.Warn(fmt.Sprintf("rejected %v: %s; computing it again", err, where))
			return zero, h, nil, false
		}
	}
	if err == nil && !call.accepts(h.code) {
		c.otherCode.Add(1)
		if _, told := c.warnedCode.LoadOrStore(call.Func, true); !told {
			c.log.Warn(fmt.Sprintf("entries of %s were computed by other code under version %d: computing them again", call.Func, call.Version))
		}
		return zero, h, nil, false
	}
	var v T
	if err == nil {
		if call.TTL > 0 && c.now().Sub(time.Unix(0, h.computedAt)) > call.TTL {
			return zero, h, nil, false // stale: recompute and replace
		}
		v, err = decodeResult[T](payload, true)
		if err != nil {
			err = fmt.Errorf("%w: payload: %v", errCorrupt, err)
		}
	}
	if errors.Is(err, errOtherFormat) {
		c.log.Debug(fmt.Sprintf("%v: %s; computing it again", err, where))
		return zero, h, nil, false
	}
	if err != nil {
		c.corrupt.Add(1)
		c.log.Warn(fmt.Sprintf("%v: %s; computing it again", err, where))
		return zero, h, nil, false
	}
	return v, h, payload, true
}

func (c *Cache) logHit(id identity, call Call, h header, from string) {
	if c.verbose {
		c.log.Info(fmt.Sprintf("[HIT] key=%s fn=%s computed %s (took %s)%s", id.key, call.Func,
			time.Unix(0, h.computedAt).Format(time.RFC3339), roundDuration(time.Duration(h.duration)), from))
	}
}

// store writes the entry of an encoded result unless the cache is
// read-only; err is the encoding's error, counted and logged like a
// failure to write.
func (c *Cache) store(ctx context.Context, id identity, call Call, tsum [8]byte, start time.Time, took time.Duration, payload [][]byte, err error) {
	if err == nil && c.mode != ModeReadOnly {
		var parts [][]byte
		h := header{computedAt: start.UnixNano(), duration: int64(took), typeSum: tsum, sum: id.sum, code: codeBytes(call.Code)}
		parts, err = encodeEntry(h, meta{Func: call.Func, Version: call.Version, Params: id.canonical, TTL: int64(call.TTL)}, payload, c.signKey)
		if err == nil && c.remote != nil {
			// The remote copy first: callers on other machines are
			// waiting for it under this caller's lease.
			c.remote.put(ctx, id.key, bytes.Join(parts, nil))
		}
		if err == nil {
			err = c.disk.write(id.key, parts...)
		}
		if err == nil {
			var n int64
			for _, p := range parts {
				n += int64(len(p))
			}
			c.bytesWritten.Add(n)
			c.trimAfterWrite(n)
		}
	}
	if err != nil {
		c.storeErrors.Add(1)
		msg := fmt.Sprintf("could not store the result of %s (key %s), returning it uncached: %v", call.Func, id.key, err)
		if c.warnedStore.CompareAndSwap(false, true) {
			c.log.Warn(msg)
		} else {
			c.log.Debug(msg)
		}
	}
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}

// Invalidate removes the entry of call, reporting whether there was one.
func (c *Cache) Invalidate(call Call) (bool, error) {
	id, err := call.identity()
	if err != nil {
		return false, err
	}
	return c.Remove(id.key)
}

// Remove removes the entry of key, from the remote tier too unless it is
// read-only, reporting whether there was one.
func (c *Cache) Remove(key string) (bool, error) {
	if !ValidKey(key) {
		return false, fmt.Errorf("%w: %s", ErrBadKey, quoteCut(key))
	}
	if err := c.writable(); err != nil {
		return false, err
	}
	err := c.disk.Delete(context.Background(), key)
	found := err == nil
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if r := c.remote; r != nil && !r.opts.ReadOnly {
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
		defer cancel()
		ok, rerr := r.Remove(ctx, key)
		found = found || ok
		err = errors.Join(err, rerr)
	}
	return found, err
}

// Clear removes every entry, every lock file, any temporary file a killed
// writer left, and anything named like one of them that is not a regular
// file. Other files in the directory are left alone, and nothing outside
// it is touched.
func (c *Cache) Clear() error {
	if err := c.writable(); err != nil {
		return err
	}
	return c.disk.walk(func(name string, _ fileKind) error {
		if err := c.disk.remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

func (c *Cache) writable() error {
	switch c.mode {
	case ModeReadOnly:
		return ErrReadOnly
	case ModeOff:
		return errors.New("cache is off: nothing to remove")
	}
	return nil
}

// List returns the metadata of every valid entry, newest first. Entries
// that fail their checks are left out.
func (c *Cache) List() ([]Entry, error) {
	if c.mode == ModeOff {
		return nil, nil
	}
	var out []Entry
	now := c.now()
	err := c.disk.walk(func(name string, kind fileKind) error {
		if kind != kindEntry {
			return nil
		}
		h, m, fi, err := c.disk.readMeta(name)
		if err != nil {
			return nil // removed meanwhile, or corrupt: not an entry
		}
		out = append(out, entryFromFile(h, m, fi, now))
		return nil
	})
	slices.SortStableFunc(out, func(a, b Entry) int { return b.ComputedAt.Compare(a.ComputedAt) })
	return out, err
}
