package remote

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
)

// The signing record. A team whose machines sign their entries (see
// runtime.WithSigningKey) keeps in its store a record naming the ID of
// the key (entry.KeyID: the key itself never leaves a machine), written
// by the first machine with a key that uses the store. With it, each
// machine knows, before it reads or writes an entry, whether it can check
// the store's entries: one with another key, or with none, neither serves
// them nor writes over them, so the team's entries survive a machine
// that is set up wrong.

// signingRecord names the record in the store (see Recorder).
const signingRecord = "signing"

const signingPrefix = "cachegen signing key id "

func signingBody(id string) []byte { return []byte(signingPrefix + id + "\n") }

// parseSigning returns the key ID a signing record names.
func parseSigning(b []byte) (string, bool) {
	s, ok := strings.CutPrefix(string(b), signingPrefix)
	if !ok {
		return "", false
	}
	s, ok = strings.CutSuffix(s, "\n")
	if !ok || len(s) != 16 || strings.Trim(s, "0123456789abcdef") != "" {
		return "", false
	}
	return s, true
}

// Signing is how a tier's entries are signed, as a machine holding a
// given signing key, or none, finds it.
type Signing struct {
	// Signed reports that the tier's entries are signed: its signing
	// record says so, or, in a tier without one, an entry found there was
	// signed (see NoteSigned).
	Signed bool
	// KeyID is the ID of the key the signing record names (see
	// entry.KeyID), or "" where there is no record.
	KeyID string
	// Mine reports that the machine's key signs the tier's entries: the
	// record names it, or there is no record, and no signed entry among
	// those checked fails the key.
	Mine bool
}

// Refusal says why a machine holding signKey (or none) may neither serve
// nor write the entries of a tier signed as s says, or returns "" when it
// may use them.
func (s Signing) Refusal(signKey []byte) string {
	const env = "CACHEGEN_SIGNING_KEY"
	switch {
	case signKey == nil && s.Signed:
		id := ""
		if s.KeyID != "" {
			id = " (key id " + s.KeyID + ")"
		}
		return fmt.Sprintf("the remote's entries are signed%s, and this machine has no signing key: it can check none of them, so it neither serves nor writes any, and keeps its results in its local cache; set %s to the team's key", id, env)
	case signKey != nil && !s.Mine:
		ids := " (this machine's key id " + entry.KeyID(signKey) + ")"
		if s.KeyID != "" {
			ids = " (the remote's key id " + s.KeyID + ", this machine's " + entry.KeyID(signKey) + ")"
		}
		return fmt.Sprintf("the remote's entries are signed with another key than this machine's %s%s: it neither serves nor replaces them, and keeps its results in its local cache; set %s to the team's key", env, ids, env)
	}
	return ""
}

// Use says whether a machine holding signKey (or none) may serve the
// tier's entries, and write entries and leases there, as they are signed
// (see Signing): one whose key cannot check them (another key, or none,
// where the team signs) does neither, and keeps its results in its local
// tier, so that the team's entries survive it; the tier logs why, as a
// warning the first time. A tier that cannot be asked is not used, and
// its error is returned.
func (r *Tier) Use(ctx context.Context, signKey []byte) (read, write bool, err error) {
	s, err := r.Signing(ctx, signKey)
	if err != nil {
		return false, false, err
	}
	if msg := s.Refusal(signKey); msg != "" {
		level := slog.LevelDebug
		if r.refusalSaid.CompareAndSwap(false, true) {
			level = slog.LevelWarn
		}
		r.log.Load().Log(ctx, level, msg, "remote", r.name)
		return false, false, nil
	}
	return true, !r.opts.ReadOnly, nil
}

// MayReplace reports whether a machine without a signing key may replace
// or remove the entry of key: not when it is signed (the team signs, in a
// store without a signing record), which the tier then notes, and says
// (see Use).
func (r *Tier) MayReplace(ctx context.Context, key string) (bool, error) {
	signed, err := r.SignedEntry(ctx, key)
	if err != nil {
		return false, err
	}
	if signed {
		r.NoteSigned()
		r.Use(ctx, nil) // says so
	}
	return !signed, nil
}

// signingMemo is what a tier found of its signing, for one key, and when.
type signingMemo struct {
	s        Signing
	noRecord bool // the store has no record: Signed is as NoteSigned says
	at       time.Time
}

