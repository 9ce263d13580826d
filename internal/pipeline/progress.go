package pipeline

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress prints a live "dataset: N rows (R rows/s)" line to a terminal.
// A nil *Progress does nothing, so callers need not check.
type Progress struct {
	w     io.Writer
	rows  atomic.Int64
	mu    sync.Mutex
	stop  chan struct{}
	done  chan struct{}
	label string
	start time.Time
}

// NewProgress returns a progress line on w (use only when w is a terminal).
func NewProgress(w io.Writer) *Progress { return &Progress{w: w} }

// Add counts n more rows.
func (p *Progress) Add(n int64) {
	if p != nil {
		p.rows.Add(n)
	}
}

// Start begins a progress line for label.
func (p *Progress) Start(label string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rows.Store(0)
	p.label, p.start = label, time.Now()
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop(p.stop, p.done)
}

func (p *Progress) loop(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-t.C:
			n := p.rows.Load()
			rate := float64(n) / time.Since(p.start).Seconds()
			fmt.Fprintf(p.w, "\r\033[K%s: %d rows (%.0f rows/s)", p.label, n, rate)
		}
	}
}

// Stop ends the progress line.
func (p *Progress) Stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop = nil
	}
}

// Wrap returns a writer for log lines that clears the progress line before
// each write, so a log line never runs into it.
func (p *Progress) Wrap(w io.Writer) io.Writer { return progressWriter{p: p, w: w} }

type progressWriter struct {
	p *Progress
	w io.Writer
}

func (pw progressWriter) Write(b []byte) (int, error) {
	pw.p.mu.Lock()
	active := pw.p.stop != nil
	pw.p.mu.Unlock()
	if active {
		fmt.Fprint(pw.w, "\r\033[K")
	}
	return pw.w.Write(b)
}
