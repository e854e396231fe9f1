// Package logline is cachegen's default log handler: one plain line per
// record, "cachegen: [HIT] key=… fn=…", with the level named when it is
// not Info. Debug records are dropped. Lines written by one handler and
// those derived from it never interleave.
package logline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
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
	line += r.Message
	emit := func(a slog.Attr) bool {
		line += fmt.Sprintf(" %s=%v", a.Key, a.Value)
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
