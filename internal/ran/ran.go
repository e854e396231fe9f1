// Package ran keeps the records that an executable ran a function's code
// while the source at hand matched it: what lets a program built before an
// edit keep using its cache after the edit, while a program built after it
// (without go generate) computes without the cache.
//
// A record is named by the executable's identity, the function and the
// code, so it says nothing of any other program. The identity is the Go
// build ID the linker wrote (a digest of the executable's content), read
// from /proc/self/exe, which is the file the process runs even after
// another replaced it at its path; where there is none, no record is kept
// or believed. A record counts only if it is a regular file this user
// owns, holding the function's name and, in a cache with a signing key,
// the MAC of its name and content with that key.
package ran

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"path"
	"sync"

	"github.com/cachegen/cachegen/internal/disk"
)

// Dir holds the records in a cache directory.
const Dir = "ran"

// Records are the records of one cache directory.
type Records struct {
	Disk    *disk.Store
	SignKey []byte // the cache's signing key, or nil
}

// exe identifies the running executable, or is "" when it cannot be read
// (see Identity).
var exe = sync.OnceValue(func() string { return Identity("/proc/self/exe") })

// Identity identifies the executable at path: by the Go build ID its
// linker wrote (in the first pages of the file) where it has one, else by
// the digest of the whole file; "" when it cannot be read.
func Identity(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	if id := goBuildID(head[:n]); id != "" {
		return "buildid:" + id
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ""
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// goBuildIDNote starts the ELF note in which the Go linker writes a
// binary's build ID: a name of 4 bytes, its description's size, type 4,
// and the name "Go".
var goBuildIDNote = []byte{4, 0, 0, 0}

// goBuildID returns the Go build ID of a little-endian ELF executable
// from its first bytes, or "".
func goBuildID(head []byte) string {
	for i := 0; ; {
		j := bytes.Index(head[i:], goBuildIDNote)
		if j < 0 || i+j+16 > len(head) {
			return ""
		}
		note := head[i+j:]
		size := int(binary.LittleEndian.Uint32(note[4:8]))
		if binary.LittleEndian.Uint32(note[8:12]) == 4 && string(note[12:16]) == "Go\x00\x00" && size > 0 && size <= 200 && 16+size <= len(note) {
			return string(note[16 : 16+size])
		}
		i += j + 1
	}
}

// name names the record that this executable ran fn's code.
func name(fn, code string) string {
	sum := sha256.Sum256([]byte(exe() + "\x00" + fn + "\x00" + code))
	return Dir + "/" + hex.EncodeToString(sum[:16])
}

// content is what a record holds.
func (r Records) content(fn, name string) []byte {
	body := fn + "\n"
	if r.SignKey == nil {
		return []byte(body)
	}
	m := hmac.New(sha256.New, r.SignKey)
	m.Write([]byte(name + "\x00" + body))
	return []byte(body + hex.EncodeToString(m.Sum(nil)) + "\n")
}

// Mark records that this executable ran fn's code while its source
// matched.
func (r Records) Mark(fn, code string) {
	if exe() == "" || r.Ran(fn, code) {
		return
	}
	n := name(fn, code)
	_ = r.Disk.Replace(n, path.Base(n), r.content(fn, n))
}

// Ran reports whether this executable once ran fn's code while its source
// matched: a record that counts (see the package's doc). A record that
// does not count is as if absent.
func (r Records) Ran(fn, code string) bool {
	if exe() == "" {
		return false
	}
	n := name(fn, code)
	fi, err := r.Disk.Stat(n)
	if err != nil || !fi.Mode().IsRegular() || !r.Disk.OwnedByMe(fi) {
		return false
	}
	data, err := r.Disk.ReadSmall(n, 1<<10)
	return err == nil && hmac.Equal(data, r.content(fn, n))
}
