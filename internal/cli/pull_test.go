package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// novawh pull against a local replay of the BCB SGS API.
func TestPullCommand(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "pull", "bcb_sgs_432.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.UserAgent(), "novawh") {
			http.Error(w, "no user agent", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/sgs/bcdata.sgs.432/dados":
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		default:
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "novawh.yaml")
	if err := os.WriteFile(cfg, []byte(`version: 1
pull:
  backoff_min: 10ms
  backoff_max: 20ms
  bcb_sgs:
    start: "2024-12-01"
    series: [{code: "432", name: selic_target}, {code: "999", name: missing}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--database-url", db.URL, "--log-file", "", "--config", cfg, "--base-url", srv.URL + "/sgs"}

	code, out, errOut := run(append([]string{"pull", "bcb_sgs", "--json", "--offline=false", "--to", "2025-11-11"}, common...)...)
	if code != 1 || !strings.Contains(errOut, "1 of 2 series failed") || !strings.Contains(errOut, "HTTP 404") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var sum struct {
		Results []struct {
			Source, Series, Status, Watermark, Error string
			Windows                                  int
			RowsLoaded                               int64 `json:"rows_loaded"`
		} `json:"results"`
		Failed int `json:"failed"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if sum.Failed != 1 || len(sum.Results) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	r := sum.Results[0]
	if r.Source != "bcb_sgs" || r.Series != "432" || r.Status != "ok" || r.Windows != 1 || r.RowsLoaded != 5 || r.Watermark != "2025-01-30" {
		t.Errorf("432: %+v", r)
	}
	if r := sum.Results[1]; r.Status != "failed" || !strings.Contains(r.Error, "HTTP 404") {
		t.Errorf("999: %+v", r)
	}

	// Usage errors exit 2.
	for _, args := range [][]string{{"pull"}, {"pull", "bcb_sgs", "--all"}, {"pull", "nope"}, {"pull", "bcb_sgs", "--from", "1/1/2020"},
		{"pull", "bcb_sgs", "bcb_ptax", "--base-url", "http://127.0.0.1:1"}} {
		if code, _, errOut := run(append(args, "--log-file", "")...); code != 2 {
			t.Errorf("novawh %v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
	// Offline: nothing pulled, exit 0, no database needed.
	code, out, errOut = run("pull", "--all", "--offline", "--log-file", "", "--database-url", "postgres://nobody@127.0.0.1:1/none")
	if code != 0 || !strings.Contains(out, "skipped") || !strings.Contains(errOut, "offline") {
		t.Fatalf("offline: exit %d\n%s\n%s", code, out, errOut)
	}
}
