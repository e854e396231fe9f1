package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/explain"
	"github.com/cachegen/cachegen/internal/keying"
	"github.com/cachegen/cachegen/internal/units"
)

// Do returns the result of compute for call: loaded from the cache when a
// valid entry exists, else computed, stored and returned.
//
// Do never returns a wrong or partial result because of the cache: an entry
// that fails any check is a miss, and a result type that cannot come back
// exactly (by the rules the generator applies: see entry.StoreProblem) is
// computed on every call, never looked up nor stored, with one warning per
// function, counted in Stats().Unstorable. It never loses a computed result: a
// failure to store it is logged and counted in Stats, and the result is
// returned. An error from compute is returned as is, with compute's value,
// and nothing is stored. Concurrent calls with the same key compute once,
// each but the first decoding its own copy of the result (one that was not
// stored, each computes, unless it holds no references to share); a
// caller waiting for another's computation returns when its ctx is done.
// A nil c means the cache ctx carries (see WithCache), or else Default():
// generated wrappers pass nil.
//
// When call.Code is set, only entries computed by that code (or by code
// in call.Accepted) are served. Where the function's source is at hand and
// no longer has the fingerprint call.Code (it was edited without go
// generate: see CheckCode), Do panics in a test binary, and elsewhere
// computes without the cache, warning once.
func Do[T any](ctx context.Context, c *Cache, call Call, compute func(context.Context) (T, error)) (T, error) {
	if c == nil {
		c = cacheOf(ctx)
	}
	if l := callctx.LookupOf(ctx); l != nil {
		return lookupOnly[T](ctx, c, call, l)
	}
	if err := sourceChanged(c, call); err != nil {
		c.bypassEdited(call, err)
		c.computations.Add(1)
		return compute(ctx)
	}
	if c.mode == ModeOff {
		c.computations.Add(1)
		return compute(ctx)
	}
	if err := storeProblem[T](call); err != nil {
		c.unstorable(ctx, call, reflect.TypeFor[T](), err)
		c.computations.Add(1)
		return compute(ctx)
	}
	r, err := newRequest(ctx, c, call, compute)
	if r != nil {
		defer r.cancelBudget()
	}
	if err != nil {
		c.keyErrors.Add(1)
		level := slog.LevelDebug
		if _, told := c.warnedKey.LoadOrStore(call.Func, true); !told {
			level = slog.LevelWarn
		}
		msg := "computing without the cache: the arguments cannot be keyed"
		switch {
		case errors.As(err, new(*keying.InputError)):
			msg = "computing without the cache: an input file cannot be read"
		case errors.Is(err, errCodec):
			msg = "computing without the cache: the call's Codec converts another type"
		}
		c.log.Log(ctx, level, msg, "fn", call.Func, "err", err)
		c.computations.Add(1)
		return compute(ctx)
	}
	var found look
	if c.mode != ModeRefresh {
		var v T
		var stored []byte
		var ok bool
		if v, stored, ok, found = r.lookup(); ok {
			if c.mode == ModeVerify {
				return r.verify(stored)
			}
			return v, nil
		}
	}
	return r.fill(found)
}

// lookupOnly serves call when either tier holds a valid entry of it, and
// computes nothing: a sweep's first look at its points. l says what it
// found; a miss returns callctx.ErrNotCached.
func lookupOnly[T any](ctx context.Context, c *Cache, call Call, l *callctx.Lookup) (T, error) {
	var zero T
	if c.mode == ModeOff || c.mode == ModeRefresh || c.mode == ModeVerify || sourceChanged(c, call) != nil || storeProblem[T](call) != nil {
		return zero, callctx.ErrNotCached
	}
	r, err := newRequest(ctx, c, call, func(context.Context) (T, error) { return zero, callctx.ErrNotCached })
	if r != nil {
		defer r.cancelBudget()
	}
	if err != nil {
		return zero, callctx.ErrNotCached
	}
	r.sweep = l
	v, _, ok, found := r.lookup()
	l.Hit, l.Took, l.OtherCode, l.Key = ok, found.took, found.otherCode, r.id.key
	l.Rejected = found.rejected != ""
	if !ok {
		return zero, callctx.ErrNotCached
	}
	return v, nil
}