// signingTTL is how long a process trusts what it read of a store's
// signing record: a team that changes its key (clearing the store, then
// claiming it with the new key) stops a process still running with the
// old one within it.
const signingTTL = time.Minute

// Signing returns how the tier's entries are signed, as a machine holding
// signKey (nil: none) finds it: the tier's signing record, read again
// after a minute. A machine with a key that finds no record claims the
// tier for its key, by creating the record (unless the tier is read-only,
// or the store refuses), after checking its entries: it reads the headers
// of the smallest ones listed, and checks the first signed ones whole, so
// that a machine whose key does not verify signed entries already there
// (a team that signed before records were kept) claims nothing, and its
// key is not the tier's. A store that keeps no records (see Recorder) is
// checked that way each time. An error, from a store that fails, is not
// remembered.
func (r *Tier) Signing(ctx context.Context, signKey []byte) (Signing, error) {
	id := entry.KeyID(signKey)
	if m, ok := r.signing.Load(id); ok && r.now().Sub(m.(signingMemo).at) < signingTTL {
		return r.seen(m.(signingMemo)), nil
	}
	var m signingMemo
	err := r.do(ctx, "signing record", func(ctx context.Context) (err error) {
		m, err = r.readSigning(ctx, signKey, id, true)
		return err
	})
	if err != nil {
		return Signing{}, err
	}
	m.at = r.now()
	r.signing.Store(id, m)
	return r.seen(m), nil
}

func (r *Tier) seen(m signingMemo) Signing {
	if m.noRecord && !m.s.Mine {
		m.s.Signed = m.s.Signed || r.signedSeen.Load()
	}
	return m.s
}

// Recheck makes the next Signing of signKey read the store's record again:
// a machine whose key the record named found an entry its key does not
// verify, which a new key, claiming the store since, may have signed.
func (r *Tier) Recheck(signKey []byte) { r.signing.Delete(entry.KeyID(signKey)) }

// NoteSigned tells the tier that a machine without a signing key found a
// signed entry in it: in a store without a signing record, its entries
// are signed after all, and Signing says so from then on.
func (r *Tier) NoteSigned() { r.signedSeen.Store(true) }

// errBadRecord is the error of a signing record that is not one.
var errBadRecord = errors.New("the store's signing record is not one: remove it with cachectl -remote URL clear -yes, or in the store")

func (r *Tier) readSigning(ctx context.Context, signKey []byte, id string, mayClaim bool) (signingMemo, error) {
	rec, recorder := r.store.(Recorder)
	if recorder {
		b, err := rec.ReadRecord(ctx, signingRecord)
		if err == nil {
			rid, ok := parseSigning(b)
			if !ok {
				return signingMemo{}, errBadRecord
			}
			return signingMemo{s: Signing{Signed: true, KeyID: rid, Mine: rid == id && id != ""}}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return signingMemo{}, err
		}
	}
	if signKey == nil {
		return signingMemo{noRecord: true}, nil
	}
	verified, foreign, err := r.sample(ctx, signKey)
	if err != nil {
		return signingMemo{}, err
	}
	unclaimed := signingMemo{s: Signing{Signed: true, Mine: true}, noRecord: true}
	switch {
	case foreign && !verified:
		return signingMemo{s: Signing{Signed: true}, noRecord: true}, nil
	case !recorder || r.opts.ReadOnly:
		return unclaimed, nil
	case !mayClaim:
		// The record was there a moment ago, and is gone: a store that
		// loses what it is given, or a clear under way.
		return signingMemo{}, errors.New("the store's signing record vanished as it was read")
	}
	created, err := rec.CreateRecord(ctx, signingRecord, signingBody(id))
	if errors.Is(err, ErrRefused) {
		// Credentials that may read and not write: use the store as it
		// is, and let a machine that may write claim it.
		return unclaimed, nil
	}
	if err != nil {
		return signingMemo{}, err
	}
	if !created {
		// Another machine claimed it meanwhile: its record decides.
		return r.readSigning(ctx, signKey, id, false)
	}
	return signingMemo{s: Signing{Signed: true, KeyID: id, Mine: true}}, nil
}

