package maintain_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/maintain"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

func TestListNewestFirstWithMetadata(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	var before, after []time.Time // around each computation
	for _, snr := range []float64{300, 500, 100} {
		before = append(before, time.Now())
		do(t, c, mcCall(snr), 0)
		after = append(after, time.Now())
	}
	es := list(t, openTier(t, dir, maintain.Options{}))
	if len(es) != 3 {
		t.Fatalf("List returned %d entries, want 3", len(es))
	}
	for i, want := range []string{`"snr": 100.0`, `"snr": 500.0`, `"snr": 300.0`} {
		if !strings.Contains(string(es[i].Params), want) {
			t.Errorf("entry %d params %s, want %s (newest first)", i, es[i].Params, want)
		}
	}
	e := es[2]
	key := keyOf(t, mcCall(300))
	if e.Key != key || e.Func != "example.com/sim.RunMonteCarlo" || e.Version != 1 || e.ComputedAt.Before(before[0]) || e.ComputedAt.After(after[0]) || e.Size == 0 {
		t.Errorf("entry %+v does not describe the snr=300 call (key %s) computed between %v and %v", e, key, before[0], after[0])
	}
	want := `{"__fn__": "example.com/sim.RunMonteCarlo", "__version__": 1, "nScenes": 1000, "seed": 42, "snr": 300.0}`
	if string(e.Params) != want {
		t.Errorf("Params = %s, want the canonical text %s", e.Params, want)
	}
	if wantArgs := `{"nScenes": 1000, "seed": 42, "snr": 300.0}`; string(e.Args) != wantArgs {
		t.Errorf("Args = %s, want %s: the params without the names the key adds", e.Args, wantArgs)
	}
	if e.TTL != 0 || e.Stale || e.LastUsed.IsZero() || e.Dead() || e.BadSignature {
		t.Errorf("entry %+v: want no TTL, fresh, with its last use, alive and not badly signed", e)
	}
}

func TestListMarksStaleEntries(t *testing.T) {
	dir := t.TempDir()
	call := mcCall(1)
	call.TTL = time.Hour
	do(t, openCache(t, dir), call, 1)
	es := list(t, openTier(t, dir, maintain.Options{}))
	if len(es) != 1 || es[0].Stale || es[0].TTL != time.Hour {
		t.Fatalf("fresh entry listed as %+v", es)
	}
	if es := list(t, openTier(t, dir, maintain.Options{Now: at(time.Now().Add(2 * time.Hour))})); !es[0].Stale {
		t.Fatal("an entry older than its TTL is not marked stale")
	}
}

// The arguments of a call are listed without the names the key adds,
// wherever those sort among them.
func TestListArgsLeaveOutWhatTheKeyAdds(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	none := cacheruntime.Call{Func: "example.com/sim.None", Version: 3}
	first := cacheruntime.Call{Func: "example.com/sim.First", Version: 1, Params: map[string]any{"A": 1, "z": 2}} // A sorts before __fn__
	do(t, c, none, 1)
	do(t, c, first, 1)
	args := map[string]string{}
	for _, e := range list(t, openTier(t, dir, maintain.Options{})) {
		args[e.Func] = string(e.Args)
	}
	if args[none.Func] != "{}" || args[first.Func] != `{"A": 1, "z": 2}` {
		t.Errorf("Args = %q", args)
	}
}

func TestFileInputsAreListedReadably(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(t.TempDir(), "spectrum.txt")
	os.WriteFile(path, []byte(strings.Repeat("line\n", 200)), 0o600)
	call := cacheruntime.Call{Func: "example.com/rt.LoadSpectrum", Version: 1, Params: map[string]any{"path": cacheruntime.File(path), "n": 3}}
	do(t, openCache(t, dir), call, 1)
	es := list(t, openTier(t, dir, maintain.Options{}))
	if len(es) != 1 {
		t.Fatalf("List: %v", es)
	}
	e := es[0]
	if len(e.Inputs) != 1 || e.Inputs[0].Path != path || e.Inputs[0].Size != 1000 || len(e.Inputs[0].SHA256) != 64 || e.Inputs[0].Dir {
		t.Fatalf("inputs %+v, want %s of 1000 bytes", e.Inputs, path)
	}
	want := `{"n": 3, "path": "` + path + ` (1000 B, sha256:` + e.Inputs[0].SHA256[:12] + `)"}`
	if string(e.Args) != want {
		t.Errorf("args %s\nwant %s", e.Args, want)
	}
	if !strings.Contains(string(e.Params), `{"__type__": "file", "sha256": "`+e.Inputs[0].SHA256+`", "size": 1000}`) {
		t.Errorf("params %s do not hold the file's digest", e.Params)
	}
}

