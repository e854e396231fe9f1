package disk

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// locksName is the lock file of a shard, on Linux: each key locks one byte
// of it.
const locksName = ".locks"

// keyLock opens the lock of key: a byte of its shard's lock file, at an
// offset its key gives.
func (s *Store) keyLock(key string) (KeyLock, error) {
	if fileLocks {
		return s.fileLock(key)
	}
	f, err := s.OpenLockIn(path.Join(ShardOf(key), locksName), 0)
	if err != nil {
		return nil, err
	}
	var b [8]byte
	hex.Decode(b[:], []byte(key))
	return ofdLock{f, int64(binary.BigEndian.Uint64(b[:]) >> 1)}, nil
}

// ofdLock is an open-file-description lock on one byte of a shard's lock
// file: it belongs to the open file, not the process, so two opens in one
// process exclude each other, and closing the file, or dying, releases it.
type ofdLock struct {
	f   *os.File
	off int64
}

func (l ofdLock) set(typ int16) error {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return err
	}
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: l.off, Len: 1}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = unix.FcntlFlock(fd, unix.F_OFD_SETLK, &lk) }); err != nil {
		return err
	}
	return ferr
}

func (l ofdLock) Try() (bool, error) {
	err := l.set(unix.F_WRLCK)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return false, nil
	}
	return err == nil, err
}

func (l ofdLock) Held() bool      { return true } // the file is never removed while in use
func (l ofdLock) Release()        { l.UnlockAndClose() }
func (l ofdLock) UnlockAndClose() { l.set(unix.F_UNLCK); l.f.Close() }
func (l ofdLock) Close()          { l.f.Close() }
