package runmetrics_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/novacorrente/novawh/internal/runmetrics"
)

func TestWriteTextfile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "novawh.prom")
	start := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	if err := runmetrics.WriteTextfile(path, runmetrics.Run{Status: "failed", Trigger: "cli", StartedAt: start, Duration: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("not a valid textfile: %v", err)
	}
	want := map[string]float64{"novawh_run_last_success": 0, "novawh_run_last_duration_seconds": 90, "novawh_run_last_start_timestamp_seconds": float64(start.Unix()), "novawh_run_last_status": 1}
	for name, v := range want {
		fam := fams[name]
		if fam == nil || fam.GetType() != dto.MetricType_GAUGE || fam.GetMetric()[0].GetGauge().GetValue() != v {
			t.Errorf("%s: %v, want gauge %v", name, fam, v)
		}
	}
	if l := fams["novawh_run_last_status"].GetMetric()[0].GetLabel(); len(l) != 2 || l[0].GetValue() != "failed" || l[1].GetValue() != "cli" {
		t.Errorf("status labels %v", l)
	}
	// No temporary file left beside it.
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d files in the folder", len(entries))
	}
}
