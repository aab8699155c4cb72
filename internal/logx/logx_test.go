package logx_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/logx"
)

// The file and its folder appear with the first line, not before.
func TestFileCreatedOnFirstWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "sub", "data_ingestion.log")
	var stderr bytes.Buffer
	log, closer, err := logx.New(&stderr, logx.Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs")); !os.IsNotExist(err) {
		t.Fatalf("log folder exists before any line: %v", err)
	}
	log.Debug("to the file only", "k", 1)
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(b, &line); err != nil || line["msg"] != "to the file only" {
		t.Fatalf("file %q: %v", b, err)
	}
	if stderr.Len() != 0 {
		t.Fatalf("debug line on stderr at info level: %q", stderr.String())
	}
	// Nothing is written after Close.
	log.Info("late")
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Fatalf("written after Close: %q", b2)
	}
}

// A log file that cannot be created is reported once on stderr; the lines
// still reach stderr.
func TestUnwritableFileWarnsOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	log, closer, err := logx.New(&stderr, logx.Options{File: filepath.Join(blocker, "x.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	log.Info("one")
	log.Info("two")
	out := stderr.String()
	if strings.Count(out, "log file disabled") != 1 || !strings.Contains(out, "msg=one") || !strings.Contains(out, "msg=two") {
		t.Fatalf("stderr:\n%s", out)
	}
}

// Durations are whole milliseconds under a _ms key, in the file and on the
// terminal, whatever the caller passed.
func TestDurationsInMilliseconds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []any
		want map[string]float64
	}{
		{"helper", []any{logx.Duration(1500 * time.Millisecond)}, map[string]float64{"duration_ms": 1500}},
		{"time.Duration under duration", []any{"duration", 2 * time.Second}, map[string]float64{"duration_ms": 2000}},
		{"time.Duration under elapsed", []any{"elapsed", 250 * time.Millisecond}, map[string]float64{"elapsed_ms": 250}},
		{"already _ms", []any{"pause_ms", 3 * time.Second}, map[string]float64{"pause_ms": 3000}},
		{"in a group", []any{slogGroup()}, map[string]float64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "l.log")
			var stderr bytes.Buffer
			log, closer, err := logx.New(&stderr, logx.Options{Format: "json", File: path})
			if err != nil {
				t.Fatal(err)
			}
			log.Info("m", tc.args...)
			closer.Close()
			b, _ := os.ReadFile(path)
			for _, src := range [][]byte{b, stderr.Bytes()} {
				sc := bufio.NewScanner(bytes.NewReader(src))
				for sc.Scan() {
					var m map[string]any
					if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
						t.Fatal(err)
					}
					for k, v := range tc.want {
						if m[k] != v {
							t.Errorf("%s = %v, want %v in %s", k, m[k], v, sc.Text())
						}
					}
					for _, k := range []string{"duration", "elapsed"} {
						if _, ok := m[k]; ok {
							t.Errorf("key %s left in %s", k, sc.Text())
						}
					}
					if g, ok := m["g"].(map[string]any); ok && g["wait_ms"] != float64(40) {
						t.Errorf("duration in a group: %s", sc.Text())
					}
				}
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	if got := logx.OneLine("a\n  b\t c\n"); got != "a; b c;" {
		t.Fatalf("%q", got)
	}
}

func slogGroup() any { return slog.Group("g", "wait", 40*time.Millisecond) }
