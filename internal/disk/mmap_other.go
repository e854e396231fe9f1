//go:build !linux

package disk

import "errors"

// mapFile maps nothing here: entries are read.
func mapFile(f regularFile, size int64) ([]byte, error) { return nil, errNoMap }

// Unmap does nothing where nothing is mapped.
func Unmap(b []byte) {}

var errNoMap = errors.New("entries are not mapped on this system")

// Local reports false: nothing is mapped on this system.
func Local(path string) bool { return false }
