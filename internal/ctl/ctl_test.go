package ctl

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/maintain"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/fingerprint"
	"github.com/cachegen/cachegen/internal/testredis"
	"github.com/cachegen/cachegen/internal/units"
	"github.com/cachegen/cachegen/remote"
	"github.com/cachegen/cachegen/remote/file"
	_ "github.com/cachegen/cachegen/remote/redis" // as cmd/cachectl links it
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// exampleCache is a cache made by the generated wrappers of examples/:
// two montecarlo entries and one retrieval entry.
var exampleCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cachectl")
	if err != nil {
		panic(err)
	}
	exampleCache = filepath.Join(dir, "cache")
	// Two RunMonteCarlo entries and one Retriever.Fit.
	// The two at once: each builds a program, and montecarlo computes for
	// seconds.
	var wg sync.WaitGroup
	for _, ex := range [][]string{{"../../examples/retrieval"}, {"../../examples/montecarlo", "-sweep=false"}} {
		wg.Go(func() {
			cmd := exec.Command("go", append([]string{"run"}, ex...)...)
			cmd.Env = append(os.Environ(), "CACHEGEN_DIR="+exampleCache)
			if out, err := cmd.CombinedOutput(); err != nil {
				panic(string(out))
			}
		})
	}
	wg.Wait()
	// The two ran at once, so the order their entries were used in is
	// not the same on every run: make it so, the Retriever.Fit entry used
	// an hour before the others (as a size limit evicts it first).
	var out bytes.Buffer
	if Run([]string{"-dir", exampleCache, "ls", "-json"}, &out, io.Discard) != 0 {
		panic("ls -json of the example cache failed")
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e jsonEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			panic(err)
		}
		used := time.Now()
		if strings.Contains(e.Func, "retrieval") {
			used = used.Add(-time.Hour)
		}
		if err := os.Chtimes(filepath.Join(exampleCache, e.Key[:2], e.Key+".entry"), used, used); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// copyCache returns a private copy of the example cache.
func copyCache(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "cache")
	if out, err := exec.Command("cp", "-a", exampleCache, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return dst
}

func ctlRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Run(args, &o, &e)
	return o.String(), e.String(), code
}

func keys(t *testing.T, dir string) []string {
	t.Helper()
	out, _, code := ctlRun(t, "-dir", dir, "ls", "-json")
	if code != 0 {
		t.Fatalf("ls -json exit %d", code)
	}
	var ks []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e jsonEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("ls -json line %q: %v", sc.Text(), err)
		}
		ks = append(ks, e.Key)
	}
	return ks
}

func TestLs(t *testing.T) {
	t.Setenv("COLUMNS", "200")
	out, _, code := ctlRun(t, "-dir", exampleCache, "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 {
		t.Fatalf("exit %d, %d lines:\n%s", code, len(lines), out)
	}
	header := regexp.MustCompile(`^KEY +FUNC +VERSION +COMPUTED +TOOK +SIZE +PARAMS$`)
	row := regexp.MustCompile(`^[0-9a-f]{16}  +(montecarlo\.RunMonteCarlo|retrieval\.Retriever\.Fit) +1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +[0-9.]+m?s +[0-9.]+ (B|KiB|MiB) +\{.*(\}|…)$`)
	if !header.MatchString(lines[0]) {
		t.Errorf("header %q", lines[0])
	}
	for _, l := range lines[1:] {
		if !row.MatchString(l) {
			t.Errorf("row %q", l)
		}
	}
	if !strings.Contains(out, `{"nScenes": 1000, "seed": 42, "snr": 500.0}`) {
		t.Errorf("PARAMS should show the arguments without __fn__ and __version__:\n%s", out)
	}
	// Columns line up: PARAMS starts at the same offset on every line.
	at := strings.Index(lines[0], "PARAMS")
	for _, l := range lines[1:] {
		if l[at] != '{' {
			t.Errorf("PARAMS column not aligned in %q", l)
		}
	}
}

func TestLsCutsParamsToTheTerminal(t *testing.T) {
	t.Setenv("COLUMNS", "40")
	out, _, _ := ctlRun(t, "-dir", exampleCache, "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	at := strings.Index(lines[0], "PARAMS")
	for _, l := range lines[1:] {
		cell := []rune(l[at:])
		if len(cell) != minParams || cell[len(cell)-1] != '…' {
			t.Errorf("at COLUMNS=40 (narrower than the other columns) PARAMS should be cut to %d columns ending in an ellipsis: %q", minParams, string(cell))
		}
	}
	t.Setenv("COLUMNS", "180")
	out, _, _ = ctlRun(t, "-dir", exampleCache, "ls")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if n := len([]rune(l)); n > 180 {
			t.Errorf("line of %d columns at COLUMNS=180: %q", n, l)
		}
	}
}

func TestLsFuncAndSortAndJSON(t *testing.T) {
	out, _, _ := ctlRun(t, "-dir", exampleCache, "-json", "ls", "-func", "retrieval.*")
	var e jsonEntry
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Func != "github.com/cachegen/cachegen/examples/retrieval.Retriever.Fit" || e.Version != 1 || e.Size == 0 {
		t.Fatalf("ls -func glob: %q (%v)", out, err)
	}
	out, _, _ = ctlRun(t, "-dir", exampleCache, "ls", "-json", "-func", "RunMonteCarlo")
	if n := strings.Count(out, "\n"); n != 2 {
		t.Fatalf("substring pattern matched %d entries, want 2", n)
	}
	out, _, _ = ctlRun(t, "-dir", exampleCache, "ls", "-sort", "size")
	lines := strings.Split(out, "\n")
	if !strings.Contains(lines[1], "retrieval") {
		t.Errorf("-sort size should list the largest (retrieval) entry first:\n%s", out)
	}
	out, _, _ = ctlRun(t, "-dir", exampleCache, "ls", "-sort", "duration")
	if !strings.Contains(strings.Split(out, "\n")[3], "retrieval") {
		t.Errorf("-sort duration should list the quickest (retrieval) entry last:\n%s", out)
	}
}

