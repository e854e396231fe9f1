package all_test

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// A proxy stands between the cache and a server on loopback: it counts
// the requests the client sends (each chunk it reads from the client),
// and holds each chunk of the server's replies for delay before passing
// it on, as a network with that much more latency would.
type proxy struct {
	Addr   string
	writes atomic.Int64
}

func startProxy(t testing.TB, target string, delay time.Duration) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &proxy{Addr: l.Addr().String()}
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			go p.relay(server, client, 0, &p.writes)
			go p.relay(client, server, delay, nil)
		}
	}()
	return p
}

// relay copies from src to dst, each chunk delay after it arrived,
// counting the chunks in count.
func (p *proxy) relay(dst, src net.Conn, delay time.Duration, count *atomic.Int64) {
	defer dst.Close()
	defer src.Close()
	type chunk struct {
		b  []byte
		at time.Time
	}
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			b := make([]byte, 64<<10)
			n, err := src.Read(b)
			if n > 0 {
				if count != nil {
					count.Add(1)
				}
				chunks <- chunk{b[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.b); err != nil {
			io.Copy(io.Discard, src)
			return
		}
	}
}