// cacheKey is the key of the cache a context carries.
type cacheKey struct{}

// WithCache returns a copy of ctx that carries c. The generated wrappers of
// functions that take a context use the cache their ctx carries, instead of
// Default(); so do calls of Do with a nil Cache, among them the cached
// calls that a computation given this ctx makes. A wrapper of a function
// without a context takes its cache as an argument instead: FCachedIn(c,
// …). A nil c leaves the choice to Default().
func WithCache(ctx context.Context, c *Cache) context.Context {
	return context.WithValue(ctx, cacheKey{}, c)
}

// cacheOf returns the cache ctx carries, or Default().
func cacheOf(ctx context.Context) *Cache {
	if c, _ := ctx.Value(cacheKey{}).(*Cache); c != nil {
		return c
	}
	return Default()
}

// A request is one call of Do that a lookup did not serve: what the steps
// of filling it share.
type request[T any] struct {
	ctx context.Context
	// budget is ctx, ending when half of what remained of it when the call
	// began is used: what the remote tier's requests before computing may
	// take, in all.
	budget       context.Context
	cancelBudget context.CancelFunc
	c            *Cache
	call         Call
	id           identity
	tsum         [8]byte // digest of the result type
	codec        Codec   // stores results as another type, or nil
	compute      func(context.Context) (T, error)
	// sweep, for a sweep's lookup, says where to look: in the local tier
	// alone, or in the remote tier with what a batch read of it fetched.
	sweep *callctx.Lookup
}

// A look is what the looks for a call's entry found, beside a result: what
// explains its miss, and what the steps after them need not find again.
// Each step that looks is given the look so far, and adds to it.
type look struct {
	absent      bool          // the local tier had no entry at the last look
	expired     bool          // an entry was found older than the call's TTL
	otherCode   bool          // an entry of other code was found, and counted once
	otherCodeOf string        // the fingerprint of that entry's code ("" when it recorded none)
	rejected    string        // why an entry found was not served, when a check rejected it
	unusable    []byte        // a remote entry found unusable, not to be checked again
	remoteAsked bool          // the remote tier was asked for the entry, or a batch read it
	took        time.Duration // how long the served entry took to compute
}

// logWait logs, when verbose, that the call waits for who to compute it.
func (r *request[T]) logWait(who string) {
	if r.c.verbose {
		r.c.log.Info("[WAIT] "+who+" is computing this call: waiting for its result", "key", r.id.key, "fn", r.call.Func, "version", r.call.Version)
	}
}

func newRequest[T any](ctx context.Context, c *Cache, call Call, compute func(context.Context) (T, error)) (*request[T], error) {
	codec, err := codecOf[T](call)
	if err != nil {
		return nil, err
	}
	id, err := call.identity(c.files)
	if err != nil {
		return nil, err
	}
	tsum := entry.TypeSum(reflect.TypeFor[T]())
	if codec != nil {
		tsum = codec.typeSum()
	}
	budget, cancel := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok && c.remote != nil {
		budget, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
	}
	return &request[T]{ctx: ctx, budget: budget, cancelBudget: cancel, c: c, call: call, id: id, tsum: tsum, codec: codec, compute: compute}, nil
}

// lookup serves the call from the local tier, or else from the remote one,
// and says what it found.
func (r *request[T]) lookup() (v T, stored []byte, ok bool, found look) {
	if r.sweep != nil && r.sweep.RemoteOnly {
		found.absent = true
	} else if v, stored, ok = r.loadLocal(&found); ok {
		return v, stored, true, found
	}
	var zero T
	if r.sweep != nil && r.sweep.LocalOnly {
		return zero, nil, false, found
	}
	if read, _, _ := r.c.remoteUse(r.budget); !read {
		return zero, nil, false, found
	}
	var data []byte
	var err error
	known := false
	if r.sweep != nil && r.sweep.Remote != nil {
		if data, known = r.sweep.Remote(r.id.key); known && data == nil {
			return zero, nil, false, found // the batch found none
		}
	}
	if !known {
		data, err = r.c.remote.Get(r.budget, r.id.key, r.c.signKey)
	}
	found.remoteAsked = true
	if errors.Is(err, entry.ErrBadSignature) {
		// A large entry, its MAC checked as it was read.
		r.count(&r.c.badSignatures)
		r.c.remote.Recheck(r.c.signKey)
		r.logRejected(r.c.firstTime("bad signature"), err, "remote "+r.c.remote.String(), &found)
	}
	if err != nil {
		return zero, nil, false, found
	}
	if v, stored, ok = r.loadRemote(data, &found); !ok {
		found.unusable = data
	}
	return v, stored, ok, found
}

