package ctl

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/cachegen/cachegen/internal/entry"
	"github.com/cachegen/cachegen/internal/logline"
	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// hostile is text a cache directory, a shared store or a server may
// hold: an OSC 52 clipboard write, a CSI clear-screen, a C1 CSI, a bidi
// override, NUL, DEL, a carriage return, a byte that is not UTF-8, and a
// newline that would start a forged log line.
const hostile = "evil\x1b]52;c;aGk=\x07\x1b[2J\u009b\u202e\x00\x7f\xff\r\ncachegen: [HIT] FORGED"

// terminalSafe reports what in out a terminal could act on: a control
// character but tab (and newline, which ends lines), DEL, C1, a bidi
// override, a byte that is not UTF-8, or a forged line.
func terminalSafe(out string) error {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "cachegen: [HIT] FORGED") {
			return errors.New("a value started a line of its own: " + line)
		}
		if !utf8.ValidString(line) {
			return errors.New("a line that is not UTF-8: " + strconvQuote(line))
		}
		for _, r := range line {
			if r < 0x20 && r != '\t' || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
				return errors.New("a character a terminal acts on in: " + strconvQuote(line))
			}
		}
	}
	return nil
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

type panicky struct{ A []byte }

func (p panicky) MarshalBinary() ([]byte, error) { return p.A, nil }
func (p *panicky) UnmarshalBinary(b []byte) error {
	if len(b) > 0 && b[0] == 'X' {
		panic("planted: " + string(b))
	}
	p.A = b
	return nil
}

