package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// DefaultThrottle is the shortest interval between two frames of a bar.
const DefaultThrottle = 100 * time.Millisecond

// Options tune a Reporter. The zero value is what commands use.
type Options struct {
	// Terminal reports whether w is an interactive terminal; nil uses
	// IsTerminal. Tests inject it.
	Terminal func(w io.Writer) bool
	// Throttle is the shortest interval between two frames (default
	// DefaultThrottle). The first frame is always drawn at once.
	Throttle time.Duration
}

// IsTerminal reports whether f (an *os.File such as os.Stderr or
// os.Stdin) is attached to a terminal.
func IsTerminal(f any) bool {
	fd, ok := f.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(fd.Fd()))
}

// Reporter draws progress on one writer (normally stderr).
type Reporter struct {
	out      *lockedWriter
	throttle time.Duration

	startMu sync.Mutex // one start at a time: the previous line is cleared first
	mu      sync.Mutex
	active  *Task
}

// New returns a Reporter drawing on w, or nil (quiet) when w is not a
// terminal.
func New(w io.Writer, opts Options) *Reporter {
	isTerm := opts.Terminal
	if isTerm == nil {
		isTerm = func(w io.Writer) bool { return IsTerminal(w) }
	}
	if w == nil || !isTerm(w) {
		return nil
	}
	th := opts.Throttle
	if th <= 0 {
		th = DefaultThrottle
	}
	return &Reporter{out: &lockedWriter{w: w}, throttle: th}
}

// Enabled reports whether r draws anything.
func (r *Reporter) Enabled() bool { return r != nil }

// Bytes starts a bar counting bytes out of total (the size of a file),
// with the transfer rate and the elapsed time. total <= 0 draws a spinner
// with the byte count.
func (r *Reporter) Bytes(desc string, total int64) *Task {
	if r == nil {
		return nil
	}
	if total <= 0 {
		return r.start(desc, "bytes", -1)
	}
	return r.start(desc, "", total,
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetPredictTime(true))
}

// Count starts a bar counting things (unit: "rows", "partitions",
// "windows") out of total, with the count and the elapsed time. total <= 0
// (not known in advance) draws a spinner followed by the running count.
func (r *Reporter) Count(desc string, total int64, unit string) *Task {
	if r == nil {
		return nil
	}
	if total <= 0 {
		return r.start(desc, unit, -1)
	}
	return r.start(desc, unit, total,
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(false))
}

func (r *Reporter) start(desc, unit string, total int64, extra ...progressbar.Option) *Task {
	t := &Task{r: r, desc: desc, unit: unit, spinner: total < 0}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(r.out),
		progressbar.OptionSetDescription(t.label(0)),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(r.throttle),
		progressbar.OptionClearOnFinish(),
		// The first frame is drawn now, at 0: the clock starts here, not
		// at the first Add.
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionSetWidth(30),
	}
	if t.spinner {
		opts = append(opts, progressbar.OptionSpinnerType(14), progressbar.OptionSetPredictTime(false))
	}
	opts = append(opts, extra...)
	r.startMu.Lock()
	defer r.startMu.Unlock()
	r.mu.Lock()
	prev := r.active
	r.mu.Unlock()
	prev.Done()
	t.bar = progressbar.NewOptions64(total, opts...)
	r.mu.Lock()
	r.active = t
	r.mu.Unlock()
	return t
}

// Writer returns a writer for log lines shown on the same terminal: each
// write first clears the line of the task being drawn (the bar is drawn
// again at its next update). With a nil Reporter it returns w itself.
func (r *Reporter) Writer(w io.Writer) io.Writer {
	if r == nil {
		return w
	}
	return &logWriter{r: r, w: w}
}

// Task is one bar or spinner. A nil *Task does nothing.
type Task struct {
	r       *Reporter
	bar     *progressbar.ProgressBar
	desc    string
	unit    string
	spinner bool

	mu   sync.Mutex
	n    int64
	done bool
}

// Add counts n more units (bytes, rows, ...).
func (t *Task) Add(n int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	t.n += n
	if t.spinner {
		t.bar.Describe(t.label(t.n))
	}
	_ = t.bar.Add64(n)
}

// N is the count so far (0 for a nil Task).
func (t *Task) N() int64 {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// Describe changes the text before the bar (a new phase of the work).
func (t *Task) Describe(desc string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	t.desc = desc
	t.bar.Describe(t.label(t.n))
}

// Reader counts the bytes read through rd.
func (t *Task) Reader(rd io.Reader) io.Reader {
	if t == nil {
		return rd
	}
	return &countingReader{r: rd, t: t}
}

// Done clears the task's line. It may be called more than once.
func (t *Task) Done() {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	_ = t.bar.Finish()
	t.mu.Unlock()
	t.r.mu.Lock()
	if t.r.active == t {
		t.r.active = nil
	}
	t.r.mu.Unlock()
}

// label is the text before the bar; spinners carry the running count.
func (t *Task) label(n int64) string {
	if !t.spinner {
		return t.desc
	}
	if t.unit == "bytes" {
		return fmt.Sprintf("%s %s", t.desc, humanBytes(n))
	}
	return fmt.Sprintf("%s %s %s", t.desc, groupDigits(n), t.unit)
}

type countingReader struct {
	r io.Reader
	t *Task
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.t.Add(int64(n))
	}
	return n, err
}

// lockedWriter serialises the frames of bars and the log lines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type logWriter struct {
	r *Reporter
	w io.Writer
}

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

func (l *logWriter) Write(p []byte) (int, error) {
	l.r.mu.Lock()
	drawing := l.r.active != nil
	l.r.mu.Unlock()
	l.r.out.mu.Lock()
	defer l.r.out.mu.Unlock()
	if drawing {
		if _, err := io.WriteString(l.w, clearLine); err != nil {
			return 0, err
		}
	}
	return l.w.Write(p)
}

func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
