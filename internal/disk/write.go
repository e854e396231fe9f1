package disk

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"time"
)

// WriteParts writes parts in order.
func WriteParts(parts [][]byte) func(io.Writer) error {
	return func(w io.Writer) error {
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return err
			}
		}
		return nil
	}
}

// WriteEntry writes key's entry with write, and adds it to its shard's
// usage, renaming it into place under the usage record's lock so that a
// shard's clean counts it exactly once; it returns the shard's usage
// after it (counted false if the record could not be updated).
func (s *Store) WriteEntry(key string, write func(io.Writer) error) (u Usage, counted bool, err error) {
	name := EntryName(key)
	err = s.replaceWith(name, key, write, func(rename func() error) error {
		u, counted, err = s.withUsage(ShardOf(key), func() (Usage, error) {
			old, oerr := s.Stat(name)
			if err := rename(); err != nil {
				return Usage{}, err
			}
			fi, err := s.Stat(name)
			if err != nil {
				return Usage{}, nil // removed at once
			}
			if oerr == nil && old.Mode().IsRegular() {
				return Usage{Allocated(fi) - Allocated(old), 0}, nil // replaced
			}
			return Usage{Allocated(fi), 1}, nil
		})
		return err
	})
	return u, counted, err
}

// RemoveEntry removes the entry file name and takes it from its shard's
// usage.
func (s *Store) RemoveEntry(name string) error {
	_, _, err := s.withUsage(path.Dir(name), func() (Usage, error) {
		fi, err := s.Stat(name)
		if err != nil {
			return Usage{}, err
		}
		if err := s.Remove(name); err != nil {
			return Usage{}, err
		}
		if !fi.Mode().IsRegular() {
			return Usage{}, nil
		}
		return Usage{-Allocated(fi), -1}, nil
	})
	return err
}

// Replace writes parts to a temporary file beside name and renames it into
// place. If the directory itself was removed, it is made again once.
func (s *Store) Replace(name, key string, parts ...[]byte) error {
	return s.replaceWith(name, key, WriteParts(parts), nil)
}

// replaceWith is replace, with write writing the file, and commit, when
// set, running the rename.
func (s *Store) replaceWith(name, key string, write func(io.Writer) error, commit func(rename func() error) error) error {
	if _, ok := s.fs.(osFS); ok {
		if done, err := s.replaceAt(name, key, write, commit); done {
			return err
		}
	}
	var err error
	for range 2 {
		var r *os.Root
		if r, err = s.OpenRoot(true); err != nil {
			return err
		}
		if err = s.fs.MkdirAll(r, path.Dir(name)); errors.Is(err, fs.ErrNotExist) {
			s.forget(r) // the directory was removed under us
			continue
		}
		if err != nil {
			return err
		}
		if s.private {
			// A shard someone else made would take what is written into
			// it for their own.
			fi, err := r.Lstat(path.Dir(name))
			if err == nil {
				err = s.checkOwn(path.Dir(name), fi)
			}
			if err != nil {
				return err
			}
		}
		var f tempFile
		if f, err = s.fs.CreateTemp(r, path.Dir(name), TempPrefix+key+"-"); err != nil {
			return err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			rename := func() error { return s.fs.Rename(r, f.Name(), name) }
			if commit != nil {
				err = commit(rename)
			} else {
				err = rename()
			}
		}
		if err != nil {
			s.fs.Remove(r, f.Name())
		}
		return err
	}
	return err
}

// Remove removes name from the store.
func (s *Store) Remove(name string) error {
	r, err := s.OpenRoot(false)
	if err != nil {
		return err
	}
	return s.fs.Remove(r, name)
}

// Touch sets name's modification time, recording a use, unless name is
// not a regular file of one name: touching a hard link would change the
// time of the file elsewhere.
func (s *Store) Touch(name string, t time.Time) {
	r, err := s.OpenRoot(false)
	if err != nil {
		return
	}
	// The times are set through the file opened and checked, not by name:
	// a name swapped for a link meanwhile changes nothing elsewhere.
	f, fi, err := s.openRegularIn(r, name)
	if err != nil {
		return
	}
	defer f.Close()
	if links(fi) == 1 {
		_ = touchOpen(f, t)
	}
}

// errEntryExists stops CreateEntry's rename.
var errEntryExists = errors.New("entry exists")

// CreateEntry writes key's entry with write unless there is one, under
// the shard's usage lock, which every writer of the store's entries
// takes, so that of writers racing one creates it.
func (s *Store) CreateEntry(key string, write func(io.Writer) error) (bool, error) {
	name := EntryName(key)
	err := s.replaceWith(name, key, write, func(rename func() error) error {
		_, _, err := s.withUsage(ShardOf(key), func() (Usage, error) {
			if _, err := s.Stat(name); err == nil {
				return Usage{}, errEntryExists
			}
			if err := rename(); err != nil {
				return Usage{}, err
			}
			fi, err := s.Stat(name)
			if err != nil {
				return Usage{}, nil // removed at once
			}
			return Usage{Allocated(fi), 1}, nil
		})
		return err
	})
	if errors.Is(err, errEntryExists) {
		return false, nil
	}
	return err == nil, err
}
