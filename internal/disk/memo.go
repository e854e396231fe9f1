package disk

import (
	"errors"
	"io/fs"
	"strings"
	"time"
)

// The memo of file digests lives in dir/memo, one record a file, each
// named <digest of its path>.memo; the runtime writes and reads them.
const (
	MemoDir    = "memo"
	MemoSuffix = ".memo"
)

// ClearMemo removes the memo of file digests from the store.
func (s *Store) ClearMemo() error {
	r, err := s.OpenRoot(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ents, err := readDir(r, MemoDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), MemoSuffix) || strings.HasPrefix(e.Name(), TempPrefix) {
			if err := s.fs.Remove(r, MemoDir+"/"+e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	_ = r.Remove(MemoDir) // unless something else is in it
	return nil
}

// PruneMemo removes the memo records written before cutoff, and
// temporary files killed writers left there.
func (s *Store) PruneMemo(cutoff time.Time) {
	r, err := s.OpenRoot(false)
	if err != nil {
		return
	}
	ents, err := readDir(r, MemoDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := MemoDir + "/" + e.Name()
		if !strings.HasSuffix(e.Name(), MemoSuffix) && !strings.HasPrefix(e.Name(), TempPrefix) {
			continue
		}
		if fi, err := r.Lstat(name); err == nil && fi.ModTime().Before(cutoff) {
			_ = s.fs.Remove(r, name)
		}
	}
}
