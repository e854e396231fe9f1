package runtime

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
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

// show draws p; final is the sweep's end.
func (v *progressView) show(p Progress, final bool) {
	v.mu.Lock()
	if v.ended {
		v.mu.Unlock()
		return
	}
	v.ended = final
	due := final || v.now().Sub(v.last) >= v.every
	if due {
		v.last = v.now()
	}
	v.mu.Unlock()
	if v.bar != nil {
		text := p.counts()
		if p.ETA > 0 {
			text += fmt.Sprintf(", about %s left", p.ETA.Round(time.Second))
		}
		v.text.Store(&text)
		v.bar.SetCurrent(int64(p.Done))
		if final {
			v.bar.SetTotal(-1, true) // complete, and removed
			v.bars.Wait()
			fmt.Fprintln(v.w, v.line(p))
		}
		return
	}
	if due {
		fmt.Fprintln(v.w, v.line(p))
	}
}

// line is the progress as one line of text.
func (v *progressView) line(p Progress) string {
	s := fmt.Sprintf("cachegen: %s: %d/%d done (%s), %s elapsed", v.name, p.Done, p.Total, p.counts(), p.Elapsed.Round(time.Second))
	if p.ETA > 0 {
		s += fmt.Sprintf(", about %s left", p.ETA.Round(time.Second))
	}
	return s
}

// counts spells the kinds of points done.
func (p Progress) counts() string {
	return fmt.Sprintf("%d hits, %d computed here, %d elsewhere, %d failed", p.Hits, p.Computed, p.Elsewhere, p.Failed)
}

// The compute times of a function's points, kept between sweeps for their
// estimates: the last maxDurations of them, one decimal count of
// nanoseconds a line, in dir/sweeps/<16 hex digits of the SHA-256 of the
// function's name and version>. A record that does not parse is ignored.
const maxDurations = 64

func durationsName(call Call) string {
	sum := sha256.Sum256([]byte(call.Func + "\x00" + strconv.Itoa(call.Version)))
	return path.Join("sweeps", hex.EncodeToString(sum[:8]))
}

// loadDurations returns the compute times recorded for call's function.
func (c *Cache) loadDurations(call Call) []time.Duration {
	if c.mode == ModeOff || !c.disk.private {
		return nil
	}
	r, err := c.disk.openRoot(false)
	if err != nil {
		return nil
	}
	f, err := c.disk.openLockFile(r, durationsName(call), 0) // a regular file of ours, opened non-blocking
	if err != nil {
		return nil
	}
	defer f.Close()
	var ds []time.Duration
	sc := bufio.NewScanner(io.LimitReader(f, 32*maxDurations))
	for sc.Scan() && len(ds) < maxDurations {
		n, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil || n < 0 {
			return nil
		}
		ds = append(ds, time.Duration(n))
	}
	return ds
}

// recordDurations adds measured compute times to call's function's record.
func (c *Cache) recordDurations(call Call, measured []time.Duration) {
	if c.mode == ModeOff || c.mode == ModeReadOnly || !c.disk.private {
		return
	}
	ds := append(c.loadDurations(call), measured...)
	ds = ds[max(0, len(ds)-maxDurations):]
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(strconv.FormatInt(int64(d), 10))
		b.WriteByte('\n')
	}
	name := durationsName(call)
	c.disk.replace(name, path.Base(name), []byte(b.String()))
}