func TestShow(t *testing.T) {
	ks := keys(t, exampleCache)
	out, _, code := ctlRun(t, "-dir", exampleCache, "show", ks[0])
	// The examples' wrappers record the code that computed each entry.
	if !regexp.MustCompile(`(?m)^code:      [0-9a-f]{16}$`).MatchString(out) {
		t.Errorf("show lacks the fingerprint of the code that computed the entry:\n%s", out)
	}
	for _, want := range []string{"key:       " + ks[0], "func:      github.com/cachegen/cachegen/examples/", "version:   1", "took:", "params:    {\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	// The stored result, its numeric slice summarised.
	for _, k := range ks {
		out, _, _ := ctlRun(t, "-dir", exampleCache, "show", k)
		if !strings.Contains(out, "montecarlo") {
			continue
		}
		for _, want := range []string{"result:    {\n", `"Precision": 0.000`, `"Errors": []float64, 1000 elements: [`} {
			if !strings.Contains(out, want) {
				t.Errorf("show lacks %q:\n%s", want, out)
			}
		}
		out, _, _ = ctlRun(t, "-dir", exampleCache, "-json", "show", k)
		var j jsonEntry
		if json.Unmarshal([]byte(out), &j) != nil || !strings.Contains(j.Result, `"Errors": []float64, 1000 elements`) {
			t.Errorf("show -json lacks the result:\n%s", out)
		}
	}
	_, errOut, code := ctlRun(t, "-dir", exampleCache, "show", "0123456789abcdef")
	if code != 1 || !strings.Contains(errOut, "no entry with key 0123456789abcdef") {
		t.Errorf("show of an absent key: exit %d, %q", code, errOut)
	}
}

func TestStats(t *testing.T) {
	out, _, code := ctlRun(t, "-dir", exampleCache, "stats")
	for _, want := range []string{`entries: 3\n`, `oldest: `, `newest: `, `examples/montecarlo\.RunMonteCarlo +2 +\d+\.\d KiB`, `examples/retrieval\.Retriever\.Fit +1 +\d+\.\d KiB`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	// The totals are the sums of what ls reports.
	js, _, _ := ctlRun(t, "-dir", exampleCache, "-json", "stats")
	var st struct {
		Entries int   `json:"entries"`
		Bytes   int64 `json:"bytes"`
	}
	json.Unmarshal([]byte(js), &st)
	ls, _, _ := ctlRun(t, "-dir", exampleCache, "-json", "ls")
	var sum int64
	for _, line := range strings.Split(strings.TrimSpace(ls), "\n") {
		var e jsonEntry
		json.Unmarshal([]byte(line), &e)
		sum += e.Size
	}
	if st.Entries != 3 || st.Bytes != sum || sum == 0 {
		t.Errorf("stats -json says %d entries of %d bytes; ls lists 3 of %d", st.Entries, st.Bytes, sum)
	}
}

// keysOf returns the keys of the entries in dir of functions whose names
// contain fn.
func keysOf(t *testing.T, dir, fn string) []string {
	t.Helper()
	out, _, code := ctlRun(t, "-dir", dir, "ls", "-json", "-func", fn)
	if code != 0 {
		t.Fatalf("ls -json -func %s: exit %d", fn, code)
	}
	var ks []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e jsonEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("ls -json line %q: %v", line, err)
		}
		ks = append(ks, e.Key)
	}
	return ks
}

func TestRmAndClear(t *testing.T) {
	dir := copyCache(t)
	ks := keysOf(t, dir, "montecarlo")
	if len(ks) != 2 {
		t.Fatalf("%d montecarlo entries in the example cache, want 2", len(ks))
	}
	out, _, code := ctlRun(t, "-dir", dir, "rm", ks[0])
	if code != 0 || !strings.HasPrefix(out, "removed 1 entry (") || len(keys(t, dir)) != 2 {
		t.Fatalf("rm: exit %d, %q", code, out)
	}
	out, _, _ = ctlRun(t, "-dir", dir, "clear", "-func", "retrieval")
	if left := keys(t, dir); !strings.HasPrefix(out, "removed 1 entry") || len(left) != 1 {
		t.Fatalf("clear -func: %q, %d left", out, len(left))
	}
	out, _, _ = ctlRun(t, "-dir", dir, "clear")
	if !strings.HasPrefix(out, "removed 1 entry") || len(keys(t, dir)) != 0 {
		t.Fatalf("clear: %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Error("clear removed the cache's README")
	}
}

func TestPrune(t *testing.T) {
	dir := copyCache(t)
	out, _, _ := ctlRun(t, "-dir", dir, "prune", "-max-size", "30KB", "-dry-run")
	if !strings.Contains(out, "would remove 1 entry") || len(keys(t, dir)) != 3 {
		t.Fatalf("dry run: %q", out)
	}
	out, _, _ = ctlRun(t, "-dir", dir, "prune", "-max-size", "30KB")
	if !strings.Contains(out, "removed 1 entry") || !strings.Contains(out, "retrieval") || len(keys(t, dir)) != 2 {
		t.Fatalf("prune -max-size: %q", out)
	}
	out, _, _ = ctlRun(t, "-dir", dir, "prune", "-older-than", "1d")
	if !strings.Contains(out, "removed 0 entries") {
		t.Fatalf("prune -older-than 1d removed fresh entries: %q", out)
	}
	// Age the entries' last use by two days.
	old := time.Now().Add(-48 * time.Hour)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if strings.HasSuffix(p, ".entry") {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	out, _, _ = ctlRun(t, "-dir", dir, "prune", "-unused-for", "36h")
	if !strings.Contains(out, "removed 2 entries") || len(keys(t, dir)) != 0 {
		t.Fatalf("prune -unused-for: %q", out)
	}
}

func TestVerify(t *testing.T) {
	dir := copyCache(t)
	out, _, code := ctlRun(t, "-dir", dir, "verify")
	if code != 0 || out != "checked 3 entries: all intact\n" {
		t.Fatalf("verify of a good cache: exit %d, %q", code, out)
	}
	k := keys(t, dir)[0]
	path := filepath.Join(dir, k[:2], k+".entry")
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0xff
	os.WriteFile(path, data, 0o600)
	out, errOut, code := ctlRun(t, "-dir", dir, "verify")
	if code != 1 || !strings.Contains(out, path+": corrupt cache entry") || !strings.Contains(errOut, "run cachectl verify -fix") {
		t.Fatalf("verify of a flipped entry: exit %d, %q, %q", code, out, errOut)
	}
	out, _, code = ctlRun(t, "-dir", dir, "verify", "-fix")
	if code != 0 || !strings.Contains(out, "checked 3 entries: removed 1 bad file\n") || len(keys(t, dir)) != 2 {
		t.Fatalf("verify -fix: exit %d, %q", code, out)
	}
}

func TestBadInput(t *testing.T) {
	notCache := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-dir", exampleCache}, "no command"},
		{[]string{"-dir", exampleCache, "list"}, `unknown command "list"`},
		{[]string{"-dir", exampleCache, "-verbose", "ls"}, "flag provided but not defined: -verbose"},
		{[]string{"-dir", exampleCache, "ls", "-all"}, "ls: flag provided but not defined: -all"},
		{[]string{"-dir", exampleCache, "ls", "-sort", "name"}, `-sort "name": want time, size, duration or func`},
		{[]string{"-dir", exampleCache, "show", "../../etc/passwd"}, `malformed key "../../etc/passwd"`},
		{[]string{"-dir", exampleCache, "rm", "C66F1DE772E87E1F"}, `malformed key "C66F1DE772E87E1F"`},
		{[]string{"-dir", exampleCache, "prune", "-max-size", "lots"}, `-max-size "lots": want a positive size`},
		{[]string{"-dir", exampleCache, "prune", "-older-than", "soon"}, `-older-than "soon" is not a positive duration`},
		{[]string{"-dir", exampleCache, "prune"}, "prune needs -max-size, -older-than, -unused-for, -old-versions or -dead"},
		{[]string{"-dir", filepath.Join(notCache, "missing"), "ls"}, "does not exist"},
		{[]string{"-dir", notCache, "ls"}, "is not a cachegen cache"},
	}
	for _, c := range cases {
		out, errOut, code := ctlRun(t, c.args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("cachectl %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", strings.Join(c.args, " "), code, out, errOut, c.want)
		}
	}
}

func TestDefaultDirFromEnvironment(t *testing.T) {
	t.Setenv("CACHEGEN_DIR", exampleCache)
	out, _, code := ctlRun(t, "stats")
	if code != 0 || !strings.Contains(out, "dir:     "+exampleCache) {
		t.Fatalf("exit %d: %q", code, out)
	}
}

func TestLsMarksStaleEntries(t *testing.T) {
	dir := copyCache(t)
	c, err := cacheruntime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	call := cacheruntime.Call{Func: "example.com/sim.Quick", Version: 1, Params: map[string]any{"x": 1}, TTL: time.Millisecond}
	cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil })
	time.Sleep(5 * time.Millisecond)
	out, _, _ := ctlRun(t, "-dir", dir, "ls", "-func", "Quick")
	if !strings.Contains(out, "(stale)") {
		t.Fatalf("an entry past its ttl is not marked stale:\n%s", out)
	}
	out, _, _ = ctlRun(t, "-dir", dir, "ls", "-func", "RunMonteCarlo")
	if strings.Contains(out, "(stale)") {
		t.Fatalf("entries without a ttl are marked stale:\n%s", out)
	}
}

