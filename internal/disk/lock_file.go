//go:build !linux

package disk

// keyLock opens the lock of key: its own lock file.
func (s *Store) keyLock(key string) (KeyLock, error) { return s.fileLock(key) }
