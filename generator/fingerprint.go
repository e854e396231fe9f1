package generator

import (
	"slices"
	"strings"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/cachegen/cachegen/internal/reach"
)

// maxAccepted is how many earlier fingerprints a record keeps as accepted,
// the latest first: entries of older code become misses, never wrong.
const maxAccepted = 8

// checkFingerprints computes each function's fingerprint and refuses one
// that changed since its version was generated, unless accepted. It sets
// each function's record: the sums whose entries stay valid carry over
// while the version does not change.
func checkFingerprints(prog *reach.Program, store reach.PartStore, pkgPath string, funcs []*cachedFunc, old map[string]fingerprint.Record, accept []string, acceptCommand func(name string) string) []error {
	var errs []error
	for _, f := range funcs {
		name := f.displayName()
		fp, full, err := prog.Of(pkgPath, name, f.Uses...)
		if err != nil {
			errs = append(errs, errorf(f.Pos, "%s: cannot read the code it runs: %v", name, err))
			continue
		}
		f.Record = fingerprint.Record{Name: name, Version: f.Directive.Version, Sum: fp.Sum, Uses: f.Uses, Parts: fp.Parts}
		rec, ok := old[name]
		valid := append([]string{rec.Sum}, rec.Accepted...)
		switch {
		case !ok || rec.Version != f.Directive.Version:
			// A new version: no earlier entry is valid.
		case fp.Sum != rec.Sum && !slices.Contains(valid, fp.Sum) && !slices.Contains(accept, name):
			errs = append(errs, errorf(f.Directive.Pos, "%s changed since version %d was generated (changed: %s); bump to //cache:version=%d, or, only if its results stay the same, record the change: %s",
				name, rec.Version, fingerprint.ChangedList(changedNames(store, rec.Parts, fp.Parts, full)), rec.Version+1, acceptCommand(name)))
			continue
		default:
			for _, s := range valid {
				if s != fp.Sum && !slices.Contains(f.Record.Accepted, s) && len(f.Record.Accepted) < maxAccepted {
					f.Record.Accepted = append(f.Record.Accepted, s)
				}
			}
		}
		store.Save(full)
	}
	return errs
}

// changedNames names what differs between two records' parts: each
// declaration of the function's own module by its name, and, inside a
// part that stands for another module or for the standard library, the
// declarations that changed where the store still has the earlier part's
// ("gonum.org/v1/gonum/mat.Dense.Mul"), else the part
// ("gonum.org/v1/gonum/...", "std"). What is reached only before or only
// after (a module, a declaration in one) is left out when something else
// changed: the change that reached it, or stopped reaching it, is named.
func changedNames(store reach.PartStore, old, new []string, full map[string][]string) []string {
	oldBy, newBy := partsByName(old), partsByName(new)
	var named, moved []string // what changed; what is reached only before or only after
	for _, n := range fingerprint.Changed(old, new) {
		switch {
		case !fingerprint.IsGroup(n):
			named = append(named, n)
		case oldBy[n] == "" || newBy[n] == "":
			moved = append(moved, n)
		default:
			before, after := store.Load(oldBy[n]), full[newBy[n]]
			if before == nil || after == nil {
				named = append(named, n)
				continue
			}
			b, a := partsByName(before), partsByName(after)
			for _, d := range fingerprint.Changed(before, after) {
				if b[d] != "" && a[d] != "" {
					named = append(named, d)
				} else {
					moved = append(moved, d)
				}
			}
		}
	}
	if len(named) == 0 {
		named = moved
	}
	slices.Sort(named)
	return slices.Compact(named)
}

// partsByName maps each part's name to the part.
func partsByName(parts []string) map[string]string {
	m := map[string]string{}
	for _, p := range parts {
		n, _, _ := strings.Cut(p, ":")
		m[n] = p
	}
	return m
}
