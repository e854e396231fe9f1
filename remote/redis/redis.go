// Package redis keeps a cachegen cache's shared tier in Redis. Importing it
// registers the redis:// and rediss:// schemes with the runtime:
//
//	import _ "github.com/cachegen/cachegen/remote/redis"
//
// URLs: redis://[user:password@]host:6379/0[?prefix=cachegen:] (rediss://
// for TLS). Entries are strings under PREFIX "e:" KEY, leases under
// PREFIX "l:" KEY with the lease's expiry as the key's.
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

// A redisStore keeps each entry as a string under PREFIX "e:" KEY, and
// each lease under PREFIX "l:" KEY, with the lease's expiry as the key's.
type redisStore struct {
	c      goredis.UniversalClient
	prefix string
	warn   func(string)
	limit  *atomic.Int64 // what one reply may claim, checked by the connections of stores opened from URLs
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

func notFound(key string) error {
	return fmt.Errorf("no entry %s: %w", key, fs.ErrNotExist)
}

func (s *redisStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.Get(ctx, s.entry(key)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound(key)
	}
	return b, err
}

func (s *redisStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	b, err := s.c.GetRange(ctx, s.entry(key), off, off+n-1).Bytes()
	if err == nil && len(b) == 0 && off == 0 {
		return nil, notFound(key) // GETRANGE cannot tell a missing key from an empty one
	}
	return b, err
}

func (s *redisStore) Put(ctx context.Context, key string, data []byte) error {
	return s.c.Set(ctx, s.entry(key), data, 0).Err()
}

func (s *redisStore) Delete(ctx context.Context, key string) error {
	n, err := s.c.Del(ctx, s.entry(key)).Result()
	if err == nil && n == 0 {
		return notFound(key)
	}
	return err
}

// List scans the entries' keys, and asks for their sizes and idle times in
// one round trip per batch: Redis tracks reads, so LastUsed is when the
// entry was last read or written. Keys under the prefix that are not named
// like entries are not this cache's, and are left out; one named like an
// entry but holding another type than a string is left out with a
// warning.
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
			return err
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
		for i, k := range keys {
			lens[i] = pipe.StrLen(ctx, k)
			idles[i] = pipe.ObjectIdleTime(ctx, k)
		}
		if len(keys) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) && !isWrongType(err) {
				return err
			}
		}
		now := time.Now()
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
			lastUsed := now // unknown: an LFU eviction policy hides idle times
			if idle, err := idles[i].Result(); err == nil {
				lastUsed = now.Add(-idle)
			}
			e := remote.StoreEntry{Key: strings.TrimPrefix(k, s.prefix+"e:"), Size: lens[i].Val(), LastUsed: lastUsed}
			if err := fn(e); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// maxStalledScans bounds the SCAN rounds in a row that find no new key: a
// billion keys of others, scanned a thousand at a time.
const maxStalledScans = 1 << 20

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