// fill fills the call once per process: the first caller with its key
// leads, and the others wait for its result; when the leader gives up (its
// ctx ended, it panicked), a waiter leads in its place. A call that no
// entry served is a miss.
func (r *request[T]) fill(found look) (T, error) {
	served, busy := false, false
	defer func() {
		if !served && !busy {
			r.c.misses.Add(1)
		}
	}()
	for {
		f, leader := r.c.flights.join(r.id.sum)
		if leader {
			r.c.flights.run(r.id.sum, f, func() (any, [][]byte, error) {
				var v any
				var payload [][]byte
				var err error
				v, payload, served, err = r.lead(&found)
				return v, payload, err
			})
			v, _ := f.value.(T)
			busy = errors.Is(f.err, callctx.ErrBusy)
			if errors.Is(f.err, errMutated) {
				return v, nil
			}
			return v, f.err
		}
		if v, err, ok := r.follow(f); ok {
			return v, err
		}
	}
}

// follow waits for the leader's result, and reports false when the leader
// gave up without one for this caller. A waiter never gets memory the
// leader's caller holds: it decodes its own value from the encoding, or,
// for a result not encoded, computes its own (a value without references
// is copied; with an error, the leader's error comes without its value).
func (r *request[T]) follow(f *flight) (T, error, bool) {
	var zero T
	select {
	case <-r.ctx.Done():
		return zero, r.ctx.Err(), true
	case <-f.done:
	}
	if f.abandoned || isContextErr(f.err) && r.ctx.Err() == nil || errors.Is(f.err, callctx.ErrBusy) && !callctx.NoWait(r.ctx) ||
		errors.Is(f.err, errMutated) {
		return zero, nil, false // lead in the leader's place
	}
	if f.payload != nil {
		// The waiters share the leader's copy of the encoding: each
		// decodes its own value, no slice of it aliased.
		if v, err := r.decodeResult(f.payload[0], false); err == nil {
			return v, nil, true
		}
	}
	if !entry.HoldsRefs(reflect.TypeFor[T]()) {
		v, _ := f.value.(T) // a copy: it shares no memory
		return v, f.err, true
	}
	if f.err != nil {
		return zero, f.err, true // the leader's error, without its value's memory
	}
	// The leader's result was not stored (it cannot be, or its inputs
	// changed): this caller computes its own rather than share its memory.
	r.c.computations.Add(1)
	v, err := r.compute(r.ctx)
	return v, err, true
}

// lead fills the call as its process's leader: under the key's lock, for
// other processes, and lease, for other machines, it takes the entry one
// of them stored meanwhile, or computes and stores one.
//
// It reports whether an entry served the call, and adds to found what it
// finds.
func (r *request[T]) lead(found *look) (v any, payload [][]byte, served bool, err error) {
	var zero T
	unlock, waited, err := r.c.lockKey(r.ctx, r.id.key, func() { r.logWait("another process") })
	if err != nil {
		return zero, nil, false, err // ctx ended while another process computed, or a sweep moves on
	}
	defer unlock()
	if r.c.mode != ModeRefresh && (waited || found.absent) {
		// Another process may have stored the entry since this one
		// missed: while it held the lock (waited), or between the miss
		// and the lock. (An entry found unusable is not read twice.)
		if v, payload, ok := r.loadLocal(found); ok {
			return v, [][]byte{payload}, true, nil
		}
	}
	if _, write, _ := r.c.remoteUse(r.budget); write && r.c.mode != ModeRefresh && r.c.mode != ModeReadOnly {
		c := r.c
		var v T
		var payload []byte
		data, release, err := c.remote.Claim(r.ctx, r.budget, r.id.key, c.signKey, func(data []byte) (ok bool) {
			if bytes.Equal(data, found.unusable) {
				return false
			}
			v, payload, ok = r.loadRemote(data, found)
			return ok
		}, func() { r.logWait("another machine (remote " + c.remote.String() + ")") })
		if err != nil {
			return zero, nil, false, err
		}
		defer release()
		if data != nil {
			return v, [][]byte{payload}, true, nil
		}
	}
	v, payload, err = r.computeAndStore(*found)
	return v, payload, false, err
}

