package ctl

import (
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
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
// name, params, parts and file input, a why-record, a stored result that
// a decoder panics on, a server's error reply), and checks what they
// print, as text and as JSON.
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
	call := cacheruntime.Call{Func: fn, Version: 1, Code: "0123456789abcdef", Parts: "a" + hostile + ":00000000",
		Params: map[string]any{"s": hostile, "f": cacheruntime.File(input)}}
	ctx := context.Background()
	if _, err := cacheruntime.Do(ctx, c, call, func(context.Context) (string, error) { return hostile, nil }); err != nil {
		t.Fatal(err)
	}
	// A why-record line of planted text, and a result a decoder panics on.
	sum := sha256.Sum256([]byte(fn))
	rec := filepath.Join(dir, "recent", hex.EncodeToString(sum[:8]))
	line, _ := json.Marshal(map[string]any{"key": hostile, "version": 1, "code": hostile, "args": map[string]string{hostile: hostile, "s": hostile}, "at": time.Now()})
	f, err := os.OpenFile(rec, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(append(line, '\n'))
	f.Close()
	bad := cacheruntime.Call{Func: "example.com/panicky", Version: 1, Params: map[string]any{"n": 1}}
	cacheruntime.Do(ctx, c, bad, func(context.Context) (panicky, error) { return panicky{[]byte("X" + hostile)}, nil })
	// A verbose miss that explains itself from the record, and a hit of
	// the entry that panics.
	call.Params["s"] = hostile + "2"
	cacheruntime.Do(ctx, c, call, func(context.Context) (string, error) { return hostile, nil })
	cacheruntime.Do(ctx, c, bad, func(context.Context) (panicky, error) { return panicky{}, nil })
	if err := terminalSafe(log.String()); err != nil {
		t.Errorf("the log: %v", err)
	}
	if !strings.Contains(log.String(), `\x1b`) {
		t.Fatalf("the log does not show the planted text at all:\n%s", log.String())
	}

	es, err := c.List(ctx)
	if err != nil || len(es) < 2 {
		t.Fatalf("List: %v, %d entries", err, len(es))
	}
	for _, args := range [][]string{{"ls"}, {"ls", "-json"}, {"stats"}, {"stats", "-json"}, {"prune", "-dry-run", "-max-size", "1"},
		{"verify"}, {"why", es[0].Key}, {"why", es[1].Key}, {"why", "-json", es[0].Key}, {"show", es[0].Key}, {"show", es[1].Key},
		{"show", "-json", es[0].Key}, {"show", "-json", es[1].Key}} {
		out, errOut, code := ctlRun(t, append([]string{"-dir", dir}, args...)...)
		if code != 0 {
			t.Errorf("cachectl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		if err := terminalSafe(out + errOut); err != nil {
			t.Errorf("cachectl %s: %v", strings.Join(args, " "), err)
		}
	}

	// A server whose every reply is an error that quotes hostile text.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 1<<16)
				for {
					n, err := conn.Read(buf)
					if err != nil {
						return
					}
					// One error reply per command the read holds.
					cmds := strings.Count(string(buf[:n]), "\r\n*")
					if buf[0] == '*' {
						cmds++
					}
					for range max(cmds, 1) {
						conn.Write([]byte("-ERR " + strings.ReplaceAll(hostile, "\r\n", " ") + "\r\n"))
					}
				}
			}()
		}
	}()
	out, errOut, _ := ctlRun(t, "-remote", "redis://"+l.Addr().String()+"/0", "ls")
	if err := terminalSafe(out + errOut); err != nil {
		t.Errorf("cachectl -remote, a server replying errors: %v", err)
	}
	if !strings.Contains(errOut, "evil") {
		t.Errorf("cachectl -remote does not report the server's reply: %q", errOut)
	}
}

// echoServer is a server on loopback whose every reply is reply.
func echoServer(t *testing.T, reply string) string {
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
				buf := make([]byte, 1<<16)
				for {
					n, err := conn.Read(buf)
					if err != nil {
						return
					}
					cmds := strings.Count(string(buf[:n]), "\r\n*")
					if buf[0] == '*' {
						cmds++
					}
					for range max(cmds, 1) {
						conn.Write([]byte(reply))
					}
				}
			}()
		}
	}()
	return l.Addr().String()
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