// fillRemote stores three results in the remote store at url: two of
// Simulate, one of Retrieve.
func fillRemote(t *testing.T, url string) {
	t.Helper()
	r, err := remote.Open(context.Background(), url, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := cacheruntime.Open(t.TempDir(), cacheruntime.WithRemote(r))
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []cacheruntime.Call{
		{Func: "example.com/sim.Simulate", Version: 1, Params: map[string]any{"n": 1}},
		{Func: "example.com/sim.Simulate", Version: 1, Params: map[string]any{"n": 2}},
		{Func: "example.com/ret.Retrieve", Version: 3, Params: map[string]any{"scene": "a"}},
	} {
		if _, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) ([]float64, error) {
			return make([]float64, 100), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.RemoteErrors != 0 {
		t.Fatalf("filling the remote: %+v", st)
	}
}

func TestRemote(t *testing.T) {
	for _, kind := range []string{"file", "redis"} {
		t.Run(kind, func(t *testing.T) {
			url := "file://" + t.TempDir()
			if kind == "redis" {
				url = testredis.Start(t).URL
			}
			fillRemote(t, url)
			remoteEntries := func() []jsonEntry {
				out, errOut, code := ctlRun(t, "-remote", url, "-json", "ls")
				if code != 0 {
					t.Fatalf("ls -json: exit %d: %s", code, errOut)
				}
				var es []jsonEntry
				for line := range strings.Lines(out) {
					var e jsonEntry
					if err := json.Unmarshal([]byte(line), &e); err != nil {
						t.Fatal(err)
					}
					es = append(es, e)
				}
				return es
			}
			remoteKeys := func() []string {
				var ks []string
				for _, e := range remoteEntries() {
					ks = append(ks, e.Key)
				}
				return ks
			}

			out, errOut, code := ctlRun(t, "-remote", url, "ls")
			if code != 0 || strings.Count(out, "sim.Simulate") != 2 || strings.Count(out, "ret.Retrieve") != 1 || !strings.Contains(out, `"n": 2`) {
				t.Fatalf("ls: exit %d\n%s%s", code, out, errOut)
			}
			out, _, code = ctlRun(t, "-remote", url, "-json", "stats")
			var st struct {
				Remote  string
				Entries int
				Funcs   []struct{ Func string }
			}
			if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Entries != 3 || st.Remote != url || len(st.Funcs) != 2 {
				t.Errorf("stats -json: exit %d, %+v (%v)\n%s", code, st, err, out)
			}
			out, _, code = ctlRun(t, "-remote", url, "stats")
			if code != 0 || !strings.Contains(out, "remote:  "+url) || !strings.Contains(out, "entries: 3") {
				t.Errorf("stats: exit %d\n%s", code, out)
			}

			// Remove one Simulate entry.
			var sim string
			for _, e := range remoteEntries() {
				if e.Func == "example.com/sim.Simulate" {
					sim = e.Key
				}
			}
			if out, errOut, code := ctlRun(t, "-remote", url, "show", sim); code != 0 || !strings.Contains(out, "func:      example.com/sim.Simulate") ||
				!strings.Contains(out, "result:    []float64, 100 elements: [0, 0, 0, 0, 0, …]") {
				t.Errorf("show: exit %d\n%s%s", code, out, errOut)
			}
			if out, errOut, code := ctlRun(t, "-remote", url, "rm", sim); code != 0 || !strings.Contains(out, "removed 1 entry") {
				t.Errorf("rm: exit %d\n%s%s", code, out, errOut)
			}
			if left := remoteKeys(); len(left) != 2 || slices.Contains(left, sim) {
				t.Errorf("after rm %s: %v", sim, left)
			}
			if out, _, code := ctlRun(t, "-remote", url, "prune", "-max-size", "1B", "-dry-run"); code != 0 || !strings.Contains(out, "would remove 2 entries") || len(remoteKeys()) != 2 {
				t.Errorf("prune -dry-run: exit %d\n%s", code, out)
			}
			if out, _, code := ctlRun(t, "-remote", url, "prune", "-older-than", "1h"); code != 0 || !strings.Contains(out, "removed 0 entries") {
				t.Errorf("prune -older-than 1h: exit %d\n%s", code, out)
			}
			if out, _, code := ctlRun(t, "-remote", url, "clear", "-func", "Retrieve"); code != 0 || !strings.Contains(out, "would remove 1 entry") ||
				!strings.Contains(out, "nothing removed") || len(remoteKeys()) != 2 {
				t.Errorf("clear -func without -yes: exit %d, %d entries left\n%s", code, len(remoteKeys()), out)
			}
			if out, _, code := ctlRun(t, "-remote", url, "clear", "-func", "Retrieve", "-yes"); code != 0 || !strings.Contains(out, "removed 1 entry") || len(remoteKeys()) != 1 {
				t.Errorf("clear -func: exit %d\n%s", code, out)
			}
			if out, _, code := ctlRun(t, "-remote", url, "prune", "-max-size", "1B"); code != 0 || !strings.Contains(out, "removed 1 entry") || len(remoteKeys()) != 0 {
				t.Errorf("prune -max-size: exit %d\n%s", code, out)
			}
			fillRemote(t, url)
			if out, _, code := ctlRun(t, "-remote", url, "clear"); code != 0 || !strings.Contains(out, "would remove 3 entries") || len(remoteKeys()) != 3 {
				t.Errorf("clear without -yes: exit %d\n%s", code, out)
			}
			if out, _, code := ctlRun(t, "-remote", url, "clear", "-yes"); code != 0 || !strings.Contains(out, "removed 3 entries") || len(remoteKeys()) != 0 {
				t.Errorf("clear: exit %d\n%s", code, out)
			}
		})
	}
}

func TestRemoteBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-remote", "file://" + t.TempDir(), "verify"}, "verify checks a local directory"},
		{[]string{"-remote", "file:///x", "-dir", t.TempDir(), "ls"}, "-dir and -remote name two caches"},
		{[]string{"-remote", "nosuch://u:hunter2hunter2@h/b", "ls"}, "-remote:"},
		{[]string{"-remote", "redis://u:hunter2hunter2@h:port/0", "ls"}, "-remote:"},
		{[]string{"-remote", "%zz", "ls"}, "is not a URL"},
	} {
		_, errOut, code := ctlRun(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "hunter2") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("cachectl %v: exit %d, %q; want exit 2 and one line with %q and no password", tc.args, code, errOut, tc.want)
		}
		// The command names itself once; the library's errors do not.
		if strings.Count(errOut, "cachectl:") != 1 || strings.Contains(errOut, "cachegen:") {
			t.Errorf("cachectl %v: %q: want one cachectl: prefix and no other", tc.args, errOut)
		}
	}
}

