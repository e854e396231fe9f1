package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

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

// signingMemo is what a tier found of its signing, for one key.
type signingMemo struct {
	s        Signing
	noRecord bool // the store has no record: Signed is as NoteSigned says
}

// Signing returns how the tier's entries are signed, as a machine holding
// signKey (nil: none) finds it: the tier's signing record, read once per
// process and key. A machine with a key that finds no record claims the
// tier for its key, by creating the record (unless the tier is
// read-only), after checking a few of its entries: one whose key does not
// verify signed entries already there (a team that signed before records
// were kept) claims nothing, and its key is not the tier's. A store that
// keeps no records (see Recorder) is checked that way in each process. An
// error, from a store that fails, is not remembered.
func (r *Tier) Signing(ctx context.Context, signKey []byte) (Signing, error) {
	id := entry.KeyID(signKey)
	if m, ok := r.signing.Load(id); ok {
		return r.seen(m.(signingMemo)), nil
	}
	var m signingMemo
	err := r.do(ctx, "signing record", func(ctx context.Context) (err error) {
		m, err = r.readSigning(ctx, signKey, id)
		return err
	})
	if err != nil {
		return Signing{}, err
	}
	r.signing.Store(id, m)
	return r.seen(m), nil
}

func (r *Tier) seen(m signingMemo) Signing {
	if m.noRecord && !m.s.Mine {
		m.s.Signed = m.s.Signed || r.signedSeen.Load()
	}
	return m.s
}

// NoteSigned tells the tier that a machine without a signing key found a
// signed entry in it: in a store without a signing record, its entries
// are signed after all, and Signing says so from then on.
func (r *Tier) NoteSigned() { r.signedSeen.Store(true) }

func (r *Tier) readSigning(ctx context.Context, signKey []byte, id string) (signingMemo, error) {
	rec, recorder := r.store.(Recorder)
	if recorder {
		b, err := rec.ReadRecord(ctx, signingRecord)
		if err == nil {
			rid, ok := parseSigning(b)
			if !ok {
				return signingMemo{}, fmt.Errorf("the store's signing record is not one (%d bytes): remove it with cachectl -remote URL clear, or in the store", len(b))
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
	if foreign && !verified {
		return signingMemo{s: Signing{Signed: true}, noRecord: true}, nil
	}
	if !recorder || r.opts.ReadOnly {
		return signingMemo{s: Signing{Signed: true, Mine: true}, noRecord: true}, nil
	}
	created, err := rec.CreateRecord(ctx, signingRecord, signingBody(id))
	if err != nil {
		return signingMemo{}, err
	}
	if !created {
		// Another machine claimed it meanwhile: its record decides.
		return r.readSigning(ctx, signKey, id)
	}
	return signingMemo{s: Signing{Signed: true, KeyID: id, Mine: true}}, nil
}

// Sampling: how many entries a machine claiming a tier checks, of how many
// listed, and the largest it reads.
const (
	sampleEntries = 4
	sampleListed  = 64
	sampleMax     = 1 << 20
)

// sample checks a few of the store's entries with signKey, and reports
// whether the key verified a signed one, and whether a signed one failed
// it.
func (r *Tier) sample(ctx context.Context, signKey []byte) (verified, foreign bool, err error) {
	var picked []string
	listed := 0
	err = r.store.List(ctx, func(e StoreEntry) error {
		if !entry.ValidKey(e.Key) {
			return nil
		}
		if e.Size <= sampleMax {
			picked = append(picked, e.Key)
		}
		if listed++; listed >= sampleListed || len(picked) >= sampleEntries {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return false, false, err
	}
	for _, key := range picked {
		data, err := getEntry(ctx, r.store, key, signKey, sampleMax, false)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, entry.ErrBadSignature) {
				continue // removed meanwhile; or no entry
			}
			return false, false, err
		}
		h, _, _, err := entry.Parse(data, nil)
		if err != nil || !h.Signed {
			continue
		}
		if entry.CheckMAC(signKey, h.Sum, h, data) == nil {
			verified = true
		} else {
			foreign = true
		}
	}
	return verified, foreign, nil
}

// forgetSigning forgets what the tier found of its signing: after its
// record is removed.
func (r *Tier) forgetSigning() {
	r.signing.Clear()
	r.signedSeen.Store(false)
}

// RemoveSigning removes the tier's signing record, so that the next
// machine with a key to use the tier claims it: for a team that changes
// its key, after clearing the entries signed with the old one.
func (r *Tier) RemoveSigning(ctx context.Context) error {
	if r.opts.ReadOnly {
		return errReadOnly
	}
	defer r.forgetSigning()
	if rec, ok := r.store.(Recorder); ok {
		return rec.RemoveRecord(ctx, signingRecord)
	}
	return nil
}

var errReadOnly = errors.New("the remote tier is read-only")
