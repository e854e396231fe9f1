package ctl

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// storeWith stores the results of calls, in order, in the shared store at
// url, through a cache with opts.
func storeWith(t *testing.T, url string, calls []cacheruntime.Call, opts ...cacheruntime.Option) {
	t.Helper()
	r, err := remote.Open(context.Background(), url, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := cacheruntime.Open(t.TempDir(), append(opts, cacheruntime.WithRemote(r))...)
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range calls {
		if _, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil }); err != nil {
			t.Fatal(err)
		}
	}
}

// remoteKeysOf lists the keys of the shared store at url.
func remoteKeysOf(t *testing.T, url string) []string {
	t.Helper()
	out, errOut, code := ctlRun(t, "-remote", url, "ls", "-json")
	if code != 0 {
		t.Fatalf("ls -json: exit %d: %s", code, errOut)
	}
	return regexp.MustCompile(`"key":"([0-9a-f]{16})"`).FindAllString(out, -1)
}

// On a shared store, what prune -dead removes does not depend on who runs
// it: old versions only, never what other checkouts run, unless named
// with -func; and -dead, -old-versions and clear remove nothing without
// -yes, saying what they would.
func TestSharedStorePruneIsDeliberate(t *testing.T) {
	url := "file://" + t.TempDir()
	v1a, v1b := scoreCall(1, codeA, map[string]any{"x": 1}), scoreCall(1, codeA, map[string]any{"x": 2})
	v2 := scoreCall(2, codeB, map[string]any{"x": 1})
	storeWith(t, url, []cacheruntime.Call{v1a, v1b, v2})
	k1a, _ := v1a.Key()
	k1b, _ := v1b.Key()
	k2, _ := v2.Key()
	for _, checkout := range []int{1, 2} {
		// A version-1 checkout finds version 2 of other code; a version-2
		// one, version 1 old: -dead on a disk would remove both.
		if checkout == 1 {
			moduleRunningVersion(t, 1, codeA)
		} else {
			moduleRunningVersion(t, 2, codeB)
		}
		out, _, code := ctlRun(t, "-remote", url, "prune", "-dead")
		if code != 0 || !strings.Contains(out, "would remove 2 entries") || !strings.Contains(out, "would remove "+k1a) || !strings.Contains(out, "would remove "+k1b) ||
			!strings.Contains(out, "nothing removed") || !strings.Contains(out, "removes old versions only") || len(remoteKeysOf(t, url)) != 3 {
			t.Errorf("checkout of version %d: prune -dead without -yes: exit %d, want the two old entries named and none removed:\n%s", checkout, code, out)
		}
	}
	out, _, code := ctlRun(t, "-remote", url, "prune", "-old-versions")
	if code != 0 || !strings.Contains(out, "nothing removed") || len(remoteKeysOf(t, url)) != 3 {
		t.Errorf("prune -old-versions without -yes: exit %d\n%s", code, out)
	}
	moduleRunningVersion(t, 1, codeA)
	out, _, code = ctlRun(t, "-remote", url, "prune", "-dead", "-yes")
	if left := remoteKeysOf(t, url); code != 0 || !strings.Contains(out, "removed 2 entries") || len(left) != 1 || !strings.Contains(left[0], k2) {
		t.Errorf("prune -dead -yes from a version-1 checkout: exit %d, left %v; want version 2's entry kept\n%s", code, left, out)
	}
	out, _, code = ctlRun(t, "-remote", url, "prune", "-dead", "-func", "sim.Score", "-yes")
	if left := remoteKeysOf(t, url); code != 0 || !strings.Contains(out, "removed 1 entry") || len(left) != 0 {
		t.Errorf("prune -dead -func sim.Score -yes: exit %d, left %v; want the named function's other code removed\n%s", code, left, out)
	}
	// On a disk of one's own, -dead acts at once, by the checkout's code,
	// as before: version 2 is other code to a version-1 checkout.
	dir := dirWith(t, v1a, v2)
	if out, _, code := ctlRun(t, "-dir", dir, "prune", "-dead"); code != 0 || !strings.Contains(out, "removed "+k2) || !strings.Contains(out, "removed 1 entry") {
		t.Errorf("prune -dead on a local directory: exit %d\n%s", code, out)
	}
}

