package explain

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func entryOf(key string, version int, code string, at int, args map[string]string) Call {
	return Call{Key: key, Version: version, Code: code, Args: args, At: t0.Add(time.Duration(at) * time.Minute)}
}

const (
	codeA = "aaaaaaaaaaaaaaaa"
	codeB = "bbbbbbbbbbbbbbbb"
)

func TestWhy(t *testing.T) {
	call := Call{Key: "k-new", Version: 2, Code: codeB, Parts: []string{"Run:11111111", "forward:22222222", "go.mod:33333333"},
		Args: map[string]string{"x": "1", "y": "333", "seed": "42"}}
	for _, tc := range []struct {
		name string
		held []Call
		kind Kind
		want string
	}{
		{"no entry", nil, NoEntry, "the cache records no entry of this function"},
		{"older version", []Call{entryOf("k1", 1, codeA, 0, call.Args)}, OtherVersion,
			"the cache holds entries of an older version only (version 1): this call is version 2"},
		{"other version", []Call{entryOf("k1", 1, codeA, 0, nil), entryOf("k3", 3, codeA, 1, nil)}, OtherVersion,
			"entries of another version only (version 1, 3)"},
		{"other code", []Call{
			entryOf("k1", 2, codeA, 0, call.Args),
			{Key: "k2", Version: 2, Code: "cccccccccccccccc", At: t0.Add(time.Hour), Parts: []string{"Run:11111111", "forward:99999999", "go.mod:33333333"}},
		}, OtherCode,
			"the entries of version 2 were computed by other code (cccccccccccccccc, aaaaaaaaaaaaaaaa), which this code does not accept; changed since: forward"},
		{"nearest arguments", []Call{
			entryOf("k1", 2, codeB, 0, map[string]string{"x": "2", "y": "222", "seed": "42"}),
			entryOf("k2", 2, codeB, 1, map[string]string{"x": "1", "y": "222", "seed": "42"}),
			entryOf("k3", 2, codeA, 2, call.Args), // other code: not a candidate
		}, OtherArgs,
			"no entry has these arguments; the nearest (key k2, computed 2026-12-01T10:01:00Z) differs in y: 222 -> 333"},
		{"argument added", []Call{entryOf("k1", 2, codeB, 0, map[string]string{"x": "1", "y": "333"})}, OtherArgs,
			"differs in seed: (none) -> 42"},
		{"removed", []Call{entryOf("k-new", 2, codeB, 0, call.Args)}, Removed,
			"an entry with these arguments (key k-new) was computed 2026-12-01T10:00:00Z and is gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Why(call, tc.held)
			if r.Kind != tc.kind || !strings.Contains(r.String(), tc.want) {
				t.Errorf("kind %d: %s\nwant kind %d, saying %q", r.Kind, r, tc.kind, tc.want)
			}
		})
	}
}

// An accepted fingerprint's entries are candidates, as a load serves them.
func TestWhyFollowsAccepted(t *testing.T) {
	call := Call{Key: "k2", Version: 1, Code: codeB, Accepted: []string{codeA}, Args: map[string]string{"y": "333"}}
	r := Why(call, []Call{entryOf("k1", 1, codeA, 0, map[string]string{"y": "222"})})
	if r.Kind != OtherArgs || r.Diffs[0] != (Diff{"y", "222", "333"}) {
		t.Errorf("%s: want the accepted code's entry as the nearest, differing in y", r)
	}
}

func TestArgsOf(t *testing.T) {
	params := []byte(`{"__fn__": "example.com/sim.Run", "__version__": 1, "grid": [1, [2, 3], {"a,b": "c}"}], "name": "x\"y, z", "snr": NaN, "t": -Infinity}`)
	got, err := ArgsOf(params, "__fn__", "__version__")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"grid": `[1, [2, 3], {"a,b": "c}"}]`, "name": `"x\"y, z"`, "snr": "NaN", "t": "-Infinity"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{``, `[1]`, `{"a" 1}`, `{"a": [1}`, `{"a": 1 "b": 2}`, `{"a: 1}`} {
		if _, err := ArgsOf([]byte(bad)); err == nil {
			t.Errorf("ArgsOf(%q): no error", bad)
		}
	}
}

// Long values keep their start and a digest of the whole: two that differ
// only past the start still spell apart.
func TestSpellLongValues(t *testing.T) {
	a := "[" + strings.Repeat("1, ", 100) + "1]"
	b := "[" + strings.Repeat("1, ", 100) + "2]"
	sa, sb := Spell([]byte(a)), Spell([]byte(b))
	if sa == sb || len(sa) > maxSpelling || !strings.HasPrefix(sa, "[1, 1, ") || !strings.Contains(sa, "(303 bytes, sha256:") {
		t.Errorf("spelled %q and %q", sa, sb)
	}
	if Spell([]byte("300")) != "300" {
		t.Errorf("a short value is spelled %q", Spell([]byte("300")))
	}
}

// ArgsOf reads params from entries on disk, which anyone who can write
// there may have planted: whatever they hold, it returns.
func FuzzArgsOf(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, `{"a": [1, {"b": "}"}], "c": NaN}`, `{"a": "\"", "b": [}`, `{`, `{"a": [1,]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		args, err := ArgsOf(params)
		if err == nil && len(args) > len(params) {
			t.Fatalf("%d arguments from %d bytes", len(args), len(params))
		}
	})
}
