package load

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// TestSamples loads data/raw/samples (what `make demo` loads) without any
// flag: every file must load cleanly, ML metadata from the files' own
// columns or from their sidecars.
func TestSamples(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	dir := filepath.Join(repoRoot(t), "data", "raw", "samples")
	want := map[string]int{"erp_requisitions": 1, "erp_items": 1, "inventory": 1, "ml_forecasts": 4, "anatel_5g": 1}
	for source, n := range want {
		res, err := l.LoadPaths(ctx, source, []string{filepath.Join(dir, source)}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != n {
			t.Errorf("%s: %d files, want %d", source, len(res), n)
		}
		for _, r := range res {
			if r.Status != "loaded" || r.RowsRejected != 0 || r.RowsLoaded == 0 {
				t.Errorf("%s: %+v", source, r)
			}
			checkLedger(t, db.Pool, l.cfg.Sources[source].Table, r)
		}
	}
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.ml_forecasts WHERE model_version IS NULL OR generated_at IS NULL OR source IS NULL OR dataset_id IS NULL`); n != 0 {
		t.Errorf("%d forecast rows without ML metadata", n)
	}
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.ml_forecasts WHERE series_key = 'itemABRASIVOS_BATERIA_9V_site22' AND item_id = 'ABRASIVOS_BATERIA_9V' AND site_id = '22'`); n != 30 {
		t.Errorf("%d rows of the per-series file with key, item and site from its name, want 30", n)
	}
	if d := scalar[string](t, db.Pool, `SELECT string_agg(DISTINCT date::text || ' ' || source, ',') FROM bronze.inventory`); d != "2025-04-14 prescriptive" {
		t.Errorf("inventory date/source from the sidecar: %s", d)
	}
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.erp_requisitions WHERE solicited_date IS NULL`); n != 1 {
		t.Errorf("%d ERP rows without DATA SOLICITADO, want 1 (kept with NULL)", n)
	}
}

func TestSidecar(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	dir := t.TempDir()
	src, err := os.ReadFile(corpus(t, "good.csv"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "forecast.csv")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := l.LoadPaths(ctx, "ml_forecasts", []string{file}, Options{})
	if res[0].Status != "failed" || !strings.Contains(res[0].Error, "forecast.csv.meta.json") {
		t.Fatalf("without sidecar: %+v", res[0])
	}
	side := file + ".meta.json"
	if err := os.WriteFile(side, []byte(`{"model_version":"p-1","generated_at":"2025-10-01T03:00:00-03:00","source":"prophet","dataset_id":"d-9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ = l.LoadPaths(ctx, "ml_forecasts", []string{dir}, Options{})
	if len(res) != 1 || res[0].Status != "loaded" || res[0].RowsLoaded != 3 {
		t.Fatalf("with sidecar: %+v", res)
	}
	var mv, ms, ds string
	var gen time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT model_version, source, dataset_id, generated_at FROM bronze.ml_forecasts WHERE _load_id = $1 LIMIT 1`, res[0].LoadID).
		Scan(&mv, &ms, &ds, &gen); err != nil {
		t.Fatal(err)
	}
	if mv != "p-1" || ms != "prophet" || ds != "d-9" || !gen.Equal(time.Date(2025, 10, 1, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("sidecar metadata: %s %s %s %v", mv, ms, ds, gen)
	}
	// meta.loads keeps the metadata applied to the whole file.
	if got := scalar[string](t, db.Pool, `SELECT model_version || '/' || ml_source || '/' || dataset_id FROM meta.loads WHERE load_id = $1`, res[0].LoadID); got != "p-1/prophet/d-9" {
		t.Errorf("meta.loads metadata %s", got)
	}
	// Flags beat the sidecar.
	res, _ = l.LoadPaths(ctx, "ml_forecasts", []string{file}, Options{Force: true, Meta: MLMeta{ModelVersion: "flag-2"}})
	if got := scalar[string](t, db.Pool, `SELECT min(model_version) || '/' || min(source) FROM bronze.ml_forecasts WHERE _load_id = $1`, res[0].LoadID); got != "flag-2/prophet" {
		t.Errorf("flag over sidecar: %s", got)
	}
	// A broken sidecar fails the file, naming it.
	if err := os.WriteFile(side, []byte(`{"model_version":"p-1","generated":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ = l.LoadPaths(ctx, "ml_forecasts", []string{file}, Options{Force: true})
	if res[0].Status != "failed" || !strings.Contains(res[0].Error, `sidecar forecast.csv.meta.json: json: unknown field "generated"`) {
		t.Errorf("bad sidecar: %+v", res[0])
	}
}

func TestLoadReader(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	body, err := os.ReadFile(filepath.Join(repoRoot(t), "data", "raw", "samples", "anatel_5g", "anatel_acessos_5g_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	url := "https://example.test/dados/acessos_5g.csv?ano=2025"
	r, err := l.LoadReader(ctx, "anatel_5g", url, bytes.NewReader(body), Options{})
	if err != nil || r.Status != "loaded" || r.RowsLoaded != 54 || r.File != url {
		t.Fatalf("%+v %v", r, err)
	}
	checkLedger(t, db.Pool, "bronze.telecom_5g", r)
	sum := sha256.Sum256(body)
	var sha string
	var size int64
	if err := db.Pool.QueryRow(ctx, `SELECT file_sha256, file_bytes FROM meta.loads WHERE load_id = $1`, r.LoadID).Scan(&sha, &size); err != nil {
		t.Fatal(err)
	}
	if sha != hex.EncodeToString(sum[:]) || size != int64(len(body)) {
		t.Errorf("meta.loads sha %s bytes %d", sha, size)
	}
	r, err = l.LoadReader(ctx, "anatel_5g", url, bytes.NewReader(body), Options{})
	if err != nil || r.Status != "skipped" {
		t.Errorf("same bytes again: %+v %v", r, err)
	}
	r, err = l.LoadReader(ctx, "anatel_5g", url, bytes.NewReader(body), Options{Force: true})
	if err != nil || r.Status != "loaded" {
		t.Errorf("forced: %+v %v", r, err)
	}
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.telecom_5g`); n != 108 {
		t.Errorf("%d rows after a skip and a forced reload, want 108", n)
	}
	// Parquet bytes are spooled and loaded too.
	pq, err := os.ReadFile(filepath.Join(repoRoot(t), "data", "raw", "samples", "ml_forecasts", "storytelling_timeseries_sample.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	r, err = l.LoadReader(ctx, "ml_forecasts", "s3://bucket/storytelling.parquet", bytes.NewReader(pq), Options{})
	if err != nil || r.Status != "loaded" || r.RowsLoaded != 60 {
		t.Errorf("parquet reader: %+v %v", r, err)
	}
	pqSum := sha256.Sum256(pq)
	if got := scalar[string](t, db.Pool, `SELECT file_sha256 FROM meta.loads WHERE load_id = $1`, r.LoadID); got != hex.EncodeToString(pqSum[:]) {
		t.Errorf("parquet reader recorded sha256 %s, want the bytes' %x", got, pqSum)
	}
	// A broken input returns an error and a failed result.
	r, err = l.LoadReader(ctx, "anatel_5g", "https://example.test/empty.csv", strings.NewReader(""), Options{})
	if err == nil || r.Status != "failed" || !strings.Contains(err.Error(), "empty file") {
		t.Errorf("empty body: %+v %v", r, err)
	}
	checkLedger(t, db.Pool, "bronze.telecom_5g", r)
}
