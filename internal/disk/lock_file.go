//go:build !linux

package disk

// KeyLock opens the lock of key: its own lock file.
func (s *Store) KeyLock(key string) (KeyLock, error) { return s.fileLock(key) }