// TestHostileTextNeverReachesTheTerminal plants hostile text in every
// place the program's log and cachectl print from (an entry's function
// name, params, parts and file input, why-record lines of this code and
// of another, a parts file read for "changed since:", a CBOR tag in a
// stored result, a stored result whose decoder panics on a hit, the same
// directory read as a file:// store, a server's error reply), and checks
// what they print, as text and as JSON that parses.
func TestHostileTextNeverReachesTheTerminal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	var log bytes.Buffer
	c, err := cacheruntime.Open(dir, cacheruntime.WithLogger(slog.New(logline.New(&log))), cacheruntime.WithVerbose(true))
	if err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(t.TempDir(), "in\x1b[2J\nput")
	os.WriteFile(input, []byte("data"), 0o644)
	fn := "example.com/" + hostile
	const code = "0123456789abcdef"
	callWith := func(s, code, parts string) cacheruntime.Call {
		return cacheruntime.Call{Func: fn, Version: 1, Code: code, Parts: parts,
			Params: map[string]any{"s": s, "f": cacheruntime.File(input)}}
	}
	ctx := context.Background()
	str := func(context.Context) (string, error) { return hostile, nil }
	if _, err := cacheruntime.Do(ctx, c, callWith(hostile, code, "a"+hostile+":00000000"), str); err != nil {
		t.Fatal(err)
	}
	// Why-record lines of planted text: one of other code, and one of
	// this code, which a miss of this code explains itself from.
	sum := sha256.Sum256([]byte(fn))
	rec := filepath.Join(dir, "recent", hex.EncodeToString(sum[:8]))
	f, err := os.OpenFile(rec, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{hostile, code} {
		line, _ := json.Marshal(map[string]any{"key": "00000000000000ff", "version": 1, "code": code, "args": map[string]string{hostile: hostile, "s": hostile + "3", "f": hostile}, "at": time.Now()})
		f.Write(append(line, '\n'))
	}
	f.Close()
	// A verbose miss of this code that explains itself from the record,
	// and one of other code, whose "changed since:" reads the parts file.
	cacheruntime.Do(ctx, c, callWith(hostile+"2", code, "a"+hostile+":00000000"), str)
	cacheruntime.Do(ctx, c, callWith(hostile, "fedcba9876543210", "a"+hostile+":11111111"), str)
	for _, want := range []string{" -> ", "changed since"} {
		if !strings.Contains(log.String(), want) {
			t.Fatalf("the log has no %q: a route was not taken:\n%s", want, log.String())
		}
	}
	// A result whose decoder panics on a hit, quoting the bytes planted:
	// stored as bytes it reads back, then changed to bytes it panics on.
	bad := cacheruntime.Call{Func: "example.com/panicky", Version: 1, Params: map[string]any{"n": 1}}
	cacheruntime.Do(ctx, c, bad, func(context.Context) (panicky, error) { return panicky{[]byte("Y" + hostile)}, nil })
	key, _ := bad.Key()
	replant(t, dir, key, func(payload []byte) []byte {
		return bytes.Replace(payload, []byte("Y"+hostile), []byte("X"+hostile), 1)
	})
	cacheruntime.Do(ctx, c, bad, func(context.Context) (panicky, error) { return panicky{}, nil })
	if !strings.Contains(log.String(), "planted") {
		t.Fatalf("no decoder panicked on a hit:\n%s", log.String())
	}
	// A stored result holding a CBOR tag around planted text, for show.
	tagged := cacheruntime.Call{Func: "example.com/tagged", Version: 1, Params: map[string]any{"n": 1}}
	cacheruntime.Do(ctx, c, tagged, func(context.Context) (string, error) { return "plain", nil })
	tkey, _ := tagged.Key()
	replant(t, dir, tkey, func([]byte) []byte {
		parts, err := entry.EncodeResult(cbor.Tag{Number: 32, Content: hostile})
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Join(parts, nil)
	})
	if err := terminalSafe(log.String()); err != nil {
		t.Errorf("the log: %v", err)
	}
	if !strings.Contains(log.String(), `\x1b`) {
		t.Fatalf("the log does not show the planted text at all:\n%s", log.String())
	}

	es, err := dirTier(c).List(ctx)
	if err != nil || len(es) < 3 {
		t.Fatalf("List: %v, %d entries", err, len(es))
	}
	var runs [][]string
	for _, where := range [][]string{{"-dir", dir}, {"-remote", "file://" + dir}} {
		for _, args := range [][]string{{"ls"}, {"ls", "-json"}, {"-json", "ls"}, {"stats"}, {"stats", "-json"}, {"show", tkey}, {"show", "-json", tkey}} {
			runs = append(runs, append(append([]string{}, where...), args...))
		}
		for _, e := range es {
			runs = append(runs, append(append([]string{}, where...), "show", e.Key), append(append([]string{}, where...), "show", "-json", e.Key))
		}
	}
	for _, args := range [][]string{{"prune", "-dry-run", "-max-size", "1"}, {"verify"}, {"why", "-json", es[0].Key}} {
		runs = append(runs, append([]string{"-dir", dir}, args...))
	}
	for _, e := range es {
		runs = append(runs, []string{"-dir", dir, "why", e.Key})
	}
	shownTag := false
	for _, args := range runs {
		out, errOut, code := ctlRun(t, args...)
		if code != 0 {
			t.Errorf("cachectl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		if err := terminalSafe(out + errOut); err != nil {
			t.Errorf("cachectl %s: %v", strings.Join(args, " "), err)
		}
		if slices.Contains(args, "-json") && !validJSON(out) {
			t.Errorf("cachectl %s: not JSON: %s", strings.Join(args, " "), out)
		}
		shownTag = shownTag || slices.Contains(args, tkey) && strings.Contains(out, "evil")
	}
	if !shownTag {
		t.Error("show printed nothing of the tagged text: the route was not taken")
	}

	// A server whose every reply is an error that quotes hostile text.
	addr := echoServer(t, "-ERR "+strings.ReplaceAll(hostile, "\r\n", " ")+"\r\n")
	out, errOut, _ := ctlRun(t, "-remote", "redis://"+addr+"/0", "ls")
	if err := terminalSafe(out + errOut); err != nil {
		t.Errorf("cachectl -remote, a server replying errors: %v", err)
	}
	if !strings.Contains(errOut, "evil") {
		t.Errorf("cachectl -remote does not report the server's reply: %q", errOut)
	}
	// And a program whose remote tier is that server logs its replies.
	log.Reset()
	tier, err := remote.Open(ctx, "redis://"+addr+"/0", remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tier.Close()
	withRemote, err := cacheruntime.Open(t.TempDir(), cacheruntime.WithLogger(slog.New(logline.New(&log))), cacheruntime.WithRemote(tier))
	if err != nil {
		t.Fatal(err)
	}
	cacheruntime.Do(ctx, withRemote, bad, func(context.Context) (panicky, error) { return panicky{}, nil })
	if !strings.Contains(log.String(), "evil") {
		t.Fatalf("the log does not report the server's reply:\n%s", log.String())
	}
	if err := terminalSafe(log.String()); err != nil {
		t.Errorf("the log of a program whose server replies errors: %v", err)
	}
}

// validJSON reports whether out is one JSON value, or one per line.
func validJSON(out string) bool {
	if json.Valid([]byte(out)) {
		return true
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			return false
		}
	}
	return strings.TrimSpace(out) != ""
}

// replant rewrites the payload of the entry key in the cache directory
// dir, framed and checksummed as a whole entry.
func replant(t *testing.T, dir, key string, change func([]byte) []byte) {
	t.Helper()
	path := filepath.Join(dir, key[:2], key+".entry")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, metaBytes, payload, err := entry.Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := entry.DecodeMeta(metaBytes)
	if err != nil {
		t.Fatal(err)
	}
	h.PayloadLen = 0 // Encode counts the payload it is given
	parts, err := entry.Encode(h, m, [][]byte{change(bytes.Clone(payload))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Join(parts, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fakeRedis is a server on loopback that answers each command a client
// sends (its name and arguments) with what answer returns, raw.
func fakeRedis(t *testing.T, answer func(args []string) string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if !strings.HasPrefix(line, "*") {
						continue
					}
					n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
					var args []string
					for range n {
						r.ReadString('\n') // $len
						a, _ := r.ReadString('\n')
						args = append(args, strings.TrimSpace(a))
					}
					if len(args) > 0 {
						conn.Write([]byte(answer(args)))
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// echoServer is a server on loopback whose every reply is reply.
func echoServer(t *testing.T, reply string) string {
	return fakeRedis(t, func([]string) string { return reply })
}

// writeRefusingServer is a Redis server on loopback that answers what a
// client asks on connecting and reads as a server that holds nothing
// would, and refuses every write with reply.
func writeRefusingServer(t *testing.T, reply string) string {
	return fakeRedis(t, func(args []string) string {
		switch strings.ToUpper(args[0]) {
		case "PING":
			return "+PONG\r\n"
		case "HELLO":
			return "-ERR unknown command 'HELLO'\r\n"
		case "AUTH", "SELECT", "CLIENT":
			return "+OK\r\n"
		case "GET", "GETDEL":
			return "$-1\r\n"
		case "GETRANGE":
			return "$0\r\n\r\n"
		case "SCAN":
			return "*2\r\n$1\r\n0\r\n*0\r\n"
		case "EXISTS":
			return ":0\r\n"
		case "MGET":
			return "*" + strconv.Itoa(len(args)-1) + "\r\n" + strings.Repeat("$-1\r\n", len(args)-1)
		}
		return reply
	})
}

// TestEchoedPasswordsAreRedacted: a server that echoes the password, whole
// and cut short, in its error replies has neither printed, by cachectl
// nor by a program's log.
func TestEchoedPasswordsAreRedacted(t *testing.T) {
	const password = "hunter2hunter2"
	addr := echoServer(t, "-WRONGPASS invalid password '"+password+"', starting '"+password[:8]+"'\r\n")
	url := "redis://alice:" + password + "@" + addr + "/0"
	out, errOut, code := ctlRun(t, "-remote", url, "ls")
	if code == 0 || !strings.Contains(errOut, "WRONGPASS") {
		t.Fatalf("cachectl -remote with a refused password: exit %d, %q", code, errOut)
	}
	if strings.Contains(out+errOut, password[:minEchoedForTest]) {
		t.Errorf("cachectl printed the password or its start: %q", errOut)
	}
	// push takes its URL from CACHEGEN_REMOTE too, and the server quotes
	// the password refusing what it writes.
	t.Setenv("CACHEGEN_REMOTE", "redis://alice:"+password+"@"+writeRefusingServer(t, "-ERR SET failed: bad password '"+password+"' (starts '"+password[:6]+"')\r\n")+"/0")
	dir := t.TempDir()
	local, err := cacheruntime.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cacheruntime.Do(context.Background(), local, cacheruntime.Call{Func: "example.com/sim.F", Version: 1, Params: map[string]any{"x": 1}}, func(context.Context) (int, error) { return 1, nil })
	out, errOut, code = ctlRun(t, "-dir", dir, "push")
	if code == 0 || !strings.Contains(errOut, "SET failed") {
		t.Fatalf("cachectl push to a CACHEGEN_REMOTE refusing writes: exit %d, %q", code, errOut)
	}
	if strings.Contains(out+errOut, password[:minEchoedForTest]) {
		t.Errorf("cachectl push printed the password or its start: %q", errOut)
	}
	var log bytes.Buffer
	tier, err := remote.Open(context.Background(), url, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tier.Close()
	c, err := cacheruntime.Open(t.TempDir(), cacheruntime.WithLogger(slog.New(logline.New(&log))), cacheruntime.WithRemote(tier))
	if err != nil {
		t.Fatal(err)
	}
	call := cacheruntime.Call{Func: "example.com/sim.F", Version: 1, Params: map[string]any{"x": 1}}
	cacheruntime.Do(context.Background(), c, call, func(context.Context) (int, error) { return 1, nil })
	if !strings.Contains(log.String(), "WRONGPASS") {
		t.Fatalf("the log does not report the server's refusal:\n%s", log.String())
	}
	if strings.Contains(log.String(), password[:minEchoedForTest]) {
		t.Errorf("the log has the password or its start:\n%s", log.String())
	}
}

const minEchoedForTest = 4