// A directory input is listed with the files it held.
func TestDirInputsAreListedReadably(t *testing.T) {
	dir := t.TempDir()
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "a"), []byte("12345"), 0o600)
	os.WriteFile(filepath.Join(data, "b"), []byte("678"), 0o600)
	do(t, openCache(t, dir), cacheruntime.Call{Func: "example.com/rt.LoadAll", Version: 1, Params: map[string]any{"data": cacheruntime.Dir(data)}}, 1)
	es := list(t, openTier(t, dir, maintain.Options{}))
	if len(es) != 1 || len(es[0].Inputs) != 1 {
		t.Fatalf("List: %+v", es)
	}
	in := es[0].Inputs[0]
	if !in.Dir || in.Path != data || in.Files != 2 || in.Size != 8 {
		t.Fatalf("input %+v, want the directory %s of 2 files, 8 bytes", in, data)
	}
	want := data + " (2 files, 8 B, sha256:" + in.SHA256[:12] + ")"
	if in.String() != want || !strings.Contains(string(es[0].Args), want) {
		t.Errorf("input spelled %q, args %s; want %q", in.String(), es[0].Args, want)
	}
}

// With a signing key, List marks the entries the key does not verify.
func TestListMarksBadSignatures(t *testing.T) {
	dir := t.TempDir()
	key := []byte("a signing key of enough bytes")
	do(t, openCache(t, dir), mcCall(1), 1)                                   // unsigned
	do(t, openCache(t, dir, cacheruntime.WithSigningKey(key)), mcCall(2), 2) // signed
	bad := func(o maintain.Options) []string {
		t.Helper()
		var keys []string
		es := list(t, openTier(t, dir, o))
		if len(es) != 2 {
			t.Fatalf("List = %+v, want both entries", es)
		}
		for _, e := range es {
			if e.BadSignature {
				keys = append(keys, e.Key)
			}
		}
		return keys
	}
	if got := bad(maintain.Options{SigningKey: key}); !slices.Equal(got, []string{keyOf(t, mcCall(1))}) {
		t.Errorf("with the key: badly signed %v, want the unsigned entry alone", got)
	}
	if got := bad(maintain.Options{SigningKey: []byte("another key of enough bytes!")}); len(got) != 2 {
		t.Errorf("with another key: badly signed %v, want both", got)
	}
	if got := bad(maintain.Options{}); len(got) != 0 {
		t.Errorf("without a key: badly signed %v, want none", got)
	}
}

