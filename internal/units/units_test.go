package units

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := map[string]int64{"500MB": 500e6, "10GiB": 10 << 30, "4096": 4096, "1.5k": 1500, "2 KiB": 2048, "7b": 7}
	for in, want := range cases {
		if got, err := ParseSize(in); got != want || err != nil {
			t.Errorf("ParseSize(%q) = (%d, %v), want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1GB", "10XB", "1e3"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted it", bad)
		}
	}
}

func TestParseAge(t *testing.T) {
	cases := map[string]time.Duration{"36h": 36 * time.Hour, "90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "1.5d": 36 * time.Hour}
	for in, want := range cases {
		if got, err := ParseAge(in); got != want || err != nil {
			t.Errorf("ParseAge(%q) = (%v, %v), want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "0h", "7days", "1e9d"} {
		if _, err := ParseAge(bad); err == nil {
			t.Errorf("ParseAge(%q) accepted it", bad)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 entries", 1: "1 entry", 2: "2 entries"} {
		if got := Count(n, "entry", "entries"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRoundDuration(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		1234567891 * time.Nanosecond: 1230 * time.Millisecond,
		1234567 * time.Nanosecond:    1230 * time.Microsecond,
		1234 * time.Nanosecond:       1234 * time.Nanosecond,
	} {
		if got := RoundDuration(d); got != want {
			t.Errorf("RoundDuration(%v) = %v, want %v", d, got, want)
		}
	}
}
