// Package redis keeps a cachegen cache's shared tier in Redis. Importing it
// registers the redis:// and rediss:// schemes with the runtime:
//
//	import _ "github.com/cachegen/cachegen/remote/redis"
//
// URLs: redis://[user:password@]host:6379/0[?prefix=cachegen:] (rediss://
// for TLS). Entries are strings under PREFIX "e:" KEY, leases under
// PREFIX "l:" KEY with the lease's expiry as the key's, and when each entry
// was last used under PREFIX "u:" KEY, in Unix milliseconds: Redis's own
// idle times count a listing's reads as uses.
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/internal/entry"

	"github.com/cachegen/cachegen/remote"
	goredis "github.com/redis/go-redis/v9"
)

func init() {
	remote.Register("redis", open)
	remote.Register("rediss", open)
}

// A redisStore keeps each entry as a string under PREFIX "e:" KEY, each
// lease under PREFIX "l:" KEY, with the lease's expiry as the key's, and
// when each entry was last used under PREFIX "u:" KEY.
type redisStore struct {
	c        goredis.UniversalClient
	prefix   string
	warn     func(string)
	limit    *atomic.Int64 // what one reply may claim, checked by the connections of stores opened from URLs
	readOnly atomic.Bool   // its tier is read-only: List records no ages
}

// SetReadOnly makes List write nothing (see remote.ReadOnlyStore).
func (s *redisStore) SetReadOnly() { s.readOnly.Store(true) }