// computeAndStore runs compute and stores a result it returns without an
// error.
func (r *request[T]) computeAndStore(found look) (any, [][]byte, error) {
	c := r.c
	if c.verbose {
		switch {
		case c.mode == ModeRefresh:
			c.log.Info("[REFRESH] computing, to replace any stored result", "key", r.id.key, "fn", r.call.Func, "version", r.call.Version)
		case found.expired:
			c.log.Info("[EXPIRED] computing again: the stored result is older than its ttl", "key", r.id.key, "fn", r.call.Func, "version", r.call.Version, "ttl", r.call.TTL)
		default:
			c.log.Info("[MISS] computing", "key", r.id.key, "fn", r.call.Func, "version", r.call.Version, "why", r.why(found))
		}
	}
	start := c.now()
	v, err := r.compute(r.ctx)
	took := c.now().Sub(start)
	c.computations.Add(1)
	if err != nil {
		return v, nil, err
	}
	payload, err := r.encodeResult(v)
	if err == nil {
		if err := r.readBack(payload); err != nil {
			// Stored, it would be refused at every load.
			c.unstorable(r.ctx, r.call, reflect.TypeFor[T](), err)
			return v, nil, nil
		}
	}
	if !r.argsUnchanged() {
		// Callers waiting for this result compute their own: a shared
		// result would skip the change on their arguments too.
		return v, nil, errMutated
	}
	if !r.inputsUnchanged() {
		return v, payload, nil
	}
	r.store(start, took, payload, err, found.remoteAsked)
	return v, payload, nil
}

// errMutated tells the callers waiting for a leader's result that its
// function changed an argument: each computes its own.
var errMutated = errors.New("the function changed an argument it was given")

// argsUnchanged reports whether computing the call left the arguments
// that can change (those holding pointers, slices, maps or interfaces) as
// they were keyed. A function that changes an argument it was given (that
// normalizes a matrix in place) must not be served from the cache, since
// a hit would skip the change: its result is returned, not stored.
func (r *request[T]) argsUnchanged() bool {
	changed := r.call.changedParams(r.c.files, r.id)
	if len(changed) == 0 {
		return true
	}
	r.c.mutations.Add(1)
	level := slog.LevelDebug
	if _, told := r.c.warnedKey.LoadOrStore("mutated "+r.call.Func+" "+changed[0], true); !told {
		level = slog.LevelWarn
	}
	r.c.log.Log(r.ctx, level, "the function changed an argument it was given: returning its result uncached, since a hit would skip the change (copy the argument inside the function, or leave it out of the cache)",
		"fn", r.call.Func, "param", changed[0], "key", r.id.key)
	return false
}

// inputsUnchanged reports whether the files the call was keyed by are as
// they were when it was keyed: a result computed from a file that changed
// meanwhile may be of neither content, and is not stored under either.
func (r *request[T]) inputsUnchanged() bool {
	if len(r.id.Seen) == 0 {
		return true
	}
	id, err := r.call.identity(r.c.files)
	if err == nil && id.sum == r.id.sum && slices.Equal(id.Seen, r.id.Seen) {
		return true
	}
	level := slog.LevelDebug
	if _, told := r.c.warnedKey.LoadOrStore("changed "+r.call.Func, true); !told {
		level = slog.LevelWarn
	}
	r.c.log.Log(r.ctx, level, "an input file changed while the result was computed: returning it uncached", "key", r.id.key, "fn", r.call.Func)
	return false
}

