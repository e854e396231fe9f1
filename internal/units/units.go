// Package units parses the sizes and ages that people write in flags and
// environment variables (500MB, 10GiB, 36h, 7d), and spells sizes for
// people.
package units

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseSize parses a size such as 500MB, 10GiB, 1.5G or 4096: units B, KB,
// MB, GB, TB (powers of 1000; K, M, G, T too) and KiB, MiB, GiB, TiB
// (powers of 1024), in any case.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || f < 0 || f*mult > 1<<62 {
		return 0, fmt.Errorf("size %q: want a number and a unit, such as 500MB or 10GiB", s)
	}
	return int64(f * mult), nil
}

// ParseAge parses a positive duration as time.ParseDuration does, and also
// in days: 36h, 90m, 7d, 1.5d.
func ParseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n > 0 && n < 1e5 {
			return time.Duration(n * 24 * float64(time.Hour)), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a positive duration such as 36h, 90m or 7d", s)
}

// FormatSize spells n bytes in binary units: 512 B, 1.5 KiB, 64.0 MiB.
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Count spells n things for people: "1 entry", "3 entries".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// RoundDuration rounds d for people: to 10ms from a second, to 10µs from
// a millisecond, and not below.
func RoundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}