// Clean removes the records of use whose entries are gone (evicted, or
// removed by another program): a clear leaves nothing of the cache.
func (s *redisStore) Clean(ctx context.Context) error {
	match := globEscape(s.prefix+"u:") + "*"
	var cursor uint64
	for rounds := 0; ; rounds++ {
		scanned, next, err := s.c.Scan(ctx, cursor, match, 1000).Result()
		if err != nil {
			return refused(err)
		}
		pipe := s.c.Pipeline()
		exists := make([]*goredis.IntCmd, len(scanned))
		for i, k := range scanned {
			exists[i] = pipe.Exists(ctx, s.entry(strings.TrimPrefix(k, s.prefix+"u:")))
		}
		if len(scanned) > 0 {
			pipe.Exec(ctx)
		}
		var orphans []string
		for i, k := range scanned {
			if n, err := exists[i].Result(); err == nil && n == 0 && entry.ValidKey(strings.TrimPrefix(k, s.prefix+"u:")) {
				orphans = append(orphans, k)
			}
		}
		if len(orphans) > 0 {
			if err := s.c.Del(ctx, orphans...).Err(); err != nil {
				return refused(err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
		if rounds > maxStalledScans {
			return errors.New("redis: SCAN does not let the cleaning end")
		}
	}
}

// New returns a Store that keeps its entries in Redis, under keys that
// start with prefix. The replies of c's server are read as c reads them;
// a store opened from a URL (remote.Open) checks each reply's
// framing first, so that no server can make it allocate more than its
// remote tier's MaxEntry.
func New(c goredis.UniversalClient, prefix string) remote.Store {
	return &redisStore{c: c, prefix: prefix, warn: func(msg string) { log.Print(msg) }, limit: new(atomic.Int64)}
}

// LimitReplies bounds what one reply may claim, for a store opened from a
// URL.
func (s *redisStore) LimitReplies(max int64) { s.limit.Store(max) }

// open opens redis:// and rediss:// URLs; the prefix query parameter
// sets the key prefix, "cachegen:" by default.
func open(ctx context.Context, u *url.URL) (remote.Store, error) {
	c := *u
	q := c.Query()
	prefix := "cachegen:"
	if q.Has("prefix") {
		prefix = q.Get("prefix")
		q.Del("prefix")
	}
	c.RawQuery = q.Encode()
	opt, err := goredis.ParseURL(c.String())
	if err != nil {
		return nil, err
	}
	// Each request's deadline bounds its network waits, and a Redis that
	// is down fails a request at once rather than after rounds of
	// redials: the cache then computes, and its breaker stops asking.
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = 1 // one retry, for a pooled connection the server closed
	opt.DialerRetries = 1
	quietDialFailures.Do(func() { goredis.SetLogger(dialQuiet{log.New(os.Stderr, "redis: ", log.LstdFlags)}) })
	// Every connection checks the replies it reads (see guardConn).
	limit, inFlight := new(atomic.Int64), new(atomic.Int64)
	limit.Store(remote.DefaultMaxEntry + remote.ReplySlack)
	netDialer := &net.Dialer{Timeout: opt.DialTimeout, KeepAlive: 5 * time.Minute}
	tlsConfig := opt.TLSConfig
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if tlsConfig != nil {
			conn, err = (&tls.Dialer{NetDialer: netDialer, Config: tlsConfig}).DialContext(ctx, network, addr)
		} else {
			conn, err = netDialer.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		return &guardConn{Conn: conn, limit: limit, inFlight: inFlight}, nil
	}
	s := New(goredis.NewClient(opt), prefix).(*redisStore)
	s.limit = limit
	return s, nil
}

// quietDialFailures drops go-redis's line for each failed dial, once a
// redis:// remote is opened: the cache reports an outage once itself, and
// go-redis would repeat it for every request. go-redis has one logger per
// program, so this applies to its other clients too; its other messages
// are printed as before.
var quietDialFailures sync.Once

type dialQuiet struct{ l *log.Logger }

func (q dialQuiet) Printf(_ context.Context, format string, v ...any) {
	if !strings.Contains(format, "failed to dial") {
		q.l.Printf(format, v...)
	}
}

func (s *redisStore) entry(key string) string { return s.prefix + "e:" + key }
func (s *redisStore) lease(key string) string { return s.prefix + "l:" + key }
func (s *redisStore) used(key string) string  { return s.prefix + "u:" + key }

// usedNow is the record of a use now.
func usedNow() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

func notFound(key string) error {
	return fmt.Errorf("no entry %s: %w", key, fs.ErrNotExist)
}

func (s *redisStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.Get(ctx, s.entry(key)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound(key)
	}
	return b, refused(err)
}

func (s *redisStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	b, err := s.c.GetRange(ctx, s.entry(key), off, off+n-1).Bytes()
	if err == nil && len(b) == 0 && off == 0 {
		return nil, notFound(key) // GETRANGE cannot tell a missing key from an empty one
	}
	return b, refused(err)
}

// UseRange is GetRange for a caller that uses the entry: in the same round
// trip, it records the use of an entry that has a record of its uses (one
// this store wrote). A server that refuses the record (a read-only
// replica, a user without write rights) costs nothing but the record.
func (s *redisStore) UseRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	pipe := s.c.Pipeline()
	get := pipe.GetRange(ctx, s.entry(key), off, off+n-1)
	pipe.SetXX(ctx, s.used(key), usedNow(), 0)
	pipe.Exec(ctx)
	b, err := get.Bytes()
	if err == nil && len(b) == 0 && off == 0 {
		return nil, notFound(key)
	}
	return b, refused(err)
}

// GetRanges pipelines a GETRANGE of each key, and with use the records of
// their uses: one round trip.
func (s *redisStore) GetRanges(ctx context.Context, keys []string, n int64, use bool) ([][]byte, []error, error) {
	pipe := s.c.Pipeline()
	gets := make([]*goredis.StringCmd, len(keys))
	for i, k := range keys {
		gets[i] = pipe.GetRange(ctx, s.entry(k), 0, n-1)
		if use {
			pipe.SetXX(ctx, s.used(k), usedNow(), 0)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	out, errs := make([][]byte, len(keys)), make([]error, len(keys))
	for i, get := range gets {
		b, err := get.Bytes()
		if err == nil && len(b) == 0 {
			err = notFound(keys[i])
		}
		out[i], errs[i] = b, refused(err)
	}
	return out, errs, nil
}

// Put stores the entry and the record of its use, in one round trip.
func (s *redisStore) Put(ctx context.Context, key string, data []byte) error {
	pipe := s.c.Pipeline()
	set := pipe.Set(ctx, s.entry(key), data, 0)
	pipe.Set(ctx, s.used(key), usedNow(), 0)
	pipe.Exec(ctx)
	return refused(set.Err())
}

// Create is SET NX, then, for an entry it created, the record of its use
// (which replaces one an evicted entry of the key left).
func (s *redisStore) Create(ctx context.Context, key string, data []byte) (bool, error) {
	ok, err := s.c.SetNX(ctx, s.entry(key), data, 0).Result()
	if err != nil || !ok {
		return false, refused(err)
	}
	s.c.Set(ctx, s.used(key), usedNow(), 0)
	return true, nil
}

// Delete removes the entry and the record of its uses.
func (s *redisStore) Delete(ctx context.Context, key string) error {
	pipe := s.c.Pipeline()
	del := pipe.Del(ctx, s.entry(key))
	pipe.Del(ctx, s.used(key))
	pipe.Exec(ctx)
	n, err := del.Result()
	if err == nil && n == 0 {
		return notFound(key)
	}
	return refused(err)
}

// List scans the entries' keys, and asks for their records of use, idle
// times and sizes in one round trip per batch. LastUsed is the record of
// the entry's last use (see UseRange), or for an entry without one, its
// idle time, read before any command that would reset it. Keys under the
// prefix that are not named like entries are not this cache's, and are
// left out; one named like an entry but holding another type than a
// string is left out with a warning.
func (s *redisStore) List(ctx context.Context, fn func(remote.StoreEntry) error) error {
	match := globEscape(s.prefix+"e:") + "*"
	var cursor uint64
	// SCAN may return a key twice; a server that returns the same keys
	// without end is refused after a while rather than listed forever.
	seen := map[string]bool{}
	stalled := 0
	for {
		scanned, next, err := s.c.Scan(ctx, cursor, match, 1000).Result()
		if err != nil {
			return refused(err)
		}
		var keys []string
		for _, k := range scanned {
			if entry.ValidKey(strings.TrimPrefix(k, s.prefix+"e:")) && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		if next == cursor && next != 0 {
			return fmt.Errorf("redis: SCAN returned cursor %d again: the server does not let the listing end", next)
		}
		if len(keys) == 0 && next != 0 {
			if stalled++; stalled > maxStalledScans {
				return fmt.Errorf("redis: SCAN returned no new key in %d rounds: the server does not let the listing end", maxStalledScans)
			}
		} else {
			stalled = 0
		}
		pipe := s.c.Pipeline()
		lens := make([]*goredis.IntCmd, len(keys))
		idles := make([]*goredis.DurationCmd, len(keys))
		var used *goredis.SliceCmd
		if len(keys) > 0 {
			ukeys := make([]string, len(keys))
			for i, k := range keys {
				ukeys[i] = s.used(strings.TrimPrefix(k, s.prefix+"e:"))
			}
			used = pipe.MGet(ctx, ukeys...)
		}
		for i, k := range keys {
			// OBJECT IDLETIME first: STRLEN resets the idle time.
			idles[i] = pipe.ObjectIdleTime(ctx, k)
			lens[i] = pipe.StrLen(ctx, k)
		}
		if len(keys) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) && !isWrongType(err) {
				return err
			}
		}
		now := time.Now()
		var batch []remote.StoreEntry
		var record goredis.Pipeliner
		for i, k := range keys {
			if err := lens[i].Err(); isWrongType(err) {
				s.warn(fmt.Sprintf("redis: key %s holds no cache entry (it is not a string): left alone", k))
				continue
			} else if err != nil && !errors.Is(err, goredis.Nil) {
				return err
			}
			if lens[i].Val() == 0 {
				continue // removed meanwhile
			}
			key := strings.TrimPrefix(k, s.prefix+"e:")
			lastUsed := now // unknown: an LFU eviction policy hides idle times
			if ms, ok := usedAt(used, i); ok {
				lastUsed = time.UnixMilli(ms)
			} else if idle, err := idles[i].Result(); err == nil {
				lastUsed = now.Add(-idle)
				// An entry written before records of use were kept: its
				// idle time becomes its record, since reading it for a
				// listing resets the idle time (unless the store may not
				// be written).
				if record == nil && !s.readOnly.Load() {
					record = s.c.Pipeline()
				}
				if record != nil {
					record.SetNX(ctx, s.used(key), strconv.FormatInt(lastUsed.UnixMilli(), 10), 0)
				}
			}
			batch = append(batch, remote.StoreEntry{Key: key, Size: lens[i].Val(), LastUsed: lastUsed})
		}
		if record != nil {
			record.Exec(ctx) // a server that refuses costs the next listing its ages only
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// usedAt returns the i-th record of use that MGET returned, if it is one.
func usedAt(used *goredis.SliceCmd, i int) (int64, bool) {
	if used == nil || used.Err() != nil || i >= len(used.Val()) {
		return 0, false
	}
	str, ok := used.Val()[i].(string)
	if !ok {
		return 0, false
	}
	ms, err := strconv.ParseInt(str, 10, 64)
	return min(ms, time.Now().UnixMilli()), err == nil && ms > 0
}

// maxStalledScans bounds the SCAN rounds in a row that find no new key: a
// billion keys of others, scanned a thousand at a time.
const maxStalledScans = 1 << 20

// refused wraps remote.ErrRefused around a reply that refuses the
// connection's credentials or rights.
func refused(err error) error {
	if err == nil {
		return nil
	}
	for _, code := range []string{"WRONGPASS", "NOAUTH", "NOPERM"} {
		if strings.HasPrefix(err.Error(), code) {
			return remote.Refused(err)
		}
	}
	return err
}

func isWrongType(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE") }

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *redisStore) Close() error { return s.c.Close() }

// record is the key of the store's record of name: PREFIX "r:" name,
// beside the e:, l: and u: keys.
func (s *redisStore) record(name string) string { return s.prefix + "r:" + name }

// ReadRecord asks whether the record exists with its value, in one round
// trip: GETRANGE cannot tell a missing key from an empty one.
func (s *redisStore) ReadRecord(ctx context.Context, name string) ([]byte, error) {
	pipe := s.c.Pipeline()
	exists := pipe.Exists(ctx, s.record(name))
	get := pipe.GetRange(ctx, s.record(name), 0, remote.MaxRecord)
	pipe.Exec(ctx)
	if n, err := exists.Result(); err != nil {
		return nil, refused(err)
	} else if n == 0 {
		return nil, fmt.Errorf("no record %s: %w", name, fs.ErrNotExist)
	}
	b, err := get.Bytes()
	if err == nil && len(b) > remote.MaxRecord {
		return nil, fmt.Errorf("redis: record %s is longer than %d bytes", name, remote.MaxRecord)
	}
	return b, refused(err)
}

func (s *redisStore) CreateRecord(ctx context.Context, name string, body []byte) (bool, error) {
	ok, err := s.c.SetNX(ctx, s.record(name), body, 0).Result()
	return ok, refused(err)
}

func (s *redisStore) RemoveRecord(ctx context.Context, name string) error {
	return refused(s.c.Del(ctx, s.record(name)).Err())
}

// leaseScript takes the lease with SET NX PX, or takes over a key in its
// place that is not a valid lease: one without an expiry, or expiring
// further ahead than a lease of this length can (a forged lease), or of
// another type. So anyone who can write to the Redis can delay callers by
// at most one lease time, never hang them.
var leaseScript = goredis.NewScript(`
if redis.call("set", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
	return 1
end
local pttl = redis.call("pttl", KEYS[1])
if redis.call("type", KEYS[1]).ok ~= "string" or pttl < 0 or pttl > tonumber(ARGV[2]) then
	redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2])
	return 1
end
return 0`)

// Lease is SET NX with the lease's expiry; see leaseScript.
func (s *redisStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	n, err := leaseScript.Run(ctx, s.c, []string{s.lease(key)}, token, ttl.Milliseconds()).Int()
	return n == 1, err
}

var renewScript = goredis.NewScript(`
if redis.call("get", KEYS[1]) == ARGV[1] then
	return redis.call("pexpire", KEYS[1], ARGV[2])
end
return 0`)

var releaseScript = goredis.NewScript(`
if redis.call("get", KEYS[1]) == ARGV[1] then
	return redis.call("del", KEYS[1])
end
return 0`)

// Renew extends the lease only if token still holds it, atomically.
func (s *redisStore) Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, s.c, []string{s.lease(key)}, token, ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release deletes the lease only if token holds it, atomically.
func (s *redisStore) Release(ctx context.Context, key, token string) error {
	return releaseScript.Run(ctx, s.c, []string{s.lease(key)}, token).Err()
}
