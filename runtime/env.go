package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/internal/units"
	"github.com/cachegen/cachegen/remote"
)

// Environment variables read by Default (see its doc).
const (
	envDir        = "CACHEGEN_DIR"
	envMode       = "CACHEGEN_MODE"
	envVerbose    = "CACHEGEN_VERBOSE"
	envMaxSize    = "CACHEGEN_MAX_SIZE"
	envRemote     = "CACHEGEN_REMOTE"
	envRemoteMode = "CACHEGEN_REMOTE_MODE"
	envSigningKey = "CACHEGEN_SIGNING_KEY"
	envSharedDir  = "CACHEGEN_SHARED_DIR"
)

var defaultCache struct {
	mu sync.Mutex
	c  atomic.Pointer[Cache]
}

// Default returns the cache that generated wrappers use. On first use it is
// opened from the environment: CACHEGEN_DIR (default: the user cache
// directory's cachegen folder), CACHEGEN_MODE (on, off, refresh, readonly,
// verify; default on), CACHEGEN_VERBOSE=1, CACHEGEN_MAX_SIZE (such as
// 10GiB), CACHEGEN_REMOTE (a URL: see remote.Open), CACHEGEN_REMOTE_MODE
// (readwrite or readonly), CACHEGEN_SIGNING_KEY and CACHEGEN_SHARED_DIR=1
// (accept a directory others own or can write to). Values are matched
// without regard to case. A bad value, or a directory that cannot be made,
// is logged with what the variable allows, and the default cache then
// computes every call; a remote that cannot be opened is logged and left
// out. A misconfigured cache costs time, never a crash or a wrong result.
// Default is safe for concurrent use.
func Default() *Cache {
	if c := defaultCache.c.Load(); c != nil {
		return c
	}
	defaultCache.mu.Lock()
	defer defaultCache.mu.Unlock()
	if c := defaultCache.c.Load(); c != nil {
		return c
	}
	c := fromEnv(slog.New(logline.New(os.Stderr)))
	defaultCache.c.Store(c)
	return c
}

// SetDefault replaces the cache that Default returns, and returns the one
// it replaced (nil if Default had not opened one yet). SetDefault(nil)
// makes the next Default open a cache from the environment again. Tests
// use cachetest.Use, which restores the previous cache when they end.
func SetDefault(c *Cache) (previous *Cache) {
	defaultCache.mu.Lock()
	defer defaultCache.mu.Unlock()
	return defaultCache.c.Swap(c)
}

// parseBool parses a boolean variable: 1, 0, true, false, in any case.
func parseBool(s string) (bool, error) {
	return strconv.ParseBool(strings.ToLower(strings.TrimSpace(s)))
}

// DefaultDir returns the directory Default uses: CACHEGEN_DIR, or the
// cachegen folder of the user cache directory.
func DefaultDir() (string, error) {
	if d := os.Getenv(envDir); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%s is not set and there is no user cache directory (%v): set %s to a directory", envDir, err, envDir)
	}
	return filepath.Join(base, "cachegen"), nil
}

// fromEnv opens a cache configured by the environment, falling back to
// ModeOff with a logged error when the configuration is unusable.
func fromEnv(logger *slog.Logger) *Cache {
	off := newCache("", config{mode: ModeOff, logger: logger})
	var opts []Option
	opts = append(opts, WithLogger(logger))
	if s := os.Getenv(envMode); s != "" {
		m, err := parseMode(strings.ToLower(strings.TrimSpace(s)))
		if err != nil {
			logger.Error(fmt.Sprintf("%s=%q is not a mode: set it to on, off, refresh, readonly or verify; computing every call without the cache", envMode, s))
			return off
		}
		opts = append(opts, WithMode(m))
	}
	if s := os.Getenv(envVerbose); s != "" {
		v, err := parseBool(s)
		if err != nil {
			logger.Error(fmt.Sprintf("%s=%q is not a boolean: set it to 1 or 0", envVerbose, s))
		}
		opts = append(opts, WithVerbose(v))
	}
	if s := os.Getenv(envSharedDir); s != "" {
		shared, err := parseBool(s)
		if err != nil {
			logger.Error(fmt.Sprintf("%s=%q is not a boolean: set it to 1 or 0; computing every call without the cache", envSharedDir, s))
			return off
		}
		if shared {
			opts = append(opts, WithSharedDir())
		}
	}
	if s := os.Getenv(envMaxSize); s != "" {
		n, err := units.ParseSize(s)
		if err != nil {
			logger.Error(fmt.Sprintf("%s=%q is not a size: set it to a size such as 500MB or 10GiB; computing every call without the cache", envMaxSize, s))
			return off
		}
		opts = append(opts, WithMaxBytes(n))
	}
	if s, ok := os.LookupEnv(envSigningKey); ok {
		if len(s) < minSigningKey {
			logger.Error(fmt.Sprintf("%s is %d bytes: set it to at least %d random bytes (such as the output of openssl rand -hex 32); computing every call without the cache", envSigningKey, len(s), minSigningKey))
			return off
		}
		opts = append(opts, WithSigningKey([]byte(s)))
	}
	if s := os.Getenv(envRemote); s != "" {
		var o remote.Options
		switch m := os.Getenv(envRemoteMode); strings.ToLower(strings.TrimSpace(m)) {
		case "", "readwrite":
		case "readonly":
			o.ReadOnly = true
		default:
			logger.Error(fmt.Sprintf("%s=%q is not a remote mode: set it to readwrite or readonly; using the local cache only", envRemoteMode, m))
			s = ""
		}
		if s != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			r, err := remote.Open(ctx, s, o)
			cancel()
			if err != nil {
				logger.Error(fmt.Sprintf("%v (from %s); using the local cache only", err, envRemote))
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
	if testDir != "" && os.Getenv(envDir) == "" {
		logger.Warn("a test is using the default cache, in the user's cache directory: give the test a cache of its own with cachetest.Use(t) or cachetest.Context, or set "+envDir, "dir", dir)
	}
	c, err := Open(dir, opts...)
	if err != nil {
		msg := err.Error()
		if !errors.Is(err, disk.ErrNotPrivate) {
			msg += ": set " + envDir + " to a directory you can write"
		}
		logger.Error(fmt.Sprintf("%s (from %s); computing every call without the cache", msg, envDir))
		return off
	}
	return c
}