// cachectl checks entries' signatures with CACHEGEN_SIGNING_KEY or
// -signing-key-file, and marks those the key does not verify.
func TestCachectlVerifiesSignatures(t *testing.T) {
	t.Setenv("COLUMNS", "200")
	signedStore, plainStore := t.TempDir(), t.TempDir()
	team := []byte("the team's key, 32 bytes long!!!")
	good := scoreCall(1, codeA, map[string]any{"x": 1})
	planted := scoreCall(1, codeA, map[string]any{"x": 2})
	storeWith(t, "file://"+signedStore, []cacheruntime.Call{good}, cacheruntime.WithSigningKey(team))
	// An unsigned entry, put beside the signed one by someone without the key.
	storeWith(t, "file://"+plainStore, []cacheruntime.Call{planted})
	kg, _ := good.Key()
	kp, _ := planted.Key()
	from, _ := remote.Open(context.Background(), "file://"+plainStore, remote.Options{})
	to, _ := remote.Open(context.Background(), "file://"+signedStore, remote.Options{})
	data, err := from.Store().Get(context.Background(), kp)
	if err != nil || to.Store().Put(context.Background(), kp, data) != nil {
		t.Fatal(err)
	}
	url := "file://" + signedStore

	out, _, _ := ctlRun(t, "-remote", url, "ls")
	if strings.Contains(out, "signature") {
		t.Errorf("without a key, ls says something of signatures:\n%s", out)
	}
	t.Setenv("CACHEGEN_SIGNING_KEY", string(team))
	out, _, code := ctlRun(t, "-remote", url, "ls")
	if code != 0 || !regexp.MustCompile(`(?m)^`+kp+`\s+sim.Score\s+1 \(bad signature\)`).MatchString(out) || strings.Count(out, "(bad signature)") != 1 {
		t.Errorf("ls with the team's key: exit %d; want %s alone marked:\n%s", code, kp, out)
	}
	out, _, _ = ctlRun(t, "-remote", url, "-json", "ls")
	if !strings.Contains(out, `"key":"`+kp+`"`) || strings.Count(out, `"signature":"bad"`) != 1 || strings.Count(out, `"signature":"verified"`) != 1 {
		t.Errorf("ls -json with the team's key:\n%s", out)
	}
	if out, _, _ := ctlRun(t, "-remote", url, "show", kp); !strings.Contains(out, "signature: BAD: the signing key") {
		t.Errorf("show of the planted entry:\n%s", out)
	}
	if out, _, _ := ctlRun(t, "-remote", url, "show", kg); !strings.Contains(out, "signature: verified with the signing key") {
		t.Errorf("show of the team's entry:\n%s", out)
	}
	// Another key, from a file with a line end: both are bad to it.
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("another key, as long as the team's\n"), 0o600)
	out, _, _ = ctlRun(t, "-signing-key-file", keyFile, "-remote", url, "ls")
	if strings.Count(out, "(bad signature)") != 2 {
		t.Errorf("ls with another key: want both entries marked:\n%s", out)
	}
	// The key file's line end is not part of the key.
	os.WriteFile(keyFile, append(slices.Clone(team), '\n'), 0o600)
	if out, _, _ := ctlRun(t, "-signing-key-file", keyFile, "-remote", url, "ls"); strings.Count(out, "(bad signature)") != 1 {
		t.Errorf("ls with the team's key from a file:\n%s", out)
	}
	// A local directory is checked the same way.
	dir := t.TempDir()
	c, _ := cacheruntime.Open(dir)
	cacheruntime.Do(context.Background(), c, planted, func(context.Context) (int, error) { return 1, nil })
	if out, _, _ := ctlRun(t, "-dir", dir, "ls"); !strings.Contains(out, "(bad signature)") {
		t.Errorf("a local unsigned entry is not marked:\n%s", out)
	}
	t.Setenv("CACHEGEN_SIGNING_KEY", "short")
	if _, errOut, code := ctlRun(t, "-remote", url, "ls"); code != 2 || !strings.Contains(errOut, "at least 16") || strings.Contains(errOut, "short") {
		t.Errorf("a short key: exit %d, %q", code, errOut)
	}
}

// push copies to the remote the local entries it lacks (those computed
// while it was down), replacing none; with a key the remote's entries are
// not signed with, it pushes nothing and says why.
func TestPush(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	dir := dirWith(t, scoreCall(1, codeA, map[string]any{"x": 1}), scoreCall(1, codeA, map[string]any{"x": 2}))
	theirs := scoreCall(1, codeA, map[string]any{"x": 2})
	storeWith(t, url, []cacheruntime.Call{theirs})
	kt, _ := theirs.Key()
	r, _ := remote.Open(ctx, url, remote.Options{})
	before, _ := r.Store().Get(ctx, kt)

	out, errOut, code := ctlRun(t, "-dir", dir, "-remote", url, "push")
	if code != 0 || !strings.HasPrefix(out, "pushed 1 entry (") || !strings.Contains(out, "; 1 there already") || len(remoteKeysOf(t, url)) != 2 {
		t.Errorf("push: exit %d\n%s%s", code, out, errOut)
	}
	if after, _ := r.Store().Get(ctx, kt); string(after) != string(before) {
		t.Error("push replaced an entry the remote held")
	}
	t.Setenv("CACHEGEN_REMOTE", url)
	if out, _, code := ctlRun(t, "-dir", dir, "push"); code != 0 || !strings.HasPrefix(out, "pushed 0 entries (0 B) to "+url+"; 2 there already") {
		t.Errorf("push again, to CACHEGEN_REMOTE: exit %d\n%s", code, out)
	}
	// A store signed with the team's key takes nothing from a machine
	// without it.
	signed := "file://" + t.TempDir()
	storeWith(t, signed, []cacheruntime.Call{theirs}, cacheruntime.WithSigningKey([]byte("the team's key, 32 bytes long!!!")))
	if out, errOut, code := ctlRun(t, "-dir", dir, "-remote", signed, "push"); code != 1 || !strings.Contains(errOut, "the remote's entries are signed") || len(remoteKeysOf(t, signed)) != 1 {
		t.Errorf("push to a store signed with a key this machine lacks: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("CACHEGEN_REMOTE", "")
	if _, errOut, code := ctlRun(t, "-dir", dir, "push"); code != 2 || !strings.Contains(errOut, "give -remote URL, or set CACHEGEN_REMOTE") {
		t.Errorf("push with no remote: exit %d, %q", code, errOut)
	}
}
