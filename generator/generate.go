// Package generator implements cachegen: it finds functions annotated
// //cache:version=N, checks that their arguments can be keyed and their
// results stored exactly, and writes XxxCached, XxxCacheKey and
// XxxInvalidate wrappers that call the cachegen runtime.
//
// It works in three steps: load (go/packages), analyze (go/types into the
// cachedFunc model, collecting every problem with its position) and emit
// (jennifer). Generate returns what it would write; Commit writes it.
//
// Declared functions open it to types it could not key or store: a
// function annotated //cache:key keys every parameter (and with= value) of
// exactly its parameter's type by what it returns, and one annotated
// //cache:store with its //cache:load stores a function's only result of
// its parameter's type as the type it returns. They are found in the
// package and in the packages of its module that it imports (see
// declared.go), checked, and called by the wrappers through
// cacheruntime.KeyBy and cacheruntime.StoreAs.
//
// The generated file records, per function, its version, a fingerprint
// of the code it runs (see internal/fingerprint for what it is made of,
// and internal/reach for how what a function reaches is found: with
// types, in its module, in other modules and in the standard library),
// and the declared functions its wrappers call (uses=), whose code the
// fingerprint counts too. When a function's fingerprint changes and its
// version does not, Generate refuses it, naming what changed, unless
// Config.Accept names it. The wrapper passes the fingerprint to the
// runtime, which serves only entries computed by that code or by code
// accepted as the same, and a generated test fails when the code of the
// function's module changes without cachegen being run again.
package generator

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/cachegen/cachegen/internal/reach"
	"golang.org/x/tools/go/packages"
)

// Config says what to generate.
type Config struct {
	Dir      string   // where patterns are resolved; "" means the current directory
	Patterns []string // go/packages patterns; none means "."
	Tags     string   // build tags, comma-separated
	Output   string   // the output file name in each package; "" means cache_gen.go
	Accept   []string // functions whose changed fingerprints to record without a version bump

	// Parts keeps the parts of the packages a fingerprint counts as one,
	// to name what changed in them on a later run; the zero value is
	// reach.DefaultPartStore.
	Parts reach.PartStore
}

// command is the cachegen command line that Config stands for, as the
// header of the files it writes names it: with -output, which names them,
// but not -tags, since a run under any tag set writes the same files.
func (cfg Config) command() string {
	if cfg.Output != DefaultOutput {
		return "cachegen -output " + cfg.Output
	}
	return "cachegen"
}

// flags are the flags of Config's command line that a rerun needs.
func (cfg Config) flags() []string {
	var fs []string
	if cfg.Output != DefaultOutput {
		fs = append(fs, "-output", cfg.Output)
	}
	if cfg.Tags != "" {
		fs = append(fs, "-tags", cfg.Tags)
	}
	return fs
}

// defaultParts is where a run keeps parts when its Config does not say.
var defaultParts = reach.DefaultPartStore

// DefaultOutput is the name of the generated file in each package.
const DefaultOutput = "cache_gen.go"

// Result is the outcome for one package: its wrappers, and a test that
// fails when the code they cache changes without cachegen being run again.
type Result struct {
	PkgPath     string
	OutputPath  string
	Content     []byte // the file to write; nil when Remove is set or there are errors
	TestPath    string // the test file beside it: the output's name with _test.go
	TestContent []byte
	Remove      bool // the package has no annotations left: remove its old output and test
	Errs        []error
}

