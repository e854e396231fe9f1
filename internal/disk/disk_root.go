//go:build !linux

package disk

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
)

// dirFDs holds nothing where reads go through the root.
type dirFDs struct{}

func (*dirFDs) reset() {}

// OpenRegular opens name for reading if, and only if, it is a regular
// file.
func (s *Store) OpenRegular(name string) (regularFile, fs.FileInfo, error) {
	return s.openRegularRoot(name)
}

// replaceAt does nothing where files are written through the root.
func (s *Store) replaceAt(name, key string, write func(io.Writer) error, commit func(rename func() error) error) (bool, error) {
	return false, nil
}

// OpenLockIn is openLockFile for name, "dir/file" one level below the
// store's directory, made if missing, with O_CREATE and flag. A missing
// directory is made.
func (s *Store) OpenLockIn(name string, flag int) (*os.File, error) {
	r, err := s.OpenRoot(true)
	if err != nil {
		return nil, err
	}
	f, err := s.openLockFile(r, name, flag|os.O_CREATE)
	if errors.Is(err, fs.ErrNotExist) {
		if err := s.fs.MkdirAll(r, path.Dir(name)); err != nil {
			return nil, err
		}
		f, err = s.openLockFile(r, name, flag|os.O_CREATE)
	}
	return f, err
}