// Sampling: how many entries a machine claiming a tier lists at most, how
// many of their headers it reads, and how many signed ones it checks
// whole.
const (
	sampleListed  = 256
	sampleHeaders = 32
	sampleSigned  = 3
)

// sample checks the store's entries with signKey, and reports whether the
// key verified a signed one, and whether a signed one failed it. It reads
// the headers of the smallest entries listed, and checks the first signed
// ones whole, however large, reading them in chunks (see CheckSigned).
func (r *Tier) sample(ctx context.Context, signKey []byte) (verified, foreign bool, err error) {
	var listed []StoreEntry
	err = r.store.List(ctx, func(e StoreEntry) error {
		if entry.ValidKey(e.Key) {
			listed = append(listed, e)
		}
		if len(listed) >= sampleListed {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return false, false, err
	}
	slices.SortFunc(listed, func(a, b StoreEntry) int { return cmp.Compare(a.Size, b.Size) })
	signed := 0
	for i, e := range listed {
		if i >= sampleHeaders || signed >= sampleSigned || verified {
			break
		}
		head, err := getRange(ctx, r.store, e.Key, 0, entry.HeaderSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			return false, false, err
		}
		h, err := entry.ParseHeader(head, e.Size)
		if err != nil || !h.Signed {
			continue // no entry, or an unsigned one: it says nothing of the key
		}
		signed++
		switch err := r.CheckSigned(ctx, e.Key, signKey); {
		case err == nil:
			verified = true
		case errors.Is(err, entry.ErrBadSignature):
			foreign = true
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, entry.ErrCorrupt):
		default:
			return false, false, err
		}
	}
	return verified, foreign, nil
}

// SignedEntry reports whether the store holds a signed entry of key: for
// a machine without a key, before it replaces or removes an entry it did
// not read, in a store without a signing record.
func (r *Tier) SignedEntry(ctx context.Context, key string) (bool, error) {
	var signed bool
	err := r.do(ctx, "get header", func(ctx context.Context) error {
		head, err := getRange(ctx, r.store, key, 0, entry.HeaderSize)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		h, err := entry.ParseHeader(head, -1)
		signed = err == nil && h.Signed
		return nil
	})
	return signed, err
}

// CheckSigned checks the MAC of the entry of key with signKey, reading it
// in chunks: a store's entry of any size costs a few MiB of memory. It
// returns an error wrapping entry.ErrBadSignature for an entry the key
// does not verify (unsigned, signed with another key, or changed).
func (r *Tier) CheckSigned(ctx context.Context, key string, signKey []byte) error {
	head, err := getRange(ctx, r.store, key, 0, entry.HeaderSize)
	if err != nil {
		return err
	}
	h, err := entry.ParseHeader(head, -1)
	if err != nil {
		return err
	}
	if h.Size() > r.opts.MaxEntry {
		return fmt.Errorf("%w: the entry is %d bytes, more than the %d the remote tier reads (Options.MaxEntry)", fs.ErrNotExist, h.Size(), r.opts.MaxEntry)
	}
	return entry.CheckMACReading(signKey, h, h.Size(), func(p []byte, off int64) error {
		b, err := getRange(ctx, r.store, key, off, int64(len(p)))
		if err == nil && copy(p, b) < len(p) {
			err = fmt.Errorf("%w: entry shorter than its header says", entry.ErrCorrupt)
		}
		return err
	})
}

// forgetSigning forgets what the tier found of its signing: after its
// record is removed.
func (r *Tier) forgetSigning() {
	r.signing.Clear()
	r.signedSeen.Store(false)
}

// RemoveSigning removes the tier's signing record, so that the next
// machine with a key to use the tier claims it: for a team that changes
// its key, after clearing the entries signed with the old one. A value in
// the record's place that is no signing record is left alone: it is not
// the tier's.
func (r *Tier) RemoveSigning(ctx context.Context) error {
	if r.opts.ReadOnly {
		return errReadOnly
	}
	defer r.forgetSigning()
	rec, ok := r.store.(Recorder)
	if !ok {
		return nil
	}
	b, err := rec.ReadRecord(ctx, signingRecord)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := parseSigning(b); !ok {
		return nil
	}
	return rec.RemoveRecord(ctx, signingRecord)
}

var errReadOnly = errors.New("the remote tier is read-only")
