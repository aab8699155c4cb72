package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// novawh run --metrics-file writes the run's series as a node-exporter
// textfile.
func TestRunMetricsFile(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	dir := t.TempDir()
	prom := filepath.Join(dir, "novawh.prom")
	var out, errb bytes.Buffer
	code := Run(t.Context(), []string{"run", "--offline", "--skip-export", "--inputs-dir", filepath.Join("..", "..", "data", "raw", "samples"),
		"--metrics-file", prom, "--database-url", db.URL, "--log-file", ""}, &out, &errb)
	if code != 0 {
		t.Fatalf("novawh run: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# TYPE novawh_run_last_success gauge", "novawh_run_last_success 1\n", `novawh_run_last_status{status="ok",trigger="cli"} 1`, "novawh_run_last_duration_seconds "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, b)
		}
	}
}