// Entries computed under a function's current version by code its current
// code does not serve are dead: marked given the current code, and removed
// by Prune with Dead. Accepted code's entries, and the entries of
// functions whose current code is not known, live on.
func TestDeadEntriesOfOtherCode(t *testing.T) {
	dir := t.TempDir()
	c := openCache(t, dir)
	tr := openTier(t, dir, maintain.Options{})
	store := func(call cacheruntime.Call, y int) string {
		t.Helper()
		call.Params = map[string]any{"y": y}
		do(t, c, call, mcResult{})
		return keyOf(t, call)
	}
	a := cacheruntime.Call{Func: "example.com/sim.Retrieve", Version: 1, Code: codeA}
	b := cacheruntime.Call{Func: "example.com/sim.Retrieve", Version: 1, Code: codeB}
	other := cacheruntime.Call{Func: "example.com/sim.Other", Version: 1, Code: codeA}
	a1, a2, b3, o1 := store(a, 1), store(a, 2), store(b, 3), store(other, 1)
	dead := func(current map[string]maintain.CurrentCode) []string {
		t.Helper()
		es := list(t, tr)
		maintain.MarkOtherCode(es, codeIn(current))
		var keys []string
		for _, e := range es {
			if e.OtherCode != e.Dead() || e.OldVersion {
				t.Errorf("%s: OtherCode %v, OldVersion %v, Dead %v", e.Key, e.OtherCode, e.OldVersion, e.Dead())
			}
			if e.Dead() {
				keys = append(keys, e.Key)
			}
		}
		slices.Sort(keys)
		return keys
	}
	want := []string{a1, a2}
	slices.Sort(want)
	if got := dead(nil); len(got) != 0 {
		t.Errorf("dead without the current code: %v, want none", got)
	}
	current := map[string]maintain.CurrentCode{"example.com/sim.Retrieve": {Version: 1, Codes: []string{codeB}}}
	if got := dead(current); !slices.Equal(got, want) {
		t.Errorf("dead: %v, want code A's %v (not B's %s, nor the other function's %s)", got, want, b3, o1)
	}
	current["example.com/sim.Retrieve"] = maintain.CurrentCode{Version: 1, Codes: []string{codeC, codeB}} // C accepts B
	if got := dead(current); !slices.Equal(got, want) {
		t.Errorf("current code C, which accepts B: dead %v, want %v", got, want)
	}
	current["example.com/sim.Retrieve"] = maintain.CurrentCode{Version: 1, Codes: []string{codeA}} // back on A's branch
	if got := dead(current); !slices.Equal(got, []string{b3}) {
		t.Errorf("back on code A: dead %v, want B's %s alone", got, b3)
	}
	current["example.com/sim.Retrieve"] = maintain.CurrentCode{Version: 1, Codes: []string{codeB}}
	removed, err := tr.Prune(ctx, maintain.PruneOptions{Dead: true, Current: codeIn(current)})
	if err != nil || len(removed) != 2 {
		t.Fatalf("Prune(Dead) removed %d entries (%v), want A's 2", len(removed), err)
	}
	if es := list(t, tr); len(es) != 2 {
		t.Errorf("%d entries left, want B's and the other function's", len(es))
	}
	// Another branch bumped the version and ran: back on version 1, its
	// entries are what the current code cannot load, not version 1's.
	v2 := store(cacheruntime.Call{Func: "example.com/sim.Retrieve", Version: 2, Code: codeC}, 1)
	es := list(t, tr)
	maintain.MarkOtherCode(es, codeIn(current))
	for _, e := range es {
		if e.Dead() != (e.Key == v2) || e.OtherCode != (e.Key == v2) {
			t.Errorf("back on version 1 after a branch's version 2: %s OldVersion %v OtherCode %v", e.Key, e.OldVersion, e.OtherCode)
		}
	}
	// The current code of version 2 finds version 1's entries old.
	current["example.com/sim.Retrieve"] = maintain.CurrentCode{Version: 2, Codes: []string{codeC}}
	es = list(t, tr)
	maintain.MarkOtherCode(es, codeIn(current))
	for _, e := range es {
		if e.Func == "example.com/sim.Retrieve" && e.OldVersion != (e.Key == b3) {
			t.Errorf("on version 2: %s OldVersion %v", e.Key, e.OldVersion)
		}
	}
	// Without the current code, a bump makes every entry of the older
	// version dead.
	removed, _ = tr.Prune(ctx, maintain.PruneOptions{Dead: true})
	if len(removed) != 1 || !removed[0].OldVersion || removed[0].Key != b3 {
		t.Errorf("Prune(Dead) after a bump removed %+v, want B's entry of version 1", removed)
	}
}

// codeIn looks the current code of a function up in m.
func codeIn(m map[string]maintain.CurrentCode) func(string) (maintain.CurrentCode, bool) {
	return func(fn string) (maintain.CurrentCode, bool) {
		c, ok := m[fn]
		return c, ok
	}
}

// Describe gives the stored result of an entry it checks as a load does:
// a missing, corrupt or badly signed entry is an error, not a description.
func TestDescribe(t *testing.T) {
	dir := t.TempDir()
	signKey := []byte("a signing key of enough bytes")
	do(t, openCache(t, dir, cacheruntime.WithSigningKey(signKey)), mcCall(1), mcResult{Precision: 0.125, Errors: []float64{1, 2, 3}})
	do(t, openCache(t, dir), mcCall(2), 2) // unsigned
	signed := keyOf(t, mcCall(1))
	tr := openTier(t, dir, maintain.Options{SigningKey: signKey})
	got, err := tr.Describe(ctx, signed)
	if err != nil || !strings.Contains(got, "Precision") || !strings.Contains(got, "0.125") {
		t.Errorf("Describe = %q, %v; want the stored result", got, err)
	}
	if _, err := tr.Describe(ctx, keyOf(t, mcCall(2))); !errors.Is(err, entry.ErrBadSignature) {
		t.Errorf("Describe of an unsigned entry with a signing key: %v, want a bad signature", err)
	}
	if _, err := tr.Describe(ctx, keyOf(t, mcCall(3))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Describe of a missing entry: %v, want fs.ErrNotExist", err)
	}
	if _, err := tr.Describe(ctx, "../../etc/passwd"); !errors.Is(err, maintain.ErrBadKey) {
		t.Errorf("Describe of a bad key: %v, want ErrBadKey", err)
	}
	data, _ := os.ReadFile(entryPath(dir, signed))
	data[len(data)-entry.MACSize-12] ^= 1
	os.WriteFile(entryPath(dir, signed), data, 0o600)
	if _, err := openTier(t, dir, maintain.Options{}).Describe(ctx, signed); !errors.Is(err, entry.ErrCorrupt) {
		t.Errorf("Describe of a corrupt entry: %v, want entry.ErrCorrupt", err)
	}
}