// TestRemoteDirMustBeACache checks that -remote file:// names an existing
// cache, as -dir does, and that cachectl never makes the directory.
func TestRemoteDirMustBeACache(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nonexist")
	plain := t.TempDir()
	for _, dir := range []string{missing, plain} {
		_, errOut, code := ctlRun(t, "-remote", "file://"+dir, "ls")
		if code != 2 || !strings.Contains(errOut, dir) {
			t.Errorf("ls on %s: exit %d, %q; want a usage error naming it", dir, code, errOut)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("ls made the missing directory")
	}
	if entries, _ := os.ReadDir(plain); len(entries) != 0 {
		t.Errorf("ls wrote into a directory that is no cache: %v", entries)
	}
}

// TestRedisEmptyPrefixNeedsForce checks that clear and prune refuse a
// Redis remote whose prefix is empty, unless given -force.
func TestRedisEmptyPrefixNeedsForce(t *testing.T) {
	url := testredis.Start(t).URL + "?prefix="
	fillRemote(t, url)
	for _, cmd := range [][]string{{"clear"}, {"prune", "-max-size", "1B"}} {
		if _, errOut, code := ctlRun(t, append([]string{"-remote", url}, cmd...)...); code != 2 || !strings.Contains(errOut, "-force") {
			t.Errorf("%v: exit %d, %q; want a refusal naming -force", cmd, code, errOut)
		}
	}
	if out, errOut, code := ctlRun(t, "-remote", url, "clear", "-force", "-yes"); code != 0 || !strings.Contains(out, "removed 3 entries") {
		t.Errorf("clear -force: exit %d\n%s%s", code, out, errOut)
	}
}

// TestLongArgumentsAreCut checks that a 100 kB argument is not echoed
// whole, wherever it goes.
func TestLongArgumentsAreCut(t *testing.T) {
	long := strings.Repeat("f", 100_000)
	for _, args := range [][]string{
		{"-dir", exampleCache, "rm", long},
		{"-dir", exampleCache, long},
		{"-dir", long, "ls"},
		{"-remote", "redis://" + long, "ls"},
	} {
		_, errOut, code := ctlRun(t, args...)
		if code == 0 || len(errOut) > 400 {
			t.Errorf("cachectl with a 100 kB argument: exit %d, a message of %d bytes", code, len(errOut))
		}
	}
}

// A file input is shown as its path, size and short digest; clear removes
// the memo of file digests with the entries.
func TestFileInputs(t *testing.T) {
	t.Setenv("COLUMNS", "400")
	dir := filepath.Join(t.TempDir(), "cache")
	table := filepath.Join(t.TempDir(), "lines.par")
	if err := os.WriteFile(table, []byte("2346.5 0.02\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := cacheruntime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	call := cacheruntime.Call{Func: "example.com/rt.Transmittance", Version: 1,
		Params: map[string]any{"table": cacheruntime.File(table), "path": 50.0}}
	if _, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) (float64, error) { return 0.85, nil }); err != nil {
		t.Fatal(err)
	}
	key, err := call.Key()
	if err != nil {
		t.Fatal(err)
	}

	out, _, code := ctlRun(t, "-dir", dir, "-json", "show", key)
	var e jsonEntry
	if code != 0 || json.Unmarshal([]byte(out), &e) != nil || len(e.Inputs) != 1 {
		t.Fatalf("show -json: exit %d\n%s", code, out)
	}
	in := e.Inputs[0]
	if in.Path != table || in.Size != 12 || len(in.SHA256) != 64 {
		t.Fatalf("show -json input %+v, want %s of 12 bytes", in, table)
	}
	readable := table + " (12 B, sha256:" + in.SHA256[:12] + ")"
	if out, _, code := ctlRun(t, "-dir", dir, "ls"); code != 0 || !strings.Contains(out, `"table": "`+readable+`"`) {
		t.Errorf("ls: exit %d, want the input as %q:\n%s", code, readable, out)
	}
	if out, _, code := ctlRun(t, "-dir", dir, "show", key); code != 0 || !strings.Contains(out, "inputs:    "+readable+"\n") {
		t.Errorf("show: exit %d, want the input listed as %q:\n%s", code, readable, out)
	}

	if _, err := os.Stat(filepath.Join(dir, "memo")); err != nil {
		t.Fatalf("no memo of the table's digest: %v", err)
	}
	if _, _, code := ctlRun(t, "-dir", dir, "clear"); code != 0 {
		t.Fatalf("clear: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "memo")); !os.IsNotExist(err) {
		t.Errorf("clear left the memo: %v", err)
	}
}

// Help, at the top level and for every command, lists every flag and
// exits 0, needing no cache.
func TestHelp(t *testing.T) {
	t.Setenv("CACHEGEN_DIR", filepath.Join(t.TempDir(), "none"))
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"-dir", "/nonexistent", "-h"}} {
		out, errOut, code := ctlRun(t, args...)
		if code != 0 || errOut != "" {
			t.Errorf("cachectl %v: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"-dir", "-remote", "-json", "ls ", "show KEY", "why FUNC|KEY", "stats", "rm KEY...", "clear ", "prune ", "verify ", "-old-versions", "-dead"} {
			if !strings.Contains(out, want) {
				t.Errorf("cachectl %v lacks %q:\n%s", args, want, out)
			}
		}
	}
	flags := map[string][]string{
		"ls":     {"-func", "-sort", "-wide", "-json"},
		"show":   {"-json"},
		"why":    {"-json"},
		"stats":  {"-json", "-totals", "-recount"},
		"rm":     {},
		"clear":  {"-func", "-force", "-yes"},
		"prune":  {"-max-size", "-older-than", "-unused-for", "-old-versions", "-dead", "-func", "-dry-run", "-yes", "-force"},
		"verify": {"-fix"},
		"push":   {},
	}
	if len(flags) != len(commands) {
		t.Fatalf("the test knows %d commands, cachectl has %d", len(flags), len(commands))
	}
	for cmd, want := range flags {
		for _, args := range [][]string{{cmd, "-h"}, {cmd, "--help"}, {"help", cmd}} {
			out, errOut, code := ctlRun(t, args...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: cachectl [-dir DIR | -remote URL] "+cmd) {
				t.Errorf("cachectl %v: exit %d, stderr %q, stdout:\n%s", args, code, errOut, out)
			}
			for _, f := range want {
				if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
					t.Errorf("cachectl %v does not list %s:\n%s", args, f, out)
				}
			}
			// Every flag listed is one the test knows.
			if listed := regexp.MustCompile(`(?m)^  (-[a-z-]+)`).FindAllStringSubmatch(out, -1); len(listed) != len(want) {
				t.Errorf("cachectl %v lists %d flags, want %v:\n%s", args, len(listed), want, out)
			}
		}
	}
	for _, args := range [][]string{{"help", "nosuch"}, {"help", "ls", "show"}, {"-json", "rm", "0123456789abcdef"}} {
		if _, errOut, code := ctlRun(t, args...); code != 2 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("cachectl %v: exit %d, %q; want a one-line usage error", args, code, errOut)
		}
	}
}

