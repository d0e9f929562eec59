package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress shows, on a terminal, what a long command is doing: once it
// has run for a second, a line "tfc: PHASE… 2.3 s" rewritten in place
// until it stops, which clears it. On anything but a terminal (a file, a
// pipe, a test's buffer) it is silent: startProgress returns nil, whose
// methods do nothing.
type progress struct {
	w        io.Writer
	start    time.Time
	after    time.Duration // shown only after this long
	mu       sync.Mutex
	phase    string
	shown    bool
	stop     chan struct{}
	finished chan struct{}
	once     sync.Once
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// startProgress starts a progress line on w when w is a terminal.
func startProgress(w io.Writer) *progress {
	if !isTerminal(w) {
		return nil
	}
	return newProgress(w, time.Second, 100*time.Millisecond)
}

func newProgress(w io.Writer, after, every time.Duration) *progress {
	p := &progress{w: w, start: time.Now(), after: after, stop: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	el := time.Since(p.start)
	if el < p.after || p.phase == "" {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[Ktfc: %s… %.1f s", p.phase, el.Seconds())
	p.shown = true
}

// Phase says what the command does now.
func (p *progress) Phase(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.phase = s
	p.mu.Unlock()
}

// Stop ends the progress line, clearing it from the terminal.
func (p *progress) Stop() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		<-p.finished
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.shown {
			fmt.Fprint(p.w, "\r\x1b[K")
		}
	})
}

// firstWrite calls f before the first byte written through it.
type firstWrite struct {
	w    io.Writer
	once sync.Once
	f    func()
}

func (fw *firstWrite) Write(b []byte) (int, error) {
	fw.once.Do(fw.f)
	return fw.w.Write(b)
}
