package sweep

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/callctx"
)

// The compute times of a function's points, kept between sweeps for their
// estimates: the last maxDurations of them, one decimal count of
// nanoseconds a line, in dir/sweeps/<16 hex digits of the SHA-256 of the
// function's name and version>. A record that does not parse is ignored.
const maxDurations = 64

func durationsName(fn string, version int) string {
	sum := sha256.Sum256([]byte(fn + "\x00" + strconv.Itoa(version)))
	return path.Join("sweeps", hex.EncodeToString(sum[:8]))
}

// loadDurations returns the compute times recorded for the function fn at
// version in h's records.
func loadDurations(h callctx.Host, fn string, version int) []time.Duration {
	if h.Records == nil {
		return nil
	}
	data, err := h.Records.ReadSmall(durationsName(fn, version), 32*maxDurations) // a regular file of ours
	if err != nil {
		return nil
	}
	var ds []time.Duration
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() && len(ds) < maxDurations {
		n, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil || n < 0 {
			return nil
		}
		ds = append(ds, time.Duration(n))
	}
	return ds
}

// recordDurations adds measured compute times to the record of fn at
// version.
func recordDurations(h callctx.Host, fn string, version int, measured []time.Duration) {
	if h.Records == nil || h.ReadOnly {
		return
	}
	ds := append(loadDurations(h, fn, version), measured...)
	ds = ds[max(0, len(ds)-maxDurations):]
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(strconv.FormatInt(int64(d), 10))
		b.WriteByte('\n')
	}
	name := durationsName(fn, version)
	h.Records.Replace(name, path.Base(name), []byte(b.String()))
}