// Entries of a function that has entries of a higher version are marked,
// counted, and pruned on request.
func TestOldVersions(t *testing.T) {
	t.Setenv("COLUMNS", "200")
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := cacheruntime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var oldKey string
	for v := 1; v <= 2; v++ {
		call := cacheruntime.Call{Func: "example.com/sim.Score", Version: v, Params: map[string]any{"x": 1}}
		if _, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) { return v, nil }); err != nil {
			t.Fatal(err)
		}
		if v == 1 {
			oldKey, _ = call.Key()
		}
	}
	out, _, _ := ctlRun(t, "-dir", dir, "ls")
	if !regexp.MustCompile(`(?m)^`+oldKey+`\s+sim.Score\s+1 \(old\)`).MatchString(out) || strings.Count(out, "(old)") != 1 {
		t.Errorf("ls does not mark the old version alone:\n%s", out)
	}
	out, _, _ = ctlRun(t, "-dir", dir, "ls", "-json")
	if strings.Count(out, `"old_version":true`) != 1 || !strings.Contains(out, `"key":"`+oldKey+`"`) {
		t.Errorf("ls -json does not mark the old version:\n%s", out)
	}
	if out, _, _ := ctlRun(t, "-dir", dir, "stats"); !strings.Contains(out, "old versions: 1 entry, ") {
		t.Errorf("stats does not count the old version:\n%s", out)
	}
	if out, _, _ := ctlRun(t, "-dir", dir, "show", oldKey); !strings.Contains(out, "version:   1 (an old version") {
		t.Errorf("show does not say the version is old:\n%s", out)
	}
	out, _, code := ctlRun(t, "-dir", dir, "prune", "-old-versions", "-dry-run")
	if code != 0 || !strings.Contains(out, "would remove "+oldKey) || len(keys(t, dir)) != 2 {
		t.Errorf("prune -old-versions -dry-run: exit %d\n%s", code, out)
	}
	out, _, code = ctlRun(t, "-dir", dir, "prune", "-old-versions")
	if ks := keys(t, dir); code != 0 || !strings.Contains(out, "removed 1 entry") || len(ks) != 1 || ks[0] == oldKey {
		t.Errorf("prune -old-versions: exit %d, left %v\n%s", code, ks, out)
	}
}

func TestRemoteThatDoesNotAnswer(t *testing.T) {
	out, errOut, code := ctlRun(t, "-remote", "redis://127.0.0.1:1/0", "ls")
	if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "does not answer") {
		t.Errorf("exit %d, stdout %q, stderr %q: want exit 2 and one line", code, out, errOut)
	}
}

// A server that answers and refuses the password is not said not to
// answer, and the password is not shown.
func TestRemoteThatRefusesTheCredentials(t *testing.T) {
	srv := testredis.Start(t, "--requirepass", "the-right-password")
	wrong := strings.Replace(srv.URL, "redis://", "redis://:hunter2hunter2@", 1)
	out, errOut, code := ctlRun(t, "-remote", wrong, "ls")
	if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "refused the credentials") ||
		strings.Contains(errOut, "does not answer") || strings.Contains(errOut, "hunter2") {
		t.Errorf("exit %d, stdout %q, stderr %q: want exit 2 and one line saying the credentials were refused", code, out, errOut)
	}
	right := strings.Replace(srv.URL, "redis://", "redis://:the-right-password@", 1)
	if _, errOut, code := ctlRun(t, "-remote", right, "ls"); code != 0 {
		t.Errorf("with the right password: exit %d, stderr %q", code, errOut)
	}
}