// Generate loads, analyzes and emits every package that patterns match.
// The error is for failures to load; problems in the code are in the
// results' Errs.
func Generate(cfg Config) ([]Result, error) {
	if cfg.Output == "" {
		cfg.Output = DefaultOutput
	}
	if filepath.Base(cfg.Output) != cfg.Output || filepath.Ext(cfg.Output) != ".go" || strings.HasSuffix(cfg.Output, "_test.go") {
		return nil, fmt.Errorf("-output %q must be a file name ending in .go, not _test.go", cfg.Output)
	}
	pkgs, prog, err := load(cfg.Dir, cfg.Patterns, cfg.Tags, cfg.Output)
	if err != nil {
		return nil, err
	}
	if len(pkgs) == 0 {
		// A check that checked nothing must not pass.
		patterns := cmp.Or(strings.Join(cfg.Patterns, " "), ".")
		if !inModule(cmp.Or(cfg.Dir, ".")) {
			return nil, fmt.Errorf("no go.mod in %s or a directory above it, so no package matches %s: run cachegen in the module that holds the annotated functions", absDir(cfg.Dir), patterns)
		}
		return nil, fmt.Errorf("no package matches %s in %s: name the packages that hold annotated functions, as in cachegen ./...", patterns, absDir(cfg.Dir))
	}
	if cfg.Parts.Dir == "" {
		cfg.Parts = defaultParts()
	}
	var results []Result
	annotated := map[string]bool{} // display names of the functions found
	for _, pkg := range pkgs {
		r := Result{PkgPath: pkg.PkgPath}
		for _, e := range pkg.Errors {
			if strings.HasPrefix(e.Msg, "no Go files in ") {
				r.Errs = append(r.Errs, fmt.Errorf("%s: name the packages that hold annotated functions, as in cachegen ./...", e.Msg))
				continue
			}
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
		r.TestPath = strings.TrimSuffix(r.OutputPath, ".go") + "_test.go"
		if len(r.Errs) > 0 {
			results = append(results, r)
			continue
		}
		var old []byte
		anyExists := false
		for _, path := range []string{r.OutputPath, r.TestPath} {
			b, exists, err := readFile(path)
			if err != nil {
				r.Errs = append(r.Errs, err)
			} else if exists && !isOurs(b) {
				r.Errs = append(r.Errs, fmt.Errorf("%s exists and was not written by cachegen: rename it or choose another -output", path))
			}
			if path == r.OutputPath {
				old = b
			}
			anyExists = anyExists || exists
		}
		funcs, errs := analyze(pkg, cfg.Output, cfg.Tags)
		r.Errs = append(r.Errs, errs...)
		for _, f := range funcs {
			annotated[f.displayName()] = true
		}
		if len(errs) == 0 && len(funcs) > 0 {
			acceptCommand := func(name string) string {
				return fingerprint.AcceptCommand(filepath.Dir(pkg.GoFiles[0]), pkg.PkgPath, absDir(cfg.Dir), name, cfg.flags()...)
			}
			r.Errs = append(r.Errs, checkFingerprints(prog, cfg.Parts, pkg.PkgPath, funcs, fingerprint.ParseRecords(old), cfg.Accept, acceptCommand)...)
		}
		sortErrors(r.Errs)
		switch {
		case len(r.Errs) > 0:
		case len(funcs) == 0:
			r.Remove = anyExists
		default:
			r.Content, r.TestContent, err = emit(pkg.Types, funcs, cfg.command())
			if err != nil {
				r.Errs = append(r.Errs, fmt.Errorf("%s: %v", pkg.PkgPath, err))
			}
		}
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool { return results[i].PkgPath < results[j].PkgPath })
	return append(results, unknownAccepted(cfg, annotated)...), nil
}

// inModule reports whether dir is in a module or a workspace.
func inModule(dir string) bool {
	d, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	if w := os.Getenv("GOWORK"); w != "" && w != "off" {
		return true
	}
	for {
		for _, name := range []string{"go.mod", "go.work"} {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				return true
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
}

func absDir(dir string) string {
	d, err := filepath.Abs(cmp.Or(dir, "."))
	if err != nil {
		return dir
	}
	return d
}

// unknownAccepted refuses each name in cfg.Accept that names no function
// found: a typo would otherwise leave the change it meant refused.
func unknownAccepted(cfg Config, annotated map[string]bool) []Result {
	patterns := cfg.Patterns
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	var out []Result
	names := slices.Sorted(maps.Keys(annotated))
	for _, name := range cfg.Accept {
		if !annotated[name] {
			hint := ": name a function F, or a method T.M"
			if s := suggest(name, names); s != "" {
				hint = s
			}
			out = append(out, Result{Errs: []error{fmt.Errorf("-accept %s: no function annotated with //cache:version=N in %s is named %s%s",
				name, strings.Join(patterns, " "), name, hint)}})
		}
	}
	return out
}

// displayName is F, or T.M for a method.
func (f *cachedFunc) displayName() string {
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

// outFile is a file a Result writes, or removes when content is nil.
type outFile struct {
	path    string
	content []byte
}

func (r Result) files() []outFile {
	if len(r.Errs) > 0 || r.Content == nil && !r.Remove {
		return nil
	}
	return []outFile{{r.OutputPath, r.Content}, {r.TestPath, r.TestContent}}
}

// changed reports whether f differs from the file on disk.
func (f outFile) changed() (bool, error) {
	old, exists, err := readFile(f.path)
	if err != nil {
		return false, err
	}
	if f.content == nil {
		return exists, nil
	}
	return !exists || !bytes.Equal(old, f.content), nil
}

// Stale reports whether a file on disk differs from what r would write.
func (r Result) Stale() (bool, error) {
	for _, f := range r.files() {
		if c, err := f.changed(); c || err != nil {
			return c, err
		}
	}
	return false, nil
}

// Commit writes r's files, or removes the old ones, where they changed.
func (r Result) Commit() error {
	if len(r.Errs) > 0 {
		return errors.New("cannot commit a result with errors")
	}
	for _, f := range r.files() {
		c, err := f.changed()
		switch {
		case err != nil || !c:
		case f.content == nil:
			err = os.Remove(f.path)
		default:
			err = os.WriteFile(f.path, f.content, 0o644)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
