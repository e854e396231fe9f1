//go:build !linux

package runtime

import "io/fs"

// dirFDs holds nothing where reads go through the root.
type dirFDs struct{}

func (*dirFDs) reset() {}

// openRegular opens name for reading if, and only if, it is a regular
// file.
func (s *diskStore) openRegular(name string) (regularFile, fs.FileInfo, error) {
	return s.openRegularRoot(name)
}
