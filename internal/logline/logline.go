// Package logline is cachegen's default log handler: one plain line per
// record, "cachegen: [HIT] key=… fn=…", with the level named when it is
// not Info. Debug records are dropped. Lines written by one handler and
// those derived from it never interleave. A record's message and values
// are written through Clean: nothing a cache holds reaches a terminal as
// control characters, nor makes a line of its own.
package logline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

type handler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

// New returns a handler that writes lines to w.
func New(w io.Writer) slog.Handler { return &handler{mu: new(sync.Mutex), w: w} }

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	line := "cachegen: "
	if r.Level != slog.LevelInfo {
		line += r.Level.String() + ": "
	}
	line += Clean(r.Message)
	emit := func(a slog.Attr) bool {
		line += " " + Clean(a.Key) + "=" + Clean(a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		emit(a)
	}
	r.Attrs(emit)
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, line+"\n")
	return err
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{mu: h.mu, w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

// WithGroup returns h: groups do not change a plain line.
func (h *handler) WithGroup(string) slog.Handler { return h }

// QuoteCut quotes s for a message, cut to its first 64 bytes: an argument
// that is not what it should be may be of any length.
func QuoteCut(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// Clean returns s as it may reach a terminal: every control character
// (C0 but tab, DEL, C1, U+009B among them), every bidirectional
// formatting character and every byte that is not UTF-8 spelled as Go
// spells it in a quoted string (\n, \x1b, \u009b, \u202e, \xff), and the
// rest as it is. A newline is spelled too: a value never starts a line of
// its own. Everything cachegen and cachectl print that came from a cache
// directory, a shared store or a server goes through it.
func Clean(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return clean(s)
		}
	}
	return s // plain ASCII: as it is
}

func clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t':
			b.WriteByte('\t')
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports whether a terminal may act on r rather than show
// it: a control character, a bidirectional format character, a line or
// paragraph separator.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x2028 || r == 0x2029, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e || r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// CleanJSON returns JSON with the characters a terminal may act on that
// encoding/json leaves as they are (DEL, C1, bidirectional formatting)
// written as \u escapes, which mean the same in a JSON string: JSON's own
// structure is ASCII, so they can only be in strings.
func CleanJSON(b []byte) []byte {
	dirty := false
	for _, c := range b {
		if c >= 0x7f {
			dirty = true
			break
		}
	}
	if !dirty {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || unsafeRune(r) && r >= 0x7f {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// A CleanWriter writes what is written to it through Clean, line by
// line: newlines and tabs are kept, so that a caller's own lines and
// columns stand, and every other character a terminal may act on is
// spelled. It is a last guard: values that come from outside are to be
// cleaned one by one (Clean), so that one holding a newline cannot make
// a line of its own.
type CleanWriter struct{ W io.Writer }

func (w CleanWriter) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	var b strings.Builder
	for _, l := range lines {
		body, nl := strings.CutSuffix(l, "\n")
		b.WriteString(Clean(body))
		if nl {
			b.WriteByte('\n')
		}
	}
	if _, err := io.WriteString(w.W, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}