// stats -totals prints the totals from the records a cache keeps, and
// -recount repairs them.
func TestStatsTotals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := cacheruntime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var key string
	for i := range 3 {
		call := cacheruntime.Call{Func: "example.com/sim.Score", Version: 1, Params: map[string]any{"x": i}}
		if _, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
		key, _ = call.Key()
	}
	tier, err := maintain.Open(dir, maintain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := tier.Usage()
	want := fmt.Sprintf("entries: 3\nsize:    %s\n", units.FormatSize(u.Bytes))
	if out, errOut, code := ctlRun(t, "-dir", dir, "stats", "-totals"); code != 0 || !strings.HasSuffix(out, want) {
		t.Errorf("stats -totals: exit %d, %q\n%s; want it to end %q", code, errOut, out, want)
	}
	// An entry no record counts, as a killed writer leaves it.
	data, err := os.ReadFile(filepath.Join(dir, key[:2], key+".entry"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, key[:2], key[:2]+"00000000000000.entry"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := ctlRun(t, "-dir", dir, "stats", "-totals"); !strings.Contains(out, "entries: 3\n") {
		t.Errorf("stats -totals read more than the records:\n%s", out)
	}
	if out, _, code := ctlRun(t, "-dir", dir, "stats", "-recount"); code != 0 || !strings.Contains(out, "entries: 4\n") {
		t.Errorf("stats -recount: exit %d\n%s", code, out)
	}
	if out, _, _ := ctlRun(t, "-dir", dir, "-json", "stats", "-totals"); !strings.Contains(out, `"entries":4`) {
		t.Errorf("stats -totals after the recount:\n%s", out)
	}
}

// bombs plants, in the cache at dir, an entry whose metadata lists two
// million inputs and one whose payload is four million empty arrays, and
// returns their keys.
func bombs(t *testing.T, dir string) (metaKey, payloadKey string) {
	t.Helper()
	plant := func(sum [32]byte, m entry.Meta, payload [][]byte) string {
		parts, err := entry.Encode(entry.Header{ComputedAt: time.Now().UnixNano(), Sum: sum}, m, payload, nil)
		if err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("%x", sum[:8])
		os.MkdirAll(filepath.Join(dir, key[:2]), 0o700)
		if err := os.WriteFile(filepath.Join(dir, key[:2], key+".entry"), bytes.Join(parts, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		return key
	}
	one, _ := entry.EncodeResult(1)
	metaKey = plant([32]byte{0xab, 1}, entry.Meta{Func: "example.com/sim.F", Inputs: make([]entry.Input, 2<<20)}, one)
	const n = 4 << 20
	body := append(binary.BigEndian.AppendUint32([]byte{0x9a}, n), bytes.Repeat([]byte{0x80}, n)...)
	payload := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, 0), uint64(len(body)))
	payload = append(payload, body...)
	payload = append(payload, make([]byte, (8-len(payload)%8)%8)...)
	payloadKey = plant(sha256.Sum256([]byte(`{}`)), entry.Meta{Func: "example.com/sim.G", Params: []byte(`{}`)}, [][]byte{payload})
	return metaKey, payloadKey
}

// allocated returns the bytes the process allocates running f.
func allocated(f func()) uint64 {
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	f()
	goruntime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestPlantedBombsAreBounded runs every command that reads entries on a
// cache with planted entries that would inflate a hundredfold when
// decoded: each allocates little more than what it reads.
func TestPlantedBombsAreBounded(t *testing.T) {
	dir := copyCache(t)
	metaKey, payloadKey := bombs(t, dir)
	for _, args := range [][]string{
		{"ls"}, {"-json", "ls"}, {"stats"}, {"stats", "-totals"}, {"verify"},
		{"prune", "-dry-run", "-max-size", "1"}, {"show", payloadKey}, {"show", metaKey},
	} {
		var code int
		var out, errOut string
		a := allocated(func() { out, errOut, code = ctlRun(t, append([]string{"-dir", dir}, args...)...) })
		if a > 96<<20 {
			t.Errorf("%s allocated %d MiB", strings.Join(args, " "), a>>20)
		}
		if strings.Contains(out, metaKey) && args[0] == "ls" {
			t.Errorf("ls lists the planted entry:\n%s", out)
		}
		switch {
		case args[0] == "show" && args[1] == metaKey && code == 0:
			t.Errorf("show %s: exit 0, want it refused\n%s", args[1], out)
		case args[0] == "show" && args[1] == payloadKey && !strings.Contains(out, "result:    (cannot be read: malformed payload: decoding it would take more than 32 times its size)"):
			t.Errorf("show %s: exit %d, want the result listed as unreadable\n%s%s", args[1], code, out, errOut)
		}
		// verify checks what a load checks before it decodes a result:
		// the metadata bomb fails that; the payload bomb's framing is
		// sound, and it fails only when decoded, as show shows.
		if args[0] == "verify" && (code == 0 || !strings.Contains(out+errOut, metaKey)) {
			t.Errorf("verify: exit %d, want the planted metadata listed as a problem\n%s%s", code, out, errOut)
		}
	}
}

// TestStatsIgnorePlantedUsageRecords plants usage records that would sum
// past any count: stats recounts them.
func TestStatsIgnorePlantedUsageRecords(t *testing.T) {
	dir := copyCache(t)
	rec := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte("cgusage1"), 1<<62), 1<<62), uint64(time.Now().Unix()))
	for _, shard := range []string{"00", "01", "02", "03"} {
		os.MkdirAll(filepath.Join(dir, shard), 0o700)
		os.WriteFile(filepath.Join(dir, shard, ".usage"), rec, 0o600)
	}
	if out, _, code := ctlRun(t, "-dir", dir, "stats", "-totals"); code != 0 || !strings.Contains(out, "entries: 3\n") {
		t.Errorf("stats -totals: exit %d\n%s", code, out)
	}
}

// cachectl links no cloud SDK: a bucket's URL is refused with the command
// that opens it.
func TestCloudStoresNameCachectlS3(t *testing.T) {
	_, errOut, code := ctlRun(t, "-remote", "s3://bucket/prefix?region=x", "ls")
	if code != 2 || !strings.Contains(errOut, "for s3:// or mem://, run cachectl-s3") ||
		!strings.Contains(errOut, "go run github.com/cachegen/cachegen/cmd/cachectl-s3 -remote URL ls") {
		t.Errorf("exit %d:\n%s\nwant exit 2 naming cachectl-s3", code, errOut)
	}
}

// dirWith returns a cache directory holding the results of calls, stored
// in order, a minute apart.
func dirWith(t *testing.T, calls ...cacheruntime.Call) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	for _, call := range calls {
		c, err := cacheruntime.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // computed one after the other, to the file system's clock too
	}
	return dir
}

func scoreCall(version int, code string, params map[string]any) cacheruntime.Call {
	return cacheruntime.Call{Func: "example.com/sim.Score", Version: version, Code: code, Params: params,
		Parts: "Score:11111111,forward:" + code[:8] + ",go.mod:33333333"}
}

const (
	codeA = "aaaaaaaaaaaaaaaa"
	codeB = "bbbbbbbbbbbbbbbb"
)

