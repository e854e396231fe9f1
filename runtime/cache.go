package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/units"
	"github.com/cachegen/cachegen/remote"
	_ "github.com/cachegen/cachegen/remote/file" // file:// shared tiers, in every program that uses the cache
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
	// not stored, and Invalidate and Remove fail with ErrReadOnly.
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

// parseMode parses the spelling of a mode used by CACHEGEN_MODE.
func parseMode(s string) (Mode, error) {
	if i := slices.Index(modeNames, s); i >= 0 {
		return Mode(i), nil
	}
	return ModeOff, fmt.Errorf("unknown cache mode %q: want one of on, off, refresh, readonly, verify", s)
}

// mapMin is the size from which a hit of a Call with Map maps its entry.
const mapMin = 1 << 20

// minSigningKey is the shortest signing key accepted, in bytes.
const minSigningKey = 16

// ErrReadOnly is returned by Invalidate and Remove on a cache opened in
// ModeReadOnly, and by package maintain's changes to a tier opened
// read-only: it is maintain.ErrReadOnly.
var ErrReadOnly = entry.ErrReadOnly

// ErrBadKey is returned by Remove for a string that is not a key.
var ErrBadKey = entry.ErrBadKey

// An Option configures a Cache opened with Open.
type Option func(*config)

type config struct {
	mode     Mode
	logger   *slog.Logger
	verbose  bool
	maxBytes int64
	shared   bool
	remote   *remote.Tier
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

// WithMaxBytes limits what the cache's entries occupy on disk (allocated
// blocks, not lengths). Each of the 256 shards is allowed 1/256 of the
// limit: a store that takes its shard over its share removes that
// shard's least recently used entries until three quarters of the share
// remain, never the entry just written, so no store walks more than one
// shard. A cache too small for that (fewer than 16 entries in the shard)
// is trimmed as a whole, least recently used first, to three quarters
// of the limit. Zero means no limit.
func WithMaxBytes(n int64) Option { return func(c *config) { c.maxBytes = n } }

// WithSharedDir lets Open use a directory that another user owns or that
// other users can write to. By default Open refuses one, in every mode:
// another user could plant entries there. Sign entries (WithSigningKey)
// when sharing a directory with users you do not trust.
func WithSharedDir() Option { return func(c *config) { c.shared = true } }

// WithRemote puts a shared tier behind the local directory: a call that
// misses locally is looked up there, and a hit is checked and copied to
// the local directory; a miss is computed once across every machine that
// shares the tier (see remote.Leaser), then stored in both tiers. The remote never
// fails a call: a request that fails or times out is a miss. The caller
// keeps ownership of r and closes it.
func WithRemote(r *remote.Tier) Option { return func(c *config) { c.remote = r } }

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
	disk    *disk.Store
	flights flights
	now     func() time.Time
	remote  *remote.Tier
	signKey []byte
	files   *keying.Digester // keys File and Dir arguments

	hits, misses, computations, storeErrors, corrupt, keyErrors atomic.Int64
	verifyMismatches, remoteHits, badSignatures, otherCode      atomic.Int64
	mutations                                                   atomic.Int64
	unstorableResults                                           atomic.Int64
	bytesRead, bytesWritten                                     atomic.Int64
	saved                                                       atomic.Int64 // nanoseconds of computing that hits saved
	warnedStore                                                 atomic.Bool
	warnedCode                                                  sync.Map // Func -> true: told its entries were computed by other code
	warnedSource                                                sync.Map // Func -> true: told its source changed without go generate
	warnedKey                                                   sync.Map // Func -> true: told its arguments cannot be keyed
	partsKept                                                   sync.Map // Func and code -> true: the parts of the code's fingerprint are kept (see explain.Record)
	catch                                                       catchup  // entries to copy to the remote tier

	maxBytes  int64
	sinceTrim atomic.Int64 // bytes written since the last trim
	trimmed   atomic.Bool  // a trim has run in this process
	trimming  sync.Mutex
}

