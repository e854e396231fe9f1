package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
)

// A Problem is an entry file that fails its checks, or a temporary file
// that a killed writer left.
type Problem struct {
	Path string
	Key  string // empty for a temporary file
	Err  error
}

// A VerifyReport is what Verify found.
type VerifyReport struct {
	Checked  int // the entries checked, those with problems among them
	Problems []Problem
}

// Verify checks every entry as a load does (format, lengths, checksums,
// that the file's name and content belong to the same call, and with a
// signing key its MAC) and
// reports each one that fails, and each temporary file older than a few
// minutes. With fix, it removes them.
func (c *Cache) Verify(ctx context.Context, fix bool) (VerifyReport, error) {
	if fix {
		if err := c.writable(); err != nil {
			return VerifyReport{}, err
		}
	}
	now := c.now()
	var problems []Problem
	checked := 0
	report := func(name string, p Problem) error {
		problems = append(problems, p)
		if fix {
			remove := c.disk.Remove
			if disk.KindOf(path.Base(name)) == disk.KindEntry {
				remove = c.disk.RemoveEntry
			}
			if err := remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	}
	err := c.disk.Walk(ctx, func(name string, kind disk.FileKind) error {
		where := c.disk.Abs(name)
		switch kind {
		case disk.KindLock:
			return nil
		case disk.KindOdd:
			// Never read; reported, and removed by fix.
			return report(name, Problem{Path: where, Key: disk.KeyOfName(name), Err: fmt.Errorf("%w: not a regular file", entry.ErrCorrupt)})
		}
		if kind == disk.KindTemp {
			fi, err := c.disk.Stat(name)
			if err != nil || now.Sub(fi.ModTime()) <= tempMaxAge {
				return nil
			}
			return report(name, Problem{Path: where, Err: errors.New("temporary file left by an interrupted write")})
		}
		key := strings.TrimSuffix(path.Base(name), disk.EntrySuffix)
		data, _, payCRC, err := c.disk.ReadEntry(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		checked++
		if err == nil {
			err = checkEntry(key, data, payCRC, c.signKey)
		}
		if err == nil {
			return nil
		}
		return report(name, Problem{Path: where, Key: key, Err: err})
	})
	return VerifyReport{Checked: checked, Problems: problems}, err
}

// checkEntry checks a whole entry file named key without knowing its call:
// the params it holds must hash to the key in its header and its name.
func checkEntry(key string, data []byte, payCRC *uint32, signKey []byte) error {
	h, mb, _, err := entry.Parse(data, payCRC)
	if err != nil {
		return err
	}
	if signKey != nil {
		if err := entry.CheckMAC(signKey, h.Sum, h, data); err != nil {
			return err
		}
	}
	m, err := entry.DecodeMeta(mb)
	if err != nil {
		return err
	}
	if sha256.Sum256(m.Params) != h.Sum {
		return fmt.Errorf("%w: params do not hash to the key in the header", entry.ErrCorrupt)
	}
	if hex.EncodeToString(h.Sum[:8]) != key {
		return fmt.Errorf("%w: entry of key %x stored under the name %s", entry.ErrCorrupt, h.Sum[:8], key)
	}
	return nil
}

// DescribeResult returns the stored result of the entry of key as text for
// people: JSON-like, with large numeric slices summarised by type, length
// and first values. The entry is checked as a load checks it.
func (c *Cache) DescribeResult(ctx context.Context, key string) (string, error) {
	if !entry.ValidKey(key) {
		return "", fmt.Errorf("%w: %s", ErrBadKey, logline.QuoteCut(key))
	}
	data, _, payCRC, err := c.disk.ReadEntry(disk.EntryName(key))
	if err != nil {
		return "", err
	}
	return describeEntry(data, payCRC, key, c.signKey)
}

// describeEntry checks an entry read for key and describes its result.
func describeEntry(data []byte, payCRC *uint32, key string, signKey []byte) (string, error) {
	h, mb, payload, err := entry.Parse(data, payCRC)
	if err == nil && hex.EncodeToString(h.Sum[:8]) != key {
		err = fmt.Errorf("%w: entry holds another call", entry.ErrCorrupt)
	}
	if err == nil && signKey != nil {
		err = entry.CheckMAC(signKey, h.Sum, h, data)
	}
	if err != nil {
		return "", err
	}
	m, err := entry.DecodeMeta(mb)
	if err != nil {
		return "", err
	}
	return entry.Describe(payload, m.Blocks)
}
