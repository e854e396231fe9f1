package generator

import (
	"slices"
	"strings"

	"github.com/cachegen/cachegen/internal/fingerprint"
)

// maxAccepted is how many earlier fingerprints a record keeps as accepted,
// the latest first: entries of older code become misses, never wrong.
const maxAccepted = 8

// checkFingerprints computes each function's fingerprint and refuses one
// that changed since its version was generated, unless accepted. It sets
// each function's record: the sums whose entries stay valid carry over
// while the version does not change.
func checkFingerprints(prog *fingerprint.Program, pkgPath string, funcs []*cachedFunc, old map[string]fingerprint.Record, accept []string, acceptCommand func(name string) string) []error {
	var errs []error
	for _, f := range funcs {
		name := f.displayName()
		fp, err := prog.Of(pkgPath, name, f.Uses...)
		if err != nil {
			errs = append(errs, errorf(f.Pos, "%s: cannot read the code it runs: %v", name, err))
			continue
		}
		f.Record = fingerprint.Record{Name: name, Version: f.Directive.Version, Sum: fp.Sum, Uses: f.Uses, Parts: fp.Parts}
		rec, ok := old[name]
		if !ok || rec.Version != f.Directive.Version {
			continue // a new version: no earlier entry is valid
		}
		valid := append([]string{rec.Sum}, rec.Accepted...)
		if fp.Sum != rec.Sum && !slices.Contains(valid, fp.Sum) && !slices.Contains(accept, name) {
			errs = append(errs, errorf(f.Directive.Pos, "%s changed since version %d was generated (changed: %s); bump to //cache:version=%d, or, only if its results stay the same, record the change: %s",
				name, rec.Version, strings.Join(fingerprint.Changed(rec.Parts, fp.Parts), ", "), rec.Version+1, acceptCommand(name)))
			continue
		}
		for _, s := range valid {
			if s != fp.Sum && !slices.Contains(f.Record.Accepted, s) && len(f.Record.Accepted) < maxAccepted {
				f.Record.Accepted = append(f.Record.Accepted, s)
			}
		}
	}
	return errs
}
