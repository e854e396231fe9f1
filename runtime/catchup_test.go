package runtime

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/disk"
	"github.com/cachegen/cachegen/remote"
)

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited ten seconds for %s", what)
		}
	}
}

// A result stored while the remote was down is copied there at its next
// local hit, in a later process, once the remote answers; one the remote
// holds by then is left as it is.
func TestResultsComputedDuringAnOutageCatchUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newMemStore()
	s.fail = func(string) error { return errors.New("connection refused") }
	down, _ := openDir(t, dir, WithRemote(remote.New(s, "mem://test", remote.Options{})))
	for _, n := range []float64{1, 2} {
		Do(ctx, down, mcCall(n), (&counter{}).fn(want))
	}
	k1, k2 := keyOf(t, mcCall(1)), keyOf(t, mcCall(2))
	for _, k := range []string{k1, k2} {
		if _, err := os.Stat(filepath.Join(dir, disk.PendingDir, k)); err != nil {
			t.Fatalf("no pending record of %s: %v", k, err)
		}
	}
	// The remote is back; meanwhile another machine stored call 2.
	s.mu.Lock()
	s.fail = nil
	s.mu.Unlock()
	theirs := []byte("another machine's entry of call 2")
	s.set(k2, theirs)

	later, _ := openDir(t, dir, WithRemote(remote.New(s, "mem://test", remote.Options{})))
	for _, n := range []float64{1, 2} {
		var computed counter
		if got, _ := Do(ctx, later, mcCall(n), computed.fn(want)); computed.n.Load() != 0 || !equalResult(got, want) {
			t.Fatalf("call %v: not a local hit", n)
		}
	}
	waitFor(t, "the pending records to go", func() bool {
		names, _ := os.ReadDir(filepath.Join(dir, disk.PendingDir))
		return len(names) == 0
	})
	local, _ := os.ReadFile(filepath.Join(dir, k1[:2], k1+".entry"))
	if got := s.get(k1); !bytes.Equal(got, local) || len(local) == 0 {
		t.Errorf("the entry of call 1 was not copied to the remote (%d bytes there, %d here)", len(got), len(local))
	}
	if got := s.get(k2); !bytes.Equal(got, theirs) {
		t.Errorf("catching up replaced the entry another machine stored meanwhile")
	}
	// A third machine is served call 1 from the remote.
	third, _, _ := openTiered(t, s, remote.Options{})
	var computed counter
	Do(ctx, third, mcCall(1), computed.fn(want))
	if computed.n.Load() != 0 || third.Stats().RemoteHits != 1 {
		t.Errorf("the third machine computed %d, %+v: want a remote hit", computed.n.Load(), third.Stats())
	}
}

// Push copies every local entry the remote lacks, and none it holds.
func TestPushCopiesWhatTheRemoteLacks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	local, _ := openDir(t, dir)
	for _, n := range []float64{1, 2, 3} {
		Do(ctx, local, mcCall(n), (&counter{}).fn(want))
	}
	s := newMemStore()
	theirs := []byte("another machine's entry of call 3")
	s.set(keyOf(t, mcCall(3)), theirs)
	c, _ := openDir(t, dir)
	to := remote.New(s, "mem://test", remote.Options{})
	rep, err := tierOf(c).Push(ctx, to)
	if err != nil || rep.Pushed != 2 || rep.There != 1 || rep.Skipped != 0 || rep.Bytes == 0 {
		t.Fatalf("Push = %+v, %v; want 2 pushed, 1 there", rep, err)
	}
	if !bytes.Equal(s.get(keyOf(t, mcCall(3))), theirs) {
		t.Error("Push replaced an entry the remote held")
	}
	if rep, err := tierOf(c).Push(ctx, to); err != nil || rep.Pushed != 0 || rep.There != 3 {
		t.Errorf("a second Push = %+v, %v; want all there", rep, err)
	}
	if _, err := tierOf(c).Push(ctx, remote.New(s, "mem://test", remote.Options{ReadOnly: true})); err == nil {
		t.Error("Push to a read-only remote succeeded")
	}
}
