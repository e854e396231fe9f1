package sweep

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// progressView shows a sweep's progress: a bar on a terminal, else a
// plain line at most every few seconds, and a last line when it ends.
//
// A sweep calls show from one goroutine at a time. The bar draws itself on
// a goroutine of its own, which reads the text it shows through an atomic
// pointer: no lock is held while the bar is told anything, so the two can
// never wait for each other.
type progressView struct {
	mu    sync.Mutex // guards last and ended
	w     io.Writer
	bars  *mpb.Progress // on a terminal
	bar   *mpb.Bar
	text  atomic.Pointer[string] // the counts the bar shows
	every time.Duration
	now   func() time.Time
	last  time.Time // when the last line was printed
	name  string
	ended bool
}

func newProgressView[T any](w io.Writer, terminal bool, every time.Duration, now func() time.Time, points []Point[T]) *progressView {
	v := &progressView{w: w, every: every, now: now, last: now()}
	if len(points) > 0 {
		fn := points[0].Call.Func
		v.name = fn[strings.LastIndexByte(fn, '/')+1:]
	}
	if terminal {
		v.bars = mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh(), mpb.WithRefreshRate(100*time.Millisecond))
		v.bar = v.bars.AddBar(int64(len(points)),
			mpb.BarRemoveOnComplete(),
			mpb.BarWidth(24),
			mpb.PrependDecorators(decor.Name(v.name+" "), decor.CountersNoUnit("%d/%d")),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				if t := v.text.Load(); t != nil {
					return *t
				}
				return ""
			})),
		)
	}
	return v
}

// note prints a line of its own about the sweep, before its progress.
func (v *progressView) note(text string) {
	fmt.Fprintf(v.w, "cachegen: %s: %s\n", v.name, text)
}

// show draws p; doing says what the sweep is doing besides (computing
// points, waiting for others' points), or is empty; final is the sweep's
// end, whose line is printed once: a line of every point done waits for
// it.
func (v *progressView) show(p Progress, doing string, final bool) {
	v.mu.Lock()
	if v.ended {
		v.mu.Unlock()
		return
	}
	v.ended = final
	due := final || v.now().Sub(v.last) >= v.every && p.Done < p.Total
	if due {
		v.last = v.now()
	}
	v.mu.Unlock()
	if v.bar != nil {
		text := p.counts()
		if p.ETA > 0 {
			text += fmt.Sprintf(", about %s left", p.ETA.Round(time.Second))
		}
		if doing != "" {
			text += "; " + doing
		}
		v.text.Store(&text)
		v.bar.SetCurrent(int64(p.Done))
		if final {
			v.bar.SetTotal(-1, true) // complete, and removed
			v.bars.Wait()
			fmt.Fprintln(v.w, v.line(p, ""))
		}
		return
	}
	if due {
		fmt.Fprintln(v.w, v.line(p, doing))
	}
}

// line is the progress as one line of text.
func (v *progressView) line(p Progress, doing string) string {
	s := fmt.Sprintf("cachegen: %s: %d/%d done (%s), %s elapsed", v.name, p.Done, p.Total, p.counts(), p.Elapsed.Round(time.Second))
	if p.ETA > 0 {
		s += fmt.Sprintf(", about %s left", p.ETA.Round(time.Second))
	}
	if doing != "" {
		s += "; " + doing
	}
	return s
}

// counts spells the kinds of points done.
func (p Progress) counts() string {
	return fmt.Sprintf("%d hits, %d computed here, %d elsewhere, %d failed", p.Hits, p.Computed, p.Elsewhere, p.Failed)
}