// Open returns a cache that keeps its entries in dir, creating dir (mode
// 0700) unless the mode is ModeOff or ModeReadOnly. It refuses a directory
// that other users can write to, unless given WithSharedDir.
func Open(dir string, opts ...Option) (*Cache, error) {
	if dir != "" {
		// a/x/../b is a/b: nothing is made on the way to it (a/x).
		dir = filepath.Clean(dir)
	}
	cfg := config{mode: ModeOn}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.mode < ModeOn || cfg.mode > ModeVerify {
		return nil, fmt.Errorf("cache mode %v is not one of ModeOn, ModeOff, ModeReadOnly, ModeRefresh and ModeVerify", cfg.mode)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(logline.New(os.Stderr))
	}
	if cfg.maxBytes < 0 {
		return nil, fmt.Errorf("cache size limit %d is negative: give 0 for no limit", cfg.maxBytes)
	}
	if cfg.signKey != nil && len(cfg.signKey) < minSigningKey {
		return nil, fmt.Errorf("signing key is %d bytes: use at least %d random bytes", len(cfg.signKey), minSigningKey)
	}
	c := newCache(dir, cfg)
	if cfg.mode == ModeOff {
		return c, nil
	}
	if dir == "" {
		return nil, errors.New("the cache directory is empty: name a directory, or use ModeOff for no cache")
	}
	if cfg.mode != ModeReadOnly {
		if err := os.MkdirAll(dir, disk.DirPerm); err != nil {
			return nil, fmt.Errorf("cache directory: %w", err)
		}
	}
	if err := disk.CheckPrivate(dir, cfg.shared, "set "+envDir+" to a directory of your own, or, if others are meant to share results there, set "+envSharedDir+"=1 (WithSharedDir)"); err != nil {
		return nil, err
	}
	if cfg.mode != ModeReadOnly {
		c.disk.WriteReadme()
	}
	return c, nil
}

// newCache returns the cache of dir as cfg configures it, without
// touching dir: every Cache is made here, so that every path of Do, of a
// sweep and of maintenance finds its parts, whatever the mode.
func newCache(dir string, cfg config) *Cache {
	c := &Cache{dir: dir, mode: cfg.mode, log: cfg.logger, verbose: cfg.verbose, disk: disk.New(dir, !cfg.shared, cfg.signKey), now: time.Now, maxBytes: cfg.maxBytes,
		remote: cfg.remote, signKey: cfg.signKey}
	if c.remote != nil {
		c.remote.SetLogger(cfg.logger)
	}
	c.sinceTrim.Store(cfg.maxBytes) // the first store checks the size
	// The memo of file digests is trusted only where no one else can
	// write to it.
	if cfg.shared {
		c.files = keying.NewDigester(nil, false)
	} else {
		c.files = keying.NewDigester(c.disk, cfg.mode == ModeReadOnly)
	}
	return c
}

// Dir returns the directory the cache keeps its entries in.
func (c *Cache) Dir() string { return c.dir }

// Remote returns the cache's remote tier, or nil.
func (c *Cache) Remote() *remote.Tier { return c.remote }

// Mode returns the cache's mode.
func (c *Cache) Mode() Mode { return c.mode }

// Stats counts what a Cache did in this process.
type Stats struct {
	Hits         int64 // calls served from an entry
	Misses       int64 // calls that found no usable entry
	Computations int64 // times a compute function ran
	StoreErrors  int64 // results that could not be stored (and were returned all the same)
	Corrupt      int64 // entries rejected by a check: each was a miss
	KeyErrors    int64 // calls whose arguments could not be keyed, or whose input files could not be read (computed, not cached)
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
	// Mutations counts results not stored because computing them changed
	// an argument (see Do): each was returned all the same.
	Mutations int64
	// Unstorable counts calls computed without the cache because their
	// result type cannot come back from it exactly, or a result's
	// encoding could not be read back (see Do).
	Unstorable int64
	// Saved is the compute time that hits saved: the sum, over hits, of
	// how long the loaded results took to compute when they were stored.
	Saved time.Duration
}

// String spells s in one line, for a program to print at exit:
//
//	cachegen: 12 hits, 3 misses (3 computed); 1.2 MiB read, 240.0 KiB written; saved 5m12s of computing
//
// followed by each counter of problems that is not zero.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cachegen: %s, %s (%d computed); %s read, %s written; saved %s of computing",
		units.Count(int(s.Hits), "hit", "hits"), units.Count(int(s.Misses), "miss", "misses"), s.Computations,
		units.FormatSize(s.BytesRead), units.FormatSize(s.BytesWritten), units.RoundDuration(s.Saved))
	if s.RemoteHits > 0 {
		fmt.Fprintf(&b, "; %d from the remote", s.RemoteHits)
	}
	for _, p := range []struct {
		n    int64
		what string
	}{{s.StoreErrors, "store errors"}, {s.Corrupt, "corrupt entries"}, {s.KeyErrors, "key errors"},
		{s.VerifyMismatches, "verify mismatches"}, {s.RemoteErrors, "remote errors"}, {s.BadSignatures, "bad signatures"},
		{s.OtherCode, "entries of other code"}, {s.Mutations, "results not stored: the function changed an argument"},
		{s.Unstorable, "results not stored: they cannot come back exactly"}} {
		if p.n > 0 {
			fmt.Fprintf(&b, "; %d %s", p.n, p.what)
		}
	}
	return b.String()
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
		RemoteErrors:     c.remote.Errors(),
		BadSignatures:    c.badSignatures.Load(),
		OtherCode:        c.otherCode.Load(),
		Mutations:        c.mutations.Load(),
		Unstorable:       c.unstorableResults.Load(),
		Saved:            time.Duration(c.saved.Load()),
	}
}
