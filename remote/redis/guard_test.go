package redis

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/remote"
	cacheruntime "github.com/cachegen/cachegen/runtime"
)

// TestGuardPassesRepliesWhateverTheirChunks feeds well-formed replies of
// every type, cut at every byte, and then refuses each hostile header.
func TestGuardPassesRepliesWhateverTheirChunks(t *testing.T) {
	replies := "+OK\r\n-ERR no\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n*-1\r\n*0\r\n" +
		"%1\r\n+k\r\n*1\r\n_\r\n~2\r\n#t\r\n,1.5\r\n(123\r\n=7\r\ntxt:abc\r\n!3\r\nerr\r\n>2\r\n+a\r\n+b\r\n|1\r\n+ttl\r\n:3\r\n$2\r\nhi\r\n"
	for cut := 1; cut <= len(replies); cut++ {
		var g respGuard
		for i := 0; i < len(replies); i += cut {
			if err := g.feed([]byte(replies[i:min(i+cut, len(replies))]), 1<<20, nil); err != nil {
				t.Fatalf("chunks of %d: %v", cut, err)
			}
		}
		if len(g.pending) != 0 || g.skip != 0 || len(g.line) != 0 || g.spent != 0 {
			t.Fatalf("chunks of %d: replies left open: %+v", cut, g)
		}
	}
	for name, reply := range map[string]string{
		"a bulk of 2^62 bytes":        "$4611686018427387904\r\n",
		"an array of 2^40 elements":   "*1099511627776\r\n",
		"a map of 2^40 pairs":         "%1099511627776\r\n",
		"nested arrays beyond budget": strings.Repeat("*1000\r\n", 200),
		"arrays nested 100 deep":      strings.Repeat("*1\r\n", 100) + ":1\r\n",
		"a line without end":          "+" + strings.Repeat("a", maxLine+1),
		"a bad length":                "$x\r\n",
		"an unknown type":             "?1\r\n",
		"no CR":                       "+OK\n",
	} {
		var g respGuard
		if err := g.feed([]byte(reply), 1<<20, nil); !errors.Is(err, errReply) {
			t.Errorf("%s: err = %v, want a refusal", name, err)
		}
	}
}

// hostileServer is a Redis server on loopback that answers the
// handshake, and every command after it with reply (or not at all).
func hostileServer(t *testing.T, reply func(w *bufio.Writer) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				go func() { <-stop; conn.Close() }()
				r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
				for {
					cmd, err := readCommand(r)
					if err != nil {
						return
					}
					switch strings.ToUpper(cmd) {
					case "HELLO":
						w.WriteString("-ERR unknown command 'HELLO'\r\n")
					case "CLIENT", "SELECT":
						w.WriteString("+OK\r\n")
					case "PING":
						w.WriteString("+PONG\r\n")
					default:
						if reply(w) != nil {
							return
						}
					}
					if w.Flush() != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// readCommand reads one command, an array of bulk strings, and returns
// its name.
func readCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil || len(line) < 3 || line[0] != '*' {
		return "", errors.New("not a command")
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	var name string
	for i := range n {
		head, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		size, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
		arg := make([]byte, size+2)
		if _, err := io.ReadFull(r, arg); err != nil {
			return "", err
		}
		if i == 0 {
			name = string(arg[:size])
		}
	}
	return name, nil
}

func heapAllocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestHostileServerNeverFailsACall points a cache at servers that claim
// huge replies, stream without end or never answer: each call returns its
// computed result within its context, having allocated little.
func TestHostileServerNeverFailsACall(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out silent servers: skipped in -short mode")
	}
	forever := func(w *bufio.Writer, head string) error {
		w.WriteString(head)
		for {
			if _, err := w.WriteString("x"); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	servers := map[string]func(w *bufio.Writer) error{
		"a bulk of 2^62 bytes":      func(w *bufio.Writer) error { _, err := w.WriteString("$4611686018427387904\r\n"); return err },
		"an array of 2^40 elements": func(w *bufio.Writer) error { _, err := w.WriteString("*1099511627776\r\n"); return err },
		"4 GiB streamed":            func(w *bufio.Writer) error { return forever(w, "$4294967296\r\n") },
		"a bulk that never ends":    func(w *bufio.Writer) error { return forever(w, "$1000000\r\n") },
		"a line that never ends":    func(w *bufio.Writer) error { return forever(w, "+") },
		"nested arrays":             writeOf(strings.Repeat("*100000\r\n", 1000)),
		// Written from one string made here, so that the server allocates
		// nothing the measurement would count.
		"arrays nested 3M deep": writeOf(strings.Repeat("*1\r\n", 3_000_000) + ":1\r\n"),
		"maps of nothing":       writeOf("*1000000\r\n" + strings.Repeat("%0\r\n", 1_000_000)),
		"silence":               func(w *bufio.Writer) error { select {} },
	}
	for name, reply := range servers {
		t.Run(name, func(t *testing.T) {
			addr := hostileServer(t, reply)
			remote, err := remote.Open(context.Background(), "redis://"+addr+"/0", remote.Options{MaxEntry: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer remote.Close()
			c, err := cacheruntime.Open(t.TempDir(), cacheruntime.WithRemote(remote), cacheruntime.WithLogger(discard()))
			if err != nil {
				t.Fatal(err)
			}
			var computed atomic.Int64
			for i := range 3 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				before, start := heapAllocated(), time.Now()
				call := cacheruntime.Call{Func: "example.com/sim.F", Version: 1, Params: map[string]any{"i": i}}
				var left time.Duration
				got, err := cacheruntime.Do(ctx, c, call, func(ctx context.Context) (int, error) {
					dl, _ := ctx.Deadline()
					left = time.Until(dl)
					computed.Add(1)
					return 42 + i, nil
				})
				took, alloc := time.Since(start), heapAllocated()-before
				cancel()
				if err != nil || got != 42+i {
					t.Fatalf("call %d: %d, %v; want its computed result", i, got, err)
				}
				if took > 2*time.Second {
					t.Errorf("call %d took %s, past its context's 2s", i, took)
				}
				if left < 900*time.Millisecond {
					t.Errorf("call %d began computing with %s of its 2s left, want about half", i, left)
				}
				if alloc > 64<<20 {
					t.Errorf("call %d allocated %d MiB", i, alloc>>20)
				}
			}
			if computed.Load() != 3 {
				t.Errorf("computed %d times, want 3", computed.Load())
			}
		})
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// writeOf returns a reply that writes s, past the writer's buffer.
func writeOf(s string) func(w *bufio.Writer) error {
	b := []byte(s)
	return func(w *bufio.Writer) error {
		if err := w.Flush(); err != nil {
			return err
		}
		_, err := w.Write(b)
		return err
	}
}
