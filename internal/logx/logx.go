package logx

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Options choose the format and destinations.
type Options struct {
	Format string // "text" (default) or "json"
	File   string // "" disables the file
	Level  slog.Level
}

// New returns a logger writing to stderr and to opts.File, and a closer for
// the file.
func New(stderr io.Writer, opts Options) (*slog.Logger, io.Closer, error) {
	hopts := &slog.HandlerOptions{Level: opts.Level}
	mk := func(w io.Writer) (slog.Handler, error) {
		switch opts.Format {
		case "", "text":
			return slog.NewTextHandler(w, hopts), nil
		case "json":
			return slog.NewJSONHandler(w, hopts), nil
		default:
			return nil, fmt.Errorf("--log-format must be text or json, not %q", opts.Format)
		}
	}
	h, err := mk(stderr)
	if err != nil {
		return nil, nil, err
	}
	if opts.File == "" {
		return slog.New(h), io.NopCloser(nil), nil
	}
	if err := os.MkdirAll(filepath.Dir(opts.File), 0o755); err != nil {
		return nil, nil, fmt.Errorf("log file %s: %w", opts.File, err)
	}
	f, err := os.OpenFile(opts.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("log file %s: %w", opts.File, err)
	}
	// The file always gets JSON lines at debug level for later analysis;
	// the terminal gets the chosen format.
	fh := slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(slog.NewMultiHandler(h, fh)), f, nil
}

// OneLine flattens a message for one-line errors, log fields, tables and
// alerts: line breaks become "; " and runs of white space one space.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