// moduleRunning makes the working directory, for the rest of the test, a
// module whose generated file records that example.com/sim.Score runs
// code at version 1, accepting the codes in accepted.
func moduleRunning(t *testing.T, code string, accepted ...string) {
	t.Helper()
	moduleRunningVersion(t, 1, code, accepted...)
}

// moduleRunningVersion is moduleRunning at version v.
func moduleRunningVersion(t *testing.T, v int, code string, accepted ...string) {
	t.Helper()
	dir := t.TempDir()
	rec := fingerprint.Record{Name: "Score", Version: v, Sum: code, Accepted: accepted, Parts: []string{"Score:11111111"}}
	gen := "// Code generated by cachegen. DO NOT EDIT.\n\npackage sim\n\n// " + rec.Line() + "\n"
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/sim\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "cache_gen.go"), []byte(gen), 0o644)
	t.Chdir(dir)
}

// Entries of other code than the module here runs are marked dead,
// counted, and pruned by -dead, with the old versions; the current code's
// are kept. Outside the module, none is known to be of other code.
func TestDeadEntries(t *testing.T) {
	t.Setenv("COLUMNS", "200")
	a1, a2 := scoreCall(1, codeA, map[string]any{"x": 1}), scoreCall(1, codeA, map[string]any{"x": 2})
	b3 := scoreCall(1, codeB, map[string]any{"x": 3})
	dir := dirWith(t, a1, a2, b3)
	k1, _ := a1.Key()
	k2, _ := a2.Key()
	k3, _ := b3.Key()
	if out, _, _ := ctlRun(t, "-dir", dir, "ls"); strings.Contains(out, "(other code)") {
		t.Errorf("outside the module, ls marks entries of other code:\n%s", out)
	}
	moduleRunning(t, codeB)
	out, _, _ := ctlRun(t, "-dir", dir, "ls")
	for _, k := range []string{k1, k2} {
		if !regexp.MustCompile(`(?m)^` + k + `\s+sim.Score\s+1 \(other code\)`).MatchString(out) {
			t.Errorf("ls does not mark %s, of other code:\n%s", k, out)
		}
	}
	if strings.Count(out, "(other code)") != 2 {
		t.Errorf("ls marks other entries than the two of other code:\n%s", out)
	}
	if out, _, _ := ctlRun(t, "-dir", dir, "-json", "ls"); strings.Count(out, `"other_code":true`) != 2 {
		t.Errorf("ls -json:\n%s", out)
	}
	if out, _, _ := ctlRun(t, "-dir", dir, "stats"); !strings.Contains(out, "other code:   2 entries, ") || !strings.Contains(out, "cachectl prune -dead removes them") {
		t.Errorf("stats does not count the dead entries:\n%s", out)
	}
	if out, _, _ := ctlRun(t, "-dir", dir, "show", k1); !strings.Contains(out, "version:   1 (dead: computed by other code") {
		t.Errorf("show does not say the entry is dead:\n%s", out)
	}
	moduleRunning(t, codeB, codeA) // B accepts A's entries: none is dead
	if out, _, _ := ctlRun(t, "-dir", dir, "ls"); strings.Contains(out, "(other code)") {
		t.Errorf("entries of accepted code are marked:\n%s", out)
	}
	moduleRunning(t, codeB)
	out, _, code := ctlRun(t, "-dir", dir, "prune", "-dead")
	if ks := keys(t, dir); code != 0 || !strings.Contains(out, "removed 2 entries") || !slices.Equal(ks, []string{k3}) {
		t.Errorf("prune -dead: exit %d, left %v, want %s\n%s", code, ks, k3, out)
	}
	t.Chdir(t.TempDir())
	if out, _, code := ctlRun(t, "-dir", dir, "prune", "-dead"); code != 0 || !strings.Contains(out, "no function of these entries has generated wrappers in the module here") {
		t.Errorf("prune -dead outside a module: exit %d\n%s", code, out)
	}
}

// why says why a function's latest entry was computed, from the cache.
func TestWhy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		calls []cacheruntime.Call
		want  string
	}{
		{"first", []cacheruntime.Call{scoreCall(1, codeA, map[string]any{"y": 222})}, "why:       the cache records no entry of this function\n"},
		{"arguments", []cacheruntime.Call{scoreCall(1, codeA, map[string]any{"y": 222, "z": 1}), scoreCall(1, codeA, map[string]any{"y": 333, "z": 1})},
			"differs in y: 222 -> 333\n"},
		{"version", []cacheruntime.Call{scoreCall(1, codeA, map[string]any{"y": 222}), scoreCall(2, codeA, map[string]any{"y": 222})},
			"why:       the cache holds entries of an older version only (version 1): this call is version 2"},
		{"code", []cacheruntime.Call{scoreCall(1, codeA, map[string]any{"y": 222}), scoreCall(1, codeB, map[string]any{"y": 333})},
			"why:       the entries of version 1 were computed by other code (aaaaaaaaaaaaaaaa), which this code does not accept; changed since: forward\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := dirWith(t, tc.calls...)
			last, _ := tc.calls[len(tc.calls)-1].Key()
			for _, target := range []string{"sim.Score", last} {
				out, errOut, code := ctlRun(t, "-dir", dir, "why", target)
				if code != 0 || !strings.Contains(out, "key:       "+last+"\n") || !strings.Contains(out, tc.want) {
					t.Errorf("why %s: exit %d\n%s%s\nwant %q", target, code, out, errOut, tc.want)
				}
			}
		})
	}
	dir := dirWith(t, scoreCall(1, codeA, map[string]any{"y": 1}), cacheruntime.Call{Func: "example.com/sim.ScoreAll", Version: 1, Params: map[string]any{}})
	for args, want := range map[string]string{
		"why Nothing": `why: no entry of a function matching "Nothing"`,
		"why Score":   `why: "Score" matches 2 functions (example.com/sim.Score, example.com/sim.ScoreAll): name one`,
		"why":         "why: want one FUNC pattern or KEY",
		"why a b":     "why: want one FUNC pattern or KEY",
	} {
		_, errOut, code := ctlRun(t, append([]string{"-dir", dir}, strings.Fields(args)...)...)
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("cachectl %s: exit %d, %q; want exit 2 and %q", args, code, errOut, want)
		}
	}
}

