//go:build !linux

package runtime

// keyLock opens the lock of key: its own lock file.
func (s *diskStore) keyLock(key string) (keyLock, error) { return s.fileLock(key) }
