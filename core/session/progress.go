package session

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

func sqrt(x float64) float64 { return math.Sqrt(x) }

// progress draws a one-line progress bar (steps/s, loss, ETA) on a terminal,
// and a line every few seconds otherwise (logs, CI).
type progress struct {
	w        io.Writer
	total    int
	start    time.Time
	last     time.Time
	terminal bool
	drawn    bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) update(step int, loss float64) {
	now := time.Now()
	interval := 5 * time.Second
	if p.terminal {
		interval = 100 * time.Millisecond
	}
	if now.Sub(p.last) < interval && step != p.total {
		return
	}
	p.last = now
	rate := float64(step) / now.Sub(p.start).Seconds()
	eta := time.Duration(float64(p.total-step)/max(rate, 1e-9)) * time.Second
	const width = 30
	filled := width * step / max(p.total, 1)
	line := fmt.Sprintf("[%s%s] %d/%d  %.1f steps/s  loss %.4f  ETA %s",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), step, p.total, rate, loss, eta.Round(time.Second))
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.drawn = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// note prints a message on its own line, keeping the bar below it.
func (p *progress) note(msg string) {
	if p.terminal && p.drawn {
		fmt.Fprintf(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(p.w, msg)
	p.last = time.Time{}
}

func (p *progress) done() {
	if p.terminal && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
