package runtime

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cachegen/cachegen/internal/keying"
)

// Reserved parameter names that Call.Key adds to the params it hashes.
const (
	fnParam      = keying.FnParam
	versionParam = keying.VersionParam
)

// Call describes one call of a cached function: what Do keys, stores and
// looks up. Generated wrappers fill it in; it can also be built by hand.
type Call struct {
	// Func is the function's qualified name: "example.com/sim.RunMonteCarlo",
	// or "example.com/sim.Model.Fit" for a method.
	Func string
	// Version is the N of the function's //cache:version=N directive.
	Version int
	// Params holds the function's arguments by parameter name.
	Params map[string]any
	// TTL, when positive, is how long an entry stays fresh: an older entry
	// is recomputed and replaced.
	TTL time.Duration
	// Code, when set, is the fingerprint of the code that computes the
	// call, as cachegen recorded it (16 hex digits). Each entry stores the
	// Code it was computed by, and Do serves only entries computed by Code
	// or by one of Accepted: a result computed by other code under the
	// same version (a forgotten bump, a version number reused, a teammate
	// on another branch) is a miss. Code is not part of the key.
	Code string
	// Accepted lists earlier fingerprints whose results were declared the
	// same (cachegen -accept).
	Accepted []string
	// Parts, when set, are the parts of Code as cachegen recorded them
	// ("name:digest,…"), stored in each entry so that a miss can name the
	// declarations that changed (see maintain.Tier.Why). Never used for checks.
	Parts string
	// Codec, when set, stores the call's results as values of another
	// type (see StoreAs). It is not part of the key.
	Codec Codec
	// Map lets a hit on a large result (an entry of 1 MiB or more, in a
	// private cache directory, on Linux) map the entry file instead of
	// reading it: its numeric slices are then the file's pages, read as
	// they are touched (see "Mapped results" in the package doc). The
	// //cache:version=N mmap directive sets it. It is not part of the key.
	Map bool
}

// Key returns the key of the call: the first 16 hex digits of the SHA-256
// of the canonical text of its Params together with "__fn__": Func and
// "__version__": Version, as the reference decorator computes it. Params
// may not use those two names.
func (c Call) Key() (string, error) {
	id, err := c.identity(nil)
	if err != nil {
		return "", err
	}
	return id.key, nil
}

// identity is everything Do needs to know about a call's key.
type identity struct {
	key string   // first 16 hex digits of sum: the entry's name
	sum [32]byte // SHA-256 of the spelling's text: stored in and checked against the entry
	keying.Spelling
}

// changedParams returns, in name order, the parameters of c that can
// change (whose arguments hold pointers, slices, maps or interfaces) and
// no longer spell as they did when id was keyed.
func (c Call) changedParams(d *keying.Digester, id identity) []string {
	return keying.Changed(c.Params, d, id.Spelling)
}

// identity keys c, with d keying its file inputs.
func (c Call) identity(d *keying.Digester) (identity, error) {
	for _, reserved := range []string{fnParam, versionParam} {
		if _, ok := c.Params[reserved]; ok {
			return identity{}, fmt.Errorf("%s: parameter name %q is reserved for the cache key: rename the parameter", c.Func, reserved)
		}
	}
	all := make(map[string]any, len(c.Params)+2)
	for k, v := range c.Params {
		all[k] = v
	}
	all[fnParam] = c.Func
	all[versionParam] = c.Version
	sp, err := keying.Spell(all, d)
	if err != nil {
		if c.Func != "" {
			err = fmt.Errorf("%s: %w", c.Func, err)
		}
		return identity{}, err
	}
	sum := sha256.Sum256(sp.Text)
	return identity{key: hex.EncodeToString(sum[:8]), sum: sum, Spelling: sp}, nil
}
