package redis

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
)

// A guardConn reads a Redis server's replies for go-redis, and checks each
// one's framing before go-redis sees it: a bulk string longer than the
// limit, an aggregate of more elements than the limit could hold, a line
// longer than maxLine, or bytes that are not a reply end the connection
// with an error, for that request alone. go-redis allocates what a header
// claims before it reads the bytes claimed (a bulk of 2^62 bytes panics it;
// an array of 2^40 elements exhausts memory), so no reply gets to it that
// claims more, in all, than the limit.
type guardConn struct {
	net.Conn
	limit *atomic.Int64
	// inFlight is what the replies being read on all of a store's
	// connections claim: together they stay within the limit, so that
	// requests made at once cannot each take it.
	inFlight *atomic.Int64
	p        respGuard
}

func (c *guardConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		if perr := c.p.feed(b[:n], c.limit.Load(), c.inFlight); perr != nil {
			c.release()
			c.Conn.Close()
			return 0, perr
		}
	}
	if err != nil {
		c.release()
	}
	return n, err
}

func (c *guardConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// release gives back what an unfinished reply claimed.
func (c *guardConn) release() {
	if c.p.spent > 0 {
		c.inFlight.Add(-c.p.spent)
		c.p.spent = 0
	}
}

// errReply rejects a reply the guard refuses.
var errReply = errors.New("redis: reply refused")

// maxLine bounds a reply's header or simple value: go-redis reads a line
// into memory whole, however long.
const maxLine = 64 << 10

// Costs of what go-redis makes of a reply, beyond its bytes: each element
// (a boxed value, a header), each slot of an array, each pair of a map
// (a small map allocates a whole group), at the least.
const (
	headerCost = 128
	elemCost   = 16
	pairCost   = 320
)

// maxNesting bounds how deep aggregates nest: go-redis reads them by
// recursion, and a reply nested millions deep would overflow its stack.
// No reply cachegen asks for nests more than two deep.
const maxNesting = 16

// respGuard follows the framing of RESP2 and RESP3 replies across reads.
type respGuard struct {
	line    []byte  // the header line being read
	skip    int64   // bytes of a bulk value (and its CRLF) still to pass
	pending []int64 // elements still to come in each open aggregate
	spent   int64   // what the current reply claims, in bytes
}

func (g *respGuard) feed(b []byte, limit int64, inFlight *atomic.Int64) error {
	for len(b) > 0 {
		if g.skip > 0 {
			n := min(g.skip, int64(len(b)))
			g.skip -= n
			b = b[n:]
			if g.skip == 0 {
				g.done(inFlight)
			}
			continue
		}
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if len(g.line)+i > maxLine {
			return fmt.Errorf("%w: a line longer than %d bytes", errReply, maxLine)
		}
		g.line = append(g.line, b[:min(i+1, len(b))]...)
		if i == len(b) {
			return nil // the line goes on in the next read
		}
		b = b[i+1:]
		line := g.line
		g.line = g.line[:0]
		if err := g.header(line, limit, inFlight); err != nil {
			return err
		}
	}
	return nil
}

// header handles one complete line: a reply's or an element's header.
func (g *respGuard) header(line []byte, limit int64, inFlight *atomic.Int64) error {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return fmt.Errorf("%w: a line not ended by CRLF", errReply)
	}
	kind, text := line[0], string(line[1:len(line)-2])
	if err := g.charge(headerCost+int64(len(line)), limit, inFlight, func() {}); err != nil {
		return err
	}
	switch kind {
	case '+', '-', ':', ',', '#', '(', '_':
		g.done(inFlight)
		return nil
	case '$', '!', '=':
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < -1 {
			return fmt.Errorf("%w: bulk length %q", errReply, text)
		}
		if n == -1 {
			g.done(inFlight)
			return nil
		}
		if n > limit {
			return fmt.Errorf("%w: a bulk value of %d bytes, more than the %d allowed", errReply, n, limit)
		}
		return g.charge(n+2, limit, inFlight, func() { g.skip = n + 2 })
	case '*', '~', '>', '%', '|':
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n < -1 {
			return fmt.Errorf("%w: aggregate length %q", errReply, text)
		}
		if n == -1 {
			g.done(inFlight)
			return nil
		}
		if len(g.pending) >= maxNesting {
			return fmt.Errorf("%w: aggregates nested more than %d deep", errReply, maxNesting)
		}
		cost, elems := elemCost, n
		switch kind {
		case '%':
			cost, elems = pairCost, 2*n
		case '|':
			// An attribute comes before the value it describes: the two
			// are one element.
			cost, elems = pairCost, 2*n+1
		}
		if n > limit/int64(cost) {
			return fmt.Errorf("%w: an aggregate of %d elements, more than %d bytes allow", errReply, n, limit)
		}
		return g.charge(n*int64(cost), limit, inFlight, func() {
			if elems == 0 {
				g.done(inFlight)
				return
			}
			g.pending = append(g.pending, elems)
		})
	}
	return fmt.Errorf("%w: unknown reply type %q", errReply, kind)
}

// charge adds n to what the current reply claims, and to what all replies
// being read claim, and then runs next.
func (g *respGuard) charge(n, limit int64, inFlight *atomic.Int64, next func()) error {
	if g.spent > limit-n {
		return fmt.Errorf("%w: a reply claiming more than %d bytes in all", errReply, limit)
	}
	if inFlight != nil {
		if total := inFlight.Add(n); total > limit {
			inFlight.Add(-n)
			return fmt.Errorf("%w: replies read at once claiming more than %d bytes in all", errReply, limit)
		}
	}
	g.spent += n
	next()
	return nil
}

// done ends an element: it counts against the aggregate it is in, and an
// aggregate whose elements have all come is itself an element that ends.
// A reply that ends gives back what it claimed: it is read.
func (g *respGuard) done(inFlight *atomic.Int64) {
	for len(g.pending) > 0 {
		top := len(g.pending) - 1
		if g.pending[top]--; g.pending[top] > 0 {
			return
		}
		g.pending = g.pending[:top]
	}
	if inFlight != nil {
		inFlight.Add(-g.spent)
	}
	g.spent = 0
}
