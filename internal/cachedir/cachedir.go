// Package cachedir is what marks a directory as a cache: the README a
// cache writes into it, and the check that tools make before they act on
// a directory a person named.
package cachedir

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// The README a cache writes into its directory.
const (
	ReadmeName    = "README"
	ReadmeContent = `This directory holds results cached by cachegen wrappers: one file per
call, named by its key. It is safe to delete, in part or in whole: a missing
entry is computed again. Inspect it with cachectl.
`
)

// Check reports whether dir is an existing cache directory: one that
// holds the README a cache writes there. It reads no more of the README
// than its expected length, and only a regular file, opened without
// blocking: a README that is a symlink, a FIFO or endless is no README.
func Check(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache directory %s does not exist", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if !hasReadme(filepath.Join(dir, ReadmeName)) {
		return fmt.Errorf("%s is not a cachegen cache (it has no README written by cachegen)", dir)
	}
	return nil
}

func hasReadme(path string) bool {
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(ReadmeContent)) {
		return false
	}
	b := make([]byte, len(ReadmeContent))
	_, err = io.ReadFull(f, b)
	return err == nil && string(b) == ReadmeContent
}