// An entry of a version below the module's is old, though no entry of the
// current version is cached yet: ls marks it, and prune -old-versions,
// which removes what ls marks, removes it.
func TestOldVersionByTheCurrentCode(t *testing.T) {
	t.Setenv("COLUMNS", "200")
	old := scoreCall(1, codeA, map[string]any{"x": 1})
	dir := dirWith(t, old)
	k, _ := old.Key()
	moduleRunningVersion(t, 2, codeB)
	if out, _, _ := ctlRun(t, "-dir", dir, "ls"); !regexp.MustCompile(`(?m)^` + k + `\s+sim.Score\s+1 \(old\)`).MatchString(out) {
		t.Errorf("ls does not mark the entry of version 1 old under version 2:\n%s", out)
	}
	out, _, code := ctlRun(t, "-dir", dir, "prune", "-old-versions")
	if code != 0 || !strings.Contains(out, "removed "+k+" example.com/sim.Score version 1 (old)") || len(keys(t, dir)) != 0 {
		t.Errorf("prune -old-versions: exit %d, left %v\n%s", code, keys(t, dir), out)
	}
}

// countingStore counts the listings of the store it wraps.
type countingStore struct {
	remote.Store
	lists int
}

func (s *countingStore) List(ctx context.Context, fn func(remote.StoreEntry) error) error {
	s.lists++
	return s.Store.List(ctx, fn)
}

// prune -dead and -old-versions walk the tier once, in Prune, asking for
// each function's current code as they meet its entries: they do not
// list the tier first to learn which functions to ask about.
func TestPruneDeadWalksTheTierOnce(t *testing.T) {
	dir := t.TempDir()
	c, err := cacheruntime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		call := cacheruntime.Call{Func: "example.com/sim.F", Version: 1 + i%2, Params: map[string]any{"i": i}}
		if _, err := cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
	}
	store, err := file.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-dead", "-func", "*", "-dry-run"}, {"-old-versions", "-dry-run"}} {
		counting := &countingStore{Store: store}
		r := remote.New(counting, "file://"+dir, remote.Options{})
		var out bytes.Buffer
		x := &ctl{ctx: context.Background(), tier: maintain.Shared(r, nil), shared: r, out: &out}
		if err := x.prune(args); err != nil {
			t.Fatal(err)
		}
		if counting.lists != 1 {
			t.Errorf("prune %s listed the store %d times, want once", args, counting.lists)
		}
		if !strings.Contains(out.String(), "would remove") {
			t.Errorf("prune %s found no old version to remove:\n%s", args, out.String())
		}
	}
}

// Keys can be shortened to any unique prefix of four digits or more, as
// git takes a commit's: an ambiguous one names the entries it starts, and
// removes nothing.
func TestKeyPrefixes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := cacheruntime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	call := func(i int) cacheruntime.Call {
		return cacheruntime.Call{Func: "example.com/sim.Run", Version: 1, Params: map[string]any{"i": i}}
	}
	// Two calls whose keys share their first four digits: keys are
	// deterministic, so the search finds the same pair each run.
	seen := map[string]int{}
	a, b := -1, -1
	for i := 0; a < 0; i++ {
		k, _ := call(i).Key()
		if j, ok := seen[k[:4]]; ok {
			a, b = j, i
		}
		seen[k[:4]] = i
	}
	var ka, kb string
	for _, i := range []int{a, b} {
		cacheruntime.Do(context.Background(), c, call(i), func(context.Context) (int, error) { return i, nil })
	}
	ka, _ = call(a).Key()
	kb, _ = call(b).Key()
	unique := ka[:4]
	for n := 5; ka[:n-1] == kb[:n-1]; n++ {
		unique = ka[:n]
	}
	out, errOut, code := ctlRun(t, "-dir", dir, "show", unique)
	if code != 0 || !strings.Contains(out, ka) {
		t.Errorf("show %s: exit %d, %s%s: want the entry %s", unique, code, out, errOut, ka)
	}
	if out, errOut, code := ctlRun(t, "-dir", dir, "why", unique); code != 0 || !strings.Contains(out, ka) {
		t.Errorf("why %s: exit %d, %s%s", unique, code, out, errOut)
	}
	_, errOut, code = ctlRun(t, "-dir", dir, "show", ka[:4])
	if code != 1 || !strings.Contains(errOut, "ambiguous") || !strings.Contains(errOut, ka) || !strings.Contains(errOut, kb) {
		t.Errorf("show %s: exit %d, %q: want both entries named", ka[:4], code, errOut)
	}
	if _, errOut, code := ctlRun(t, "-dir", dir, "rm", ka[:4]); code != 1 || !strings.Contains(errOut, "ambiguous") || len(keys(t, dir)) != 2 {
		t.Errorf("rm of an ambiguous prefix: exit %d, %q, %d entries left: want nothing removed", code, errOut, len(keys(t, dir)))
	}
	if _, errOut, code := ctlRun(t, "-dir", dir, "show", ka[:3]); code != 2 || !strings.Contains(errOut, "malformed key") {
		t.Errorf("show of 3 digits: exit %d, %q: want a usage error", code, errOut)
	}
	// Named twice, by a prefix and whole, it is removed and counted once.
	if out, errOut, code := ctlRun(t, "-dir", dir, "rm", unique, ka); code != 0 || !slices.Equal(keys(t, dir), []string{kb}) || !strings.Contains(out, "removed 1 entry") {
		t.Errorf("rm %s %s: exit %d, %q %q, left %v: want %s removed, once", unique, ka, code, out, errOut, keys(t, dir), ka)
	}
}

// A long parameter is cut by itself, so that every parameter after it
// stays in sight; -wide prints them whole.
func TestLsCutsEachParameter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := cacheruntime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("gonum.org/v1/gonum/mat.Dense ", 10)
	// The spelling of an infinity, Infinity, is no JSON: the params are
	// split as they are spelled.
	call := cacheruntime.Call{Func: "example.com/sim.Fit", Version: 1, Params: map[string]any{"a": long, "b": strings.Repeat("x", 80), "n": 3, "tol": math.Inf(1)}}
	cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil })
	t.Setenv("COLUMNS", "140")
	out, _, code := ctlRun(t, "-dir", dir, "ls")
	row := strings.Split(strings.TrimSpace(out), "\n")[1]
	if code != 0 || len([]rune(row)) > 140 || !strings.Contains(row, `"n": 3, "tol": Infinity}`) || !strings.Contains(row, `"b": "xxx`) || strings.Count(row, "…") != 2 {
		t.Errorf("ls at COLUMNS=140: exit %d, %q: want a and b cut each, n and tol whole, in 140 columns", code, row)
	}
	out, _, _ = ctlRun(t, "-dir", dir, "ls", "-wide")
	if !strings.Contains(out, strings.TrimSpace(long)) || strings.Contains(out, "…") {
		t.Errorf("ls -wide cut a parameter: %q", out)
	}
}

// dirTier returns the directory of c as cachectl manages it.
func dirTier(c *cacheruntime.Cache) *maintain.Tier {
	t, err := maintain.Open(c.Dir(), maintain.Options{})
	if err != nil {
		panic(err)
	}
	return t
}
