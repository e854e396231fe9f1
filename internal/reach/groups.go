package reach

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A PartStore keeps, in a directory, the parts of the declarations each
// package part stands for ("math.*:…" stands for "Exp:…", "Log:…"), so
// that when a later run finds a package part changed it can name the
// declarations that changed in it. It is advice: without it (another
// machine, a cleaned cache) a message names the package. The zero value
// keeps nothing.
type PartStore struct{ Dir string }

// DefaultPartStore returns the store in the user's cache directory.
func DefaultPartStore() PartStore {
	d, err := os.UserCacheDir()
	if err != nil {
		return PartStore{}
	}
	return PartStore{Dir: filepath.Join(d, "cachegen-generate", "parts")}
}

// partsMaxAge is how long the store keeps parts no run has read or
// written.
const partsMaxAge = 30 * 24 * time.Hour

func (s PartStore) file(part string) string {
	sum := sha256.Sum256([]byte(part))
	return filepath.Join(s.Dir, hex.EncodeToString(sum[:16]))
}

// Save keeps the declarations' parts of each package part.
func (s PartStore) Save(full map[string][]string) {
	if s.Dir == "" || len(full) == 0 {
		return
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return
	}
	now := time.Now()
	for part, entries := range full {
		name := s.file(part)
		if _, err := os.Stat(name); err == nil {
			os.Chtimes(name, now, now)
			continue
		}
		tmp, err := os.CreateTemp(s.Dir, ".tmp-*")
		if err != nil {
			return
		}
		_, werr := tmp.WriteString(part + "\n" + strings.Join(entries, "\n") + "\n")
		if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), name) != nil {
			os.Remove(tmp.Name())
		}
	}
	s.trim(now)
}

// Load returns the declarations' parts a package part stands for, or nil.
func (s PartStore) Load(part string) []string {
	if s.Dir == "" {
		return nil
	}
	data, err := os.ReadFile(s.file(part))
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) == 0 || lines[0] != part {
		return nil
	}
	return lines[1:]
}

// trim removes, at most once a day, what no run has used for a month.
func (s PartStore) trim(now time.Time) {
	mark := filepath.Join(s.Dir, ".trimmed")
	if fi, err := os.Stat(mark); err == nil && now.Sub(fi.ModTime()) < 24*time.Hour {
		return
	}
	os.WriteFile(mark, nil, 0o644)
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && !e.IsDir() && e.Name()[0] != '.' && now.Sub(fi.ModTime()) > partsMaxAge {
			os.Remove(filepath.Join(s.Dir, e.Name()))
		}
	}
}
