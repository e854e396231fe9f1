package remote

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"
)

// ErrNoStore is returned by Open for a URL whose scheme no linked
// store opens.
var ErrNoStore = errors.New("no store is linked into this program")

// ErrRefused is wrapped by the errors of a store that answered and refused
// the request's credentials (a wrong password, a user without the right):
// see Refused.
var ErrRefused = errors.New("the store refused the credentials")

// Refused returns err, the reply of a store that refused the credentials,
// marked as wrapping ErrRefused; its text is err's.
func Refused(err error) error { return refusedError{err} }

type refusedError struct{ err error }

func (e refusedError) Error() string   { return e.err.Error() }
func (e refusedError) Unwrap() []error { return []error{ErrRefused, e.err} }

// A Store is a place that keeps entries: a flat set of byte strings, each
// named by its key. remote/file keeps one in a directory many machines
// mount (file://); remote/redis, remote/s3 and remote/blob provide Redis
// and object storage (S3, GCS, memory).
// A Store is never trusted: every entry read from one is checked as an
// entry read from disk is (lengths, checksums, full key, result type, and
// with a signing key its MAC), so a store that loses, truncates or alters
// bytes causes misses, never wrong results. Implementations must be safe
// for concurrent use; the storetest package checks one.
type Store interface {
	// Get returns the entry of key, or an error wrapping fs.ErrNotExist
	// when there is none. A body cut short is an error, not an entry.
	Get(ctx context.Context, key string) ([]byte, error)
	// GetRange returns at most n bytes of the entry of key from offset off.
	GetRange(ctx context.Context, key string, off, n int64) ([]byte, error)
	// Put stores data as the entry of key, replacing any: a concurrent Get
	// sees the old entry whole, the new one whole, or none.
	Put(ctx context.Context, key string, data []byte) error
	// Delete removes the entry of key, or returns an error wrapping
	// fs.ErrNotExist when there is none.
	Delete(ctx context.Context, key string) error
	// List calls fn for every entry, in no particular order; when fn
	// returns an error, List stops and returns it.
	List(ctx context.Context, fn func(StoreEntry) error) error
	// Close releases the store's connections.
	Close() error
}

// StoreEntry describes one entry of a Store.
type StoreEntry struct {
	Key      string
	Size     int64
	LastUsed time.Time // when it was last written or, where the store tracks it, read
}

// A Creator is a Store that can store an entry only where there is none,
// atomically: of callers racing to create one, one does. A tier copies
// entries that missed their first store (see Tier.Create) that way, so
// as never to replace one stored meanwhile.
type Creator interface {
	// Create stores data as the entry of key unless there is one, and
	// reports whether it did.
	Create(ctx context.Context, key string, data []byte) (bool, error)
}

// A Batcher is a Store that reads the starts of many entries in one round
// trip (Redis, by pipelining). A tier reads the entries a sweep looks up
// that way (see Tier.GetMany); from another store, a few at a time,
// concurrently.
type Batcher interface {
	// GetRanges returns, for each of keys, at most n bytes from the start
	// of its entry, or that key's error (wrapping fs.ErrNotExist when there
	// is none); use records the reads as uses, as UseKeeper's UseRange
	// does. An error of the whole request fails every key.
	GetRanges(ctx context.Context, keys []string, n int64, use bool) ([][]byte, []error, error)
}

// A UseKeeper is a Store that keeps when each entry was last used as data
// of its own, where reading an entry would not tell it, or would tell it
// for a listing's reads too (Redis's idle times). A tier reads the entries
// its callers use with UseRange, and reads for maintenance with GetRange,
// which leaves the record as it was; List reports the record as LastUsed.
type UseKeeper interface {
	// UseRange is GetRange, recording that the entry was used now.
	UseRange(ctx context.Context, key string, off, n int64) ([]byte, error)
}

// A Recorder is a Store that keeps, beside its entries, small records
// about the store itself: the signing record, which says what key a
// team's entries are signed with (see Tier.Signing). A record's name is
// a word of lowercase letters; its body is at most MaxRecord bytes.
type Recorder interface {
	// ReadRecord returns the record of name, or an error wrapping
	// fs.ErrNotExist when there is none. A body over MaxRecord bytes is an
	// error.
	ReadRecord(ctx context.Context, name string) ([]byte, error)
	// CreateRecord writes the record of name unless one exists, and
	// reports whether it wrote it: of callers racing to create one, one
	// does.
	CreateRecord(ctx context.Context, name string, body []byte) (bool, error)
	// RemoveRecord removes the record of name; it does nothing when there
	// is none.
	RemoveRecord(ctx context.Context, name string) error
}

// MaxRecord is the largest body of a store's record.
const MaxRecord = 4 << 10

// A ReadOnlyStore is a Store that writes on its own (Redis records the
// ages of the entries it lists), and that New tells when its tier is
// read-only: it then writes nothing.
type ReadOnlyStore interface {
	SetReadOnly()
}

// A Cleaner is a Store that keeps data beside its entries (Redis, their
// records of use), and can remove what no longer has an entry; a tier's
// Clear calls it.
type Cleaner interface {
	Clean(ctx context.Context) error
}

// A Leaser is a Store that can lease a key to one holder at a time, so
// that callers on many machines compute a missing entry once. Leases
// expire unless renewed, so a holder that dies blocks others for at most
// one lease time.
type Leaser interface {
	// Lease takes the lease on key for token until ttl from now, and
	// reports false when another token holds an unexpired lease.
	Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	// Renew extends token's lease on key to ttl from now, and reports
	// false when token no longer holds it.
	Renew(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	// Release ends token's lease on key; it does nothing when token does
	// not hold it.
	Release(ctx context.Context, key, token string) error
}

// A Opener opens the Store that a URL names.
type Opener func(ctx context.Context, u *url.URL) (Store, error)

var openers struct {
	sync.Mutex
	byScheme map[string]Opener
}

// Register makes Open open URLs of scheme with open. The scheme
// "" registers the opener of every scheme no other opener claims. Each
// store's package registers its schemes when imported (remote/all imports
// every one); remote/file registers file://, and the runtime imports it.
func Register(scheme string, open Opener) {
	openers.Lock()
	defer openers.Unlock()
	if openers.byScheme == nil {
		openers.byScheme = map[string]Opener{}
	}
	openers.byScheme[scheme] = open
}
