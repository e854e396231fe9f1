package ran

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/internal/disk"
)

// TestGoBuildID checks that the running test binary is identified by the
// build ID the linker wrote in its ELF note, as debug/elf reads it.
func TestGoBuildID(t *testing.T) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		t.Skip("not an ELF executable:", err)
	}
	defer f.Close()
	sec := f.Section(".note.go.buildid")
	if sec == nil {
		t.Skip("no Go build ID note")
	}
	data, err := sec.Data()
	if err != nil || len(data) < 16 {
		t.Fatal(err)
	}
	want := strings.TrimRight(string(data[16:]), "\x00")
	if got := exe(); got != "buildid:"+want {
		t.Fatalf("exe() = %q, want the build ID %q", got, want)
	}
	if goBuildID([]byte("no note here")) != "" {
		t.Error("a build ID found where there is none")
	}
	// Where there is no /proc/self/exe, there is no identity: no file at
	// a path can stand for the running program.
	if id := Identity(filepath.Join(t.TempDir(), "no-proc", "exe")); id != "" {
		t.Errorf("Identity of a missing file = %q, want none", id)
	}
	// A file without a build ID is identified by its content.
	plain := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(plain, []byte("a script"), 0o755)
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("another script"), 0o755)
	if a, b := Identity(plain), Identity(other); a == "" || a == b {
		t.Errorf("files of different content are identified as %q and %q", a, b)
	}
}

// TestRecordsCannotBePlanted checks that a record counts only when this
// program wrote it: one another user owns, or one without the MAC of a
// signed cache's key, is as if absent.
func TestRecordsCannotBePlanted(t *testing.T) {
	const fn, code = "example.com/codecheck.Run", "0123456789abcdef"
	key := []byte("0123456789abcdef0123456789abcdef")
	records := func(key []byte) Records { return Records{Disk: disk.New(t.TempDir(), true, key), SignKey: key} }

	signed := records(key)
	n := name(fn, code)
	if err := signed.Disk.Replace(n, "x", []byte(fn+"\n")); err != nil {
		t.Fatal(err)
	}
	if signed.Ran(fn, code) {
		t.Error("a record without the signing key's MAC counts in a signed cache")
	}
	signed.Disk.Remove(n)
	signed.Mark(fn, code)
	if !signed.Ran(fn, code) {
		t.Error("the record this program wrote does not count")
	}
	if signed.Ran(fn, "fedcba9876543210") || signed.Ran(fn+"2", code) {
		t.Error("the record of one function's code counts for other code")
	}
	other := records([]byte("another key, of 32 bytes as well"))
	other.Disk.Replace(n, "x", signed.content(fn, n))
	if other.Ran(fn, code) {
		t.Error("a record signed with another key counts")
	}

	plain := records(nil)
	plain.Mark(fn, code)
	if !plain.Ran(fn, code) {
		t.Fatal("the record this program wrote does not count")
	}
	if os.Getuid() != 0 {
		t.Skip("making a file another user owns needs root")
	}
	if err := os.Chown(plain.Disk.Abs(n), 12345, 12345); err != nil {
		t.Fatal(err)
	}
	if plain.Ran(fn, code) {
		t.Error("a record another user owns counts")
	}
}
