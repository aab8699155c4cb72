package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// The log file of a whole nightly run: JSON lines that all carry the run's
// run_id (the loader's and exporter's too), and durations only as whole
// milliseconds under *_ms keys.
func TestRunLogConventions(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "logs", "nested", "run.log")
	var out, errb bytes.Buffer
	code := Run(t.Context(), []string{"run", "--offline", "--json", "--inputs-dir", filepath.Join("..", "..", "data", "raw", "samples"),
		"--export-to", filepath.Join(dir, "exports"), "--database-url", db.URL, "--log-file", logFile}, &out, &errb)
	if code != 0 {
		t.Fatalf("novawh run: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var rep struct {
		RunID int64 `json:"run_id"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.RunID == 0 {
		t.Fatalf("run report: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", n, err, sc.Text())
		}
		if id, ok := line["run_id"].(float64); !ok || int64(id) != rep.RunID {
			t.Errorf("line %d has run_id %v, want %d: %s", n, line["run_id"], rep.RunID, sc.Text())
		}
		for k, v := range line {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "duration") || strings.Contains(lk, "elapsed") || strings.Contains(lk, "took") {
				if !strings.HasSuffix(k, "_ms") {
					t.Errorf("line %d: duration key %q is not *_ms: %s", n, k, sc.Text())
				}
				if k != "duration_ms" && (strings.Contains(lk, "elapsed") || strings.Contains(lk, "took")) {
					t.Errorf("line %d: %q: the duration of work is duration_ms: %s", n, k, sc.Text())
				}
				if f, ok := v.(float64); ok && f != float64(int64(f)) {
					t.Errorf("line %d: %s = %v is not whole milliseconds", n, k, v)
				}
			}
		}
		if s, ok := line["step"].(string); ok {
			seen[s]++
		}
		if msg, _ := line["msg"].(string); msg != "" {
			seen["msg:"+msg]++
		}
	}
	if n == 0 {
		t.Fatal("empty log file")
	}
	// The steps' own packages logged through the run's logger.
	for _, want := range []string{"load", "refresh", "check", "export", "msg:load", "msg:export finished", "msg:run finished"} {
		if seen[want] == 0 {
			t.Errorf("no log line of %q (seen %v)", want, seen)
		}
	}
}

// Only the commands that do pipeline work write the default log file, and
// only once they log something: `novawh db url`, `migrate version` or
// `version` leave no logs/ folder behind. (A subprocess: the default path
// is relative to the working directory.)
func TestLogFileOnlyForPipelineCommands(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	dir := t.TempDir()
	runIn := func(args ...string) (int, string) {
		t.Helper()
		code, _, stderr := runBinary(t, bin, dir, cleanEnv(), args...)
		return code, stderr
	}
	for _, args := range [][]string{
		{"version"},
		{"db", "status", "--dir", filepath.Join(dir, "nodb")},
		{"db", "url", "--dir", filepath.Join(dir, "nodb")},
		{"migrate", "version", "--database-url", "postgres://127.0.0.1:1/x?connect_timeout=5"},
		{"registry", "check", "--offline"},
	} {
		runIn(args...)
		if _, err := os.Stat(filepath.Join(dir, "logs")); !os.IsNotExist(err) {
			t.Fatalf("novawh %v created logs/ (%v)", args, err)
		}
	}
	// A pipeline command that logs (an offline pull warns that it skips).
	if code, stderr := runIn("pull", "--all", "--offline"); code != 0 {
		t.Fatalf("pull --offline: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "logs", "data_ingestion.log"))
	if err != nil || !json.Valid(bytes.TrimSpace(bytes.SplitN(b, []byte("\n"), 2)[0])) {
		t.Fatalf("pull did not write JSON lines to logs/data_ingestion.log: %v %q", err, b)
	}
}

// An explicit --log-file is written by any command that logs, pipeline or
// not.
func TestExplicitLogFile(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	path := filepath.Join(t.TempDir(), "logs", "migrate.log")
	var out, errb bytes.Buffer
	if code := Run(t.Context(), []string{"migrate", "up", "--database-url", db.URL, "--log-file", path}, &out, &errb); code != 0 {
		t.Fatalf("migrate up: exit %d: %s", code, errb.String())
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), `"msg":"migrations applied"`) {
		t.Fatalf("explicit log file: %v %q", err, b)
	}
}
