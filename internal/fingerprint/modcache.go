package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// What other modules a module runs, and the names of their packages, are
// read from the module cache, where the go command keeps every module a
// build uses: its go.mod (in cache/download) and its source. Where the
// cache does not have them (a vendored build, a cache cleaned since), a
// fingerprint falls back on what is sound: every module the main module
// requires counts, and an import's name is not guessed.

// modCache returns the module cache directory, as the go command finds it.
func modCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		return filepath.Join(gp[0], "pkg", "mod")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// moduleOf returns the module path that provides a non-local import path,
// with the module its code comes from (path and version, after any
// replacement), or ok false.
func (ms *modules) moduleOf(importPath string) (modPath string, src module.Version, ok bool) {
	for p := range ms.versions {
		if (importPath == p || strings.HasPrefix(importPath, p+"/")) && len(p) > len(modPath) {
			modPath = p
		}
	}
	if modPath == "" {
		return "", module.Version{}, false
	}
	src, ok = ms.source[modPath]
	return modPath, src, ok
}

// goModOf reads the go.mod of a module version from the module cache.
func goModOf(v module.Version) (*modfile.File, bool) {
	cache := modCache()
	ep, err1 := module.EscapePath(v.Path)
	ev, err2 := module.EscapeVersion(v.Version)
	if cache == "" || err1 != nil || err2 != nil {
		return nil, false
	}
	p := filepath.Join(cache, "cache", "download", ep, "@v", ev+".mod")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	f, err := modfile.ParseLax(p, data, nil)
	return f, err == nil
}

// dependencies returns the parts for the modules that the module providing
// a non-local import path may run: that module and, through the go.mod
// files of the module cache, every module it requires, transitively, each
// at the version this build selects. A local module among them counts by
// all its code. Without the go.mod files, every module the build requires
// counts.
func (p *Program) dependencies(importPath string) []string {
	modPath, _, ok := p.mods.moduleOf(importPath)
	if !ok {
		// A module the main go.mod does not list (required by a
		// dependency, in a module of go 1.16 or before): which version the
		// build uses is not known here, so every module counts.
		return p.everything()
	}
	if d, ok := p.deps[modPath]; ok {
		return d
	}
	parts := map[string]bool{}
	complete := true
	seen := map[string]bool{}
	queue := []string{modPath}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		if seen[m] {
			continue
		}
		seen[m] = true
		if lm := p.mods.localModule(m); lm != nil {
			parts[p.moduleCode(lm)] = true
			continue
		}
		v, known := p.mods.versions[m]
		if !known {
			continue // required by a dependency, not selected by this build: not built
		}
		parts[v] = true
		f, ok := goModOf(p.mods.source[m])
		if !ok {
			complete = false
			break
		}
		for _, r := range f.Require {
			queue = append(queue, r.Mod.Path)
		}
	}
	if !complete {
		for _, part := range p.everything() {
			parts[part] = true
		}
	}
	list := make([]string, 0, len(parts))
	for part := range parts {
		list = append(list, part)
	}
	slices.Sort(list)
	p.deps[modPath] = list
	return list
}

// ownVersion returns the part of the module that provides a non-local
// import path, by its version alone; where the build's version of it is
// not known here, every module's.
func (p *Program) ownVersion(importPath string) []string {
	if modPath, _, ok := p.mods.moduleOf(importPath); ok {
		return []string{p.mods.versions[modPath]}
	}
	return p.everything()
}

// everything returns the parts of every module the build requires, and of
// all the code of every local module but the main ones.
func (p *Program) everything() []string {
	var out []string
	for _, v := range p.mods.versions {
		out = append(out, v)
	}
	for i := range p.mods.local {
		if !p.mods.local[i].main {
			out = append(out, p.moduleCode(&p.mods.local[i]))
		}
	}
	slices.Sort(out)
	return out
}

// moduleCode is the part for all the code of a local module, for when it
// is reached through a module whose source is not read: every file a
// package of it can build from, and its go.mod.
func (p *Program) moduleCode(m *localMod) string {
	if s, ok := p.modCode[m.path]; ok {
		return s
	}
	h := sha256.New()
	h.Write([]byte(m.origin + "\n"))
	walkModule(m, func(path string, d fs.DirEntry) {
		name := d.Name()
		source := strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") || slices.Contains(nativeExts, filepath.Ext(name)) || name == "go.mod"
		if !source || !d.Type().IsRegular() {
			return
		}
		data, err := os.ReadFile(path)
		if err != nil || IsGenerated(data) {
			return
		}
		rel, _ := filepath.Rel(m.dir, path)
		sum := sha256.Sum256(data)
		h.Write([]byte(filepath.ToSlash(rel) + " " + hex.EncodeToString(sum[:]) + "\n"))
	})
	s := m.path + "/...:" + hex.EncodeToString(h.Sum(nil)[:4])
	p.modCode[m.path] = s
	return s
}

// walkModule calls fn for each file of a local module's packages: not in
// directories the go command skips (., _, testdata, vendor) nor in nested
// modules.
func walkModule(m *localMod, fn func(path string, d fs.DirEntry)) {
	filepath.WalkDir(m.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if path != m.dir && (name[0] == '.' || name[0] == '_' || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != m.dir {
				return filepath.SkipDir // another module
			}
			return nil
		}
		fn(path, d)
		return nil
	})
}

// nonLocalName returns the name a package of another module declares, read
// from its source in the module cache, or "" when it is not there.
func (p *Program) nonLocalName(importPath string) string {
	if n, ok := p.names[importPath]; ok {
		return n
	}
	n := ""
	if modPath, src, ok := p.mods.moduleOf(importPath); ok {
		ep, err1 := module.EscapePath(src.Path)
		ev, err2 := module.EscapeVersion(src.Version)
		if cache := modCache(); cache != "" && err1 == nil && err2 == nil {
			rel := strings.TrimPrefix(strings.TrimPrefix(importPath, modPath), "/")
			n = packageName(p.fset, filepath.Join(cache, ep+"@"+ev, filepath.FromSlash(rel)))
		}
	}
	p.names[importPath] = n
	return n
}
