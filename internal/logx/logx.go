package logx

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DurationKey is the one name of a duration in log lines: whole
// milliseconds. Other durations (a pause, a wait) are logged as
// <name>_ms; ReplaceDurations enforces it for any time.Duration value.
const DurationKey = "duration_ms"

// Since is the duration_ms attribute of the work started at start.
func Since(start time.Time) slog.Attr { return Duration(time.Since(start)) }

// Duration is the duration_ms attribute of d.
func Duration(d time.Duration) slog.Attr { return slog.Int64(DurationKey, d.Milliseconds()) }

// ReplaceDurations is a slog ReplaceAttr function: a time.Duration value
// (which the JSON handler would write in nanoseconds) becomes an integer
// number of milliseconds, its key suffixed with _ms ("pause" ->
// "pause_ms"; "duration" -> "duration_ms").
func ReplaceDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	key := a.Key
	if !strings.HasSuffix(key, "_ms") {
		key += "_ms"
	}
	return slog.Int64(key, a.Value.Duration().Milliseconds())
}

// Options choose the format and destinations.
type Options struct {
	Format string // "text" (default) or "json"
	// File, when not "", also receives every line (JSON, debug level). The
	// file and its folder are created on the first line written, so a
	// command that logs nothing leaves no trace.
	File  string
	Level slog.Level
}

// New returns a logger writing to stderr and to opts.File, and a closer for
// the file.
func New(stderr io.Writer, opts Options) (*slog.Logger, io.Closer, error) {
	hopts := &slog.HandlerOptions{Level: opts.Level, ReplaceAttr: ReplaceDurations}
	var h slog.Handler
	switch opts.Format {
	case "", "text":
		h = slog.NewTextHandler(stderr, hopts)
	case "json":
		h = slog.NewJSONHandler(stderr, hopts)
	default:
		return nil, nil, fmt.Errorf("--log-format must be text or json, not %q", opts.Format)
	}
	if opts.File == "" {
		return slog.New(h), io.NopCloser(nil), nil
	}
	f := &lazyFile{path: opts.File, stderr: stderr}
	// The file always gets JSON lines at debug level for later analysis;
	// the terminal gets the chosen format.
	fh := slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: ReplaceDurations})
	return slog.New(slog.NewMultiHandler(h, fh)), f, nil
}

// lazyFile opens (creating its folder) on the first write. When it cannot,
// it says so once on stderr and drops the file's lines: the terminal
// still gets them.
type lazyFile struct {
	path   string
	stderr io.Writer

	mu     sync.Mutex
	f      *os.File
	failed bool
}

func (l *lazyFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed {
		return len(p), nil
	}
	if l.f == nil {
		if err := l.open(); err != nil {
			l.failed = true
			fmt.Fprintf(l.stderr, "novawh: warning: log file disabled: %v\n", err)
			return len(p), nil
		}
	}
	return l.f.Write(p)
}

func (l *lazyFile) open() error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return fmt.Errorf("log file %s: %w", l.path, err)
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("log file %s: %w", l.path, err)
	}
	l.f = f
	return nil
}

func (l *lazyFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed = true // nothing is written (nor created) after Close
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// OneLine flattens a message for one-line errors, log fields, tables and
// alerts: line breaks become "; " and runs of white space one space.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
