package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
	nightly "github.com/novacorrente/novawh/internal/run"
	"github.com/novacorrente/novawh/internal/serve"
)

// The API's refresh job is the nightly job without pull and export: it
// loads the configured inputs, refreshes gold and records an 'api' run.
func TestServeRefresherRunsTheJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	samples, err := filepath.Abs(filepath.Join("..", "..", "data", "raw", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	// The project's configuration with its input folders pointed at the samples.
	proj, err := os.ReadFile(filepath.Join("..", "..", "novawh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(proj), "paths: [data/raw/", fmt.Sprintf("paths: [%s/", samples))
	if cfg == string(proj) {
		t.Fatal("novawh.yaml has no data/raw input folders to redirect")
	}
	cfgPath := filepath.Join(t.TempDir(), "novawh.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	app := &App{DatabaseURL: db.URL, ConfigPath: cfgPath, LogFormat: "text", Stdout: os.Stdout, Stderr: os.Stderr}
	defer app.close()
	r, err := newServeRefresher(app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Refresh(ctx, "nonsense", false); err == nil {
		t.Fatal("unknown source accepted")
	}
	summary, err := r.Refresh(ctx, serve.RefreshSourceML, false)
	if err != nil {
		t.Fatalf("refresh job: %v", err)
	}
	rep, ok := summary.(*nightly.Report)
	if !ok || rep.Trigger != "api" {
		t.Fatalf("summary %#v", summary)
	}
	var trigger string
	var facts, loads int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT trigger FROM meta.runs WHERE run_id = $1),
		(SELECT count(*) FROM gold.fact_forecast), (SELECT count(*) FROM meta.loads WHERE status = 'loaded')`, rep.RunID).Scan(&trigger, &facts, &loads); err != nil {
		t.Fatal(err)
	}
	if trigger != "api" || facts == 0 || loads == 0 {
		t.Fatalf("run trigger %q, %d gold facts, %d loads", trigger, facts, loads)
	}
	for _, s := range rep.Steps {
		if s.Name == "export" && s.Status != "skipped" {
			t.Fatalf("the API refresh exported: %+v", s)
		}
	}
}