// verify computes a call that hit, and reports a difference between the
// fresh result and the stored one.
func (r *request[T]) verify(stored []byte) (T, error) {
	c := r.c
	c.computations.Add(1)
	v, err := r.compute(r.ctx)
	if err != nil {
		return v, err
	}
	fresh, err := r.encodeResult(v)
	if err == nil && !bytes.Equal(bytes.Join(fresh, nil), stored) {
		c.verifyMismatches.Add(1)
		c.log.Error("[VERIFY] a fresh computation differs from the stored result: "+
			"bump its //cache:version if the function changed, or make it deterministic (fix its random seed)",
			"key", r.id.key, "fn", r.call.Func, "version", r.call.Version)
	}
	return v, nil
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// loadLocal returns the stored result and its encoded form, if a valid,
// fresh entry exists in the local tier, and adds to found what it finds.
func (r *request[T]) loadLocal(found *look) (T, []byte, bool) {
	var zero T
	c := r.c
	name := disk.EntryName(r.id.key)
	path := c.disk.Abs(name)
	mapFrom := int64(0)
	if r.call.Map && c.disk.Private() && c.mode != ModeVerify { // verify returns the fresh result, not the stored one
		mapFrom = mapMin
	}
	data, mtime, payCRC, mapped, err := c.disk.ReadOrMapEntry(name, mapFrom)
	found.absent = errors.Is(err, fs.ErrNotExist)
	switch {
	case found.absent:
		return zero, nil, false
	case errors.Is(err, entry.ErrOtherFormat):
		r.logRejected(slog.LevelDebug, err, path, found)
		return zero, nil, false
	case errors.Is(err, entry.ErrBadSignature):
		r.count(&c.badSignatures)
		r.logRejected(c.firstTime("bad signature"), err, path, found)
		return zero, nil, false
	case errors.Is(err, entry.ErrCorrupt), errors.Is(err, disk.ErrNotPrivate):
		r.count(&c.corrupt)
		r.logRejected(slog.LevelWarn, err, path, found)
		return zero, nil, false
	case err != nil:
		c.log.Warn("cannot read the cache entry: computing it", "key", r.id.key, "fn", r.call.Func, "err", err)
		return zero, nil, false
	}
	v, h, payload, ok := r.check(data, payCRC, path, c.disk.Private(), found)
	if !ok {
		if mapped {
			disk.Unmap(data) // nothing decoded from it is kept
		}
		return zero, nil, false
	}
	r.hit(h, "local", len(data), found)
	c.trimOnHit(r.id.key)
	c.catchUp(r.id.key)
	if now := c.now(); now.Sub(mtime) > touchInterval && c.mode != ModeReadOnly {
		// Record the use for least-recently-used trimming, cheaply: at
		// most one metadata write per entry an hour.
		c.disk.Touch(name, now)
	}
	return v, payload, true
}

// loadRemote is loadLocal for an entry read from the remote tier: a valid
// one is copied to the local tier.
func (r *request[T]) loadRemote(data []byte, found *look) (T, []byte, bool) {
	c := r.c
	if h, err := entry.ParseHeader(data, -1); err == nil && h.Signed && c.signKey == nil {
		// The team signs its entries, though its store has no signing
		// record: this machine can check none, and stops using it.
		c.remote.NoteSigned()
		c.remoteUse(r.budget) // says so
		var zero T
		return zero, nil, false
	}
	v, h, payload, ok := r.check(data, nil, "remote "+c.remote.String(), false, found)
	if !ok {
		var zero T
		return zero, nil, false
	}
	r.hit(h, "remote", len(data), found)
	c.remoteHits.Add(1)
	if c.mode != ModeReadOnly {
		if u, counted, err := c.disk.WriteEntry(r.id.key, disk.WriteParts([][]byte{data})); err == nil {
			c.bytesWritten.Add(int64(len(data)))
			c.trim(int64(len(data)), r.id.key, u, counted)
			e := r.explained(time.Unix(0, h.ComputedAt))
			if e.Code = entry.CodeText(h.Code); e.Code != r.call.Code {
				e.Parts = nil // an accepted code's: not this call's parts
			}
			explain.Record(c.disk, r.call.Func, e, &c.partsKept)
		}
	}
	return v, payload, true
}

// check parses and checks an entry read from where, and decodes its
// result. A corrupt or wrongly signed entry is logged and counted; a stale
// one, or one of other code, is not usable either. private says the entry
// came from a directory only this user can write: there, or with a
// signing key's MAC checked, a result type whose own methods decode it
// (see untrustedDecoder) is decoded; elsewhere it is a miss.
func (r *request[T]) check(data []byte, payCRC *uint32, where string, private bool, found *look) (T, entry.Header, []byte, bool) {
	var zero T
	c, call := r.c, r.call
	h, _, payload, err := entry.Parse(data, payCRC)
	if err == nil && h.Sum != r.id.sum {
		err = fmt.Errorf("%w: entry holds another call (a key prefix collision, or a moved file)", entry.ErrCorrupt)
	}
	if err == nil && h.TypeSum != r.tsum {
		err = fmt.Errorf("%w: entry holds a result of another type (was the result type changed without a version bump?)", entry.ErrCorrupt)
	}
	if err == nil && c.signKey != nil {
		if err = entry.CheckMAC(c.signKey, r.id.sum, h, data); err != nil {
			r.count(&c.badSignatures)
			if c.remote != nil && !private {
				// Before replacing it: the team may have changed its key.
				c.remote.Recheck(c.signKey)
			}
			r.logRejected(c.firstTime("bad signature"), err, where, found)
			return zero, h, nil, false
		}
	}
	if err == nil && !private && c.signKey == nil && r.decodesItself() {
		if _, told := c.warnedKey.LoadOrStore("untrusted "+call.Func, true); !told {
			c.log.Warn("not serving an entry from a shared directory or store without a signing key: its result is decoded by its own methods, which planted bytes could make take any memory (set CACHEGEN_SIGNING_KEY)", "fn", call.Func, "where", where)
		}
		return zero, h, nil, false
	}
	if err == nil && !call.accepts(h.Code) {
		if !found.otherCode {
			r.count(&c.otherCode)
		}
		found.otherCode, found.otherCodeOf = true, entry.CodeText(h.Code)
		if _, told := c.warnedCode.LoadOrStore(call.Func, true); !told {
			c.log.Warn("entries were computed by other code under this version: computing them again", "fn", call.Func, "version", call.Version)
		}
		return zero, h, nil, false
	}
	var v T
	if err == nil {
		if call.TTL > 0 && c.now().Sub(time.Unix(0, h.ComputedAt)) > call.TTL {
			found.expired = true
			return zero, h, nil, false // stale: recompute and replace
		}
		v, err = r.decodeResult(payload, true)
		if err != nil && !errors.Is(err, entry.ErrLocation) {
			err = fmt.Errorf("%w: payload: %v", entry.ErrCorrupt, err)
		}
	}
	if errors.Is(err, entry.ErrOtherFormat) || errors.Is(err, entry.ErrLocation) {
		r.logRejected(slog.LevelDebug, err, where, found)
		return zero, h, nil, false
	}
	if err != nil {
		r.count(&c.corrupt)
		r.logRejected(slog.LevelWarn, err, where, found)
		return zero, h, nil, false
	}
	return v, h, payload, true
}

// count adds one to a counter of entries not served, unless the sweep
// that makes the call counted what it finds by a first look (see
// callctx.WithCounted).
func (r *request[T]) count(n *atomic.Int64) {
	if !callctx.Counted(r.ctx) {
		n.Add(1)
	}
}

// logRejected logs an entry rejected by a check, which is computed again,
// and notes why in found.
func (r *request[T]) logRejected(level slog.Level, err error, where string, found *look) {
	found.rejected = "its entry (" + where + ") was found and rejected: " + err.Error()
	r.c.log.Log(r.ctx, level, "rejected an entry: computing it again", "key", r.id.key, "fn", r.call.Func, "where", where, "err", err)
}

// hit counts a hit on an entry of n bytes with header h, notes in found
// how long it took to compute, and logs it, when verbose, with what a
// handler may count on: the call, when and how fast its result was
// computed, its size and its tier.
func (r *request[T]) hit(h entry.Header, tier string, n int, found *look) {
	c := r.c
	found.took = time.Duration(h.Duration)
	c.hits.Add(1)
	if c.mode != ModeVerify {
		c.saved.Add(h.Duration)
	}
	c.bytesRead.Add(int64(n))
	if c.verbose {
		r.c.log.Info("[HIT]", "key", r.id.key, "fn", r.call.Func, "version", r.call.Version,
			"computed", time.Unix(0, h.ComputedAt).Format(time.RFC3339), "took", units.RoundDuration(time.Duration(h.Duration)),
			"bytes", n, "tier", tier)
	}
}

// store writes the entry of an encoded result unless the cache is
// read-only; err is the encoding's error, counted and logged like a
// failure to write. remoteAsked says the remote tier was asked for the
// entry before.
func (r *request[T]) store(start time.Time, took time.Duration, payload [][]byte, err error, remoteAsked bool) {
	c := r.c
	if c.mode == ModeReadOnly && err == nil {
		return
	}
	h, m := entryOf(r.id, r.call, r.tsum, r.blocks(), start, took)
	var n int64
	missed := false // the remote tier did not take the entry: it is pending
	write := func(w io.Writer) (err error) {
		// The payload is checksummed as it is written: one pass.
		n, err = entry.EncodeTo(w, h, m, payload)
		return err
	}
	if err == nil && (c.remote != nil || c.signKey != nil) {
		var parts [][]byte
		if parts, err = entry.Encode(h, m, payload, c.signKey); err == nil {
			_, toRemote, rerr := c.remoteUse(r.ctx)
			if toRemote && c.signKey == nil && !remoteAsked {
				// Without a key, an entry replaced without a look (in
				// refresh mode) could be one the team signed, in a store
				// that does not say it signs.
				toRemote, rerr = c.remote.MayReplace(r.ctx, r.id.key)
			}
			if toRemote {
				// The remote copy first: callers on other machines are
				// waiting for it under this caller's lease.
				rerr = c.remote.Put(r.ctx, r.id.key, bytes.Join(parts, nil))
			}
			missed = rerr != nil
			write = func(w io.Writer) error {
				for _, p := range parts {
					n += int64(len(p))
				}
				return disk.WriteParts(parts)(w)
			}
		}
	}
	if err == nil && c.mode != ModeReadOnly {
		var u disk.Usage
		var counted bool
		if u, counted, err = c.disk.WriteEntry(r.id.key, write); err == nil {
			c.bytesWritten.Add(n)
			c.trim(n, r.id.key, u, counted)
			explain.Record(c.disk, r.call.Func, r.explained(start), &c.partsKept)
			if missed {
				c.notePending(r.id.key)
			}
		}
	}
	if err != nil {
		c.storeErrors.Add(1)
		level := slog.LevelDebug
		if c.warnedStore.CompareAndSwap(false, true) {
			level = slog.LevelWarn
		}
		c.log.Log(r.ctx, level, "could not store the result: returning it uncached", "key", r.id.key, "fn", r.call.Func, "err", err)
	}
}

// entryOf returns the header and metadata of the entry a cache writes for
// a result.
func entryOf(id identity, call Call, tsum [8]byte, blocks []entry.Block, start time.Time, took time.Duration) (entry.Header, entry.Meta) {
	h := entry.Header{ComputedAt: start.UnixNano(), Duration: int64(took), TypeSum: tsum, Sum: id.sum, Code: codeBytes(call.Code)}
	m := entry.Meta{Func: call.Func, Version: call.Version, Params: id.Text, TTL: int64(call.TTL), Inputs: id.Inputs, Blocks: blocks,
		Parts: call.parts(), Accepted: call.Accepted}
	return h, m
}
