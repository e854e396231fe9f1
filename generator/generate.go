// Package generator implements cachegen: it finds functions annotated
// //cache:version=N, checks that their arguments can be keyed and their
// results stored exactly, and writes XxxCached, XxxCacheKey and
// XxxInvalidate wrappers that call the cachegen runtime.
//
// It works in three steps: load (go/packages), analyze (go/types into the
// Func model, collecting every problem with its position) and emit
// (jennifer). Generate returns what it would write; Commit writes it.
//
// The generated file records, per function, its version and a fingerprint
// of the code it runs: its declaration and every function, method, type,
// constant and variable of its module that it reaches, transitively, each
// digested from its syntax tree without comments, positions or formatting
// (so renaming a local variable is a change, and reformatting is not).
// Other modules count by path and version; the standard library does not
// count. When a function's fingerprint changes and its version does not,
// Generate refuses it, naming what changed, unless Config.Accept names it.
package generator

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Config says what to generate.
type Config struct {
	Dir      string   // where patterns are resolved; "" means the current directory
	Patterns []string // go/packages patterns; none means "."
	Tags     string   // build tags, comma-separated
	Output   string   // the output file name in each package; "" means cache_gen.go
	Accept   []string // functions whose changed fingerprints to record without a version bump
}

// DefaultOutput is the name of the generated file in each package.
const DefaultOutput = "cache_gen.go"

// Result is the outcome for one package.
type Result struct {
	PkgPath    string
	OutputPath string
	Content    []byte // the file to write; nil when Remove is set or there are errors
	Remove     bool   // the package has no annotations left: remove its old output
	Errs       []error
}

// Generate loads, analyzes and emits every package that patterns match.
// The error is for failures to load; problems in the code are in the
// results' Errs.
func Generate(cfg Config) ([]Result, error) {
	if cfg.Output == "" {
		cfg.Output = DefaultOutput
	}
	if filepath.Base(cfg.Output) != cfg.Output || filepath.Ext(cfg.Output) != ".go" {
		return nil, fmt.Errorf("-output %q must be a file name ending in .go", cfg.Output)
	}
	pkgs, lcfg, err := load(cfg.Dir, cfg.Patterns, cfg.Tags, cfg.Output)
	if err != nil {
		return nil, err
	}
	module := ""
	for _, p := range pkgs {
		if p.Module != nil && p.Module.Main {
			module = p.Module.Path
		}
	}
	extra, err := loadModule(lcfg, module, pkgs)
	if err != nil {
		return nil, err
	}
	all := append(append([]*packages.Package(nil), pkgs...), extra...)
	var results []Result
	for _, pkg := range pkgs {
		r := Result{PkgPath: pkg.PkgPath}
		for _, e := range pkg.Errors {
			// Type errors elsewhere in the package (above all, calls of
			// wrappers not generated yet) do not stop generation; a
			// signature that does not type-check is reported by analyze.
			if e.Kind != packages.TypeError && !isOwnCompileError(pkg, e) {
				r.Errs = append(r.Errs, errors.New(e.Error()))
			}
		}
		if len(pkg.GoFiles) == 0 || pkg.Types == nil {
			if len(r.Errs) == 0 {
				r.Errs = append(r.Errs, fmt.Errorf("%s: no Go files", pkg.PkgPath))
			}
			results = append(results, r)
			continue
		}
		r.OutputPath = filepath.Join(filepath.Dir(pkg.GoFiles[0]), cfg.Output)
		if len(r.Errs) > 0 {
			results = append(results, r)
			continue
		}
		old, exists, err := readFile(r.OutputPath)
		if err != nil {
			r.Errs = append(r.Errs, err)
		} else if exists && !isOurs(old) {
			r.Errs = append(r.Errs, fmt.Errorf("%s exists and was not written by cachegen: rename it or choose another -output", r.OutputPath))
		}
		funcs, errs := analyze(pkg, cfg.Output)
		r.Errs = append(r.Errs, errs...)
		if len(errs) == 0 && len(funcs) > 0 {
			r.Errs = append(r.Errs, checkFingerprints(newProgram(module, all, pkg.PkgPath), funcs, readRecords(old), cfg.Accept)...)
		}
		sortErrors(r.Errs)
		switch {
		case len(r.Errs) > 0:
		case len(funcs) == 0:
			r.Remove = exists
		default:
			r.Content, err = emit(pkg.Types, funcs)
			if err != nil {
				r.Errs = append(r.Errs, fmt.Errorf("%s: %v", pkg.PkgPath, err))
			}
		}
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].PkgPath < results[j].PkgPath })
	return results, nil
}

// checkFingerprints computes each function's fingerprint and refuses one
// that changed since its version was generated, unless accepted.
func checkFingerprints(prog *program, funcs []*Func, old map[string]record, accept []string) []error {
	var errs []error
	for _, f := range funcs {
		f.Fingerprint = prog.fingerprint(f.Obj)
		name := f.displayName()
		rec, ok := old[name]
		if !ok || rec.version != f.Directive.Version || rec.sum == f.Fingerprint.Sum || slices.Contains(accept, name) {
			continue
		}
		errs = append(errs, errorf(f.Directive.Pos, "%s changed since version %d was generated (changed: %s); bump to //cache:version=%d, or run cachegen -accept %s if results stay valid",
			name, rec.version, strings.Join(changedNames(rec.parts, f.Fingerprint.Parts), ", "), rec.version+1, name))
	}
	return errs
}

// displayName is F, or T.M for a method.
func (f *Func) displayName() string {
	if f.Recv != nil && f.RecvType != nil {
		return f.RecvType.Obj().Name() + "." + f.Name
	}
	return f.Name
}

// isOwnCompileError reports whether e is the go command's report of
// compiling pkg itself for its export data: the same type errors again,
// which Generate tolerates.
func isOwnCompileError(pkg *packages.Package, e packages.Error) bool {
	return e.Kind != packages.ParseError && strings.HasPrefix(e.Msg, "# "+pkg.PkgPath+"\n")
}

// Stale reports whether the file on disk differs from what r would write.
func (r Result) Stale() (bool, error) {
	if r.OutputPath == "" {
		return false, nil
	}
	old, exists, err := readFile(r.OutputPath)
	if err != nil {
		return false, err
	}
	if r.Content == nil {
		return r.Remove && exists, nil
	}
	return !exists || !bytes.Equal(old, r.Content), nil
}

// Commit writes r's file, or removes the old one, if it changed.
func (r Result) Commit() error {
	if len(r.Errs) > 0 {
		return errors.New("cachegen: cannot commit a result with errors")
	}
	stale, err := r.Stale()
	if err != nil || !stale {
		return err
	}
	if r.Remove {
		return os.Remove(r.OutputPath)
	}
	return os.WriteFile(r.OutputPath, r.Content, 0o644)
}
