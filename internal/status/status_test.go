package status

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func TestCollect(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Empty database: every section renders.
	st, err := Collect(ctx, db.Pool, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no run yet", "nothing loaded yet", "ROWS PER LAYER", "no export yet"} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("empty status lacks %q:\n%s", want, buf.String())
		}
	}

	exec(`INSERT INTO meta.runs (status, exit_code, failed_step, error, steps, finished_at, started_at)
		VALUES ('ok', 0, NULL, NULL, '[{"name":"load","status":"ok","duration_ms":12,"counts":{"files":2}}]', now(), now() - interval '3 seconds'),
		       ('failed', 1, 'load', 'bad.csv: line 2: not a number', '[{"name":"load","status":"failed","duration_ms":5}]', now(), now() - interval '1 second')`)
	exec(`INSERT INTO meta.loads (source, file_name, file_sha256, status, rows_read, rows_loaded, rows_rejected, max_date, finished_at)
		VALUES ('ml_forecasts', 'f1.csv', 'aa', 'loaded', 10, 9, 1, '2025-11-10', now() - interval '2 hours'),
		       ('ml_forecasts', 'f2.csv', 'bb', 'loaded', 5, 5, 0, '2025-11-11', now() - interval '1 hour'),
		       ('ml_forecasts', 'bad.csv', 'cc', 'failed', 0, 0, 0, NULL, now())`)
	exec(`UPDATE meta.loads SET error = 'line 2: not a number' WHERE file_name = 'bad.csv'`)
	exec(`INSERT INTO meta.watermarks (source, series, watermark) VALUES ('bcb_sgs', '432', '2025-11-10'), ('bcb_sgs', '11', '2025-11-11')`)
	exec(`INSERT INTO gold.dim_site (site_id) VALUES ('176'), ('ALL')`)

	st, err = Collect(ctx, db.Pool, Options{Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Runs) != 1 || st.Runs[0].Status != "failed" || st.Runs[0].FailedStep != "load" || len(st.Runs[0].Steps) != 1 {
		t.Fatalf("runs: %+v", st.Runs)
	}
	if st.Runs[0].DurationMS == nil || *st.Runs[0].DurationMS < 900 {
		t.Fatalf("duration %v", st.Runs[0].DurationMS)
	}
	if len(st.Sources) != 2 {
		t.Fatalf("sources: %+v", st.Sources)
	}
	sgs, ml := st.Sources[0], st.Sources[1]
	if sgs.Source != "bcb_sgs" || sgs.Watermark == nil || *sgs.Watermark != "2025-11-11" || sgs.Loads != 0 {
		t.Fatalf("bcb_sgs: %+v", sgs)
	}
	if ml.Loads != 2 || ml.RowsLoaded != 14 || ml.RowsRejected != 1 || *ml.MaxBusinessDate != "2025-11-11" ||
		ml.LastStatus != "failed" || ml.LastError == "" || ml.AgeSeconds == nil || *ml.AgeSeconds < 3500 || *ml.AgeSeconds > 3700 {
		t.Fatalf("ml_forecasts: %+v age %v", ml, ml.AgeSeconds)
	}
	layers := map[string]Layer{}
	for _, l := range st.Layers {
		layers[l.Layer] = l
	}
	for _, name := range []string{"bronze", "gold", "meta"} {
		if len(layers[name].Tables) == 0 {
			t.Fatalf("layer %s missing: %+v", name, st.Layers)
		}
	}
	var site *Table
	for i, tb := range layers["gold"].Tables {
		if tb.Name == "dim_site" {
			site = &layers["gold"].Tables[i]
		}
	}
	if site == nil || site.Rows == nil || *site.Rows != 2 {
		t.Fatalf("gold.dim_site: %+v", site)
	}
	buf.Reset()
	if err := WriteText(&buf, st); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"load:failed", "bcb_sgs", "2025-11-11", "dim_site", "failed: line 2: not a number"} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("status lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := WriteJSON(&buf, st); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"runs", "sources", "layers", "last_export", "database", "checked_at"} {
		if _, ok := doc[k]; !ok {
			t.Fatalf("JSON lacks %q", k)
		}
	}
}

func TestCountTimeout(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	// A view that takes longer than the count timeout is reported, not fatal.
	if _, err := db.Pool.Exec(ctx, `CREATE VIEW silver.zz_slow AS SELECT 1 AS x FROM pg_sleep(2)`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := Collect(ctx, db.Pool, Options{CountTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 1900*time.Millisecond {
		t.Fatalf("the count timeout was not applied (%s)", time.Since(start))
	}
	for _, l := range st.Layers {
		for _, tb := range l.Tables {
			if tb.Name == "zz_slow" {
				if tb.Rows != nil || !strings.Contains(tb.Note, "not counted") {
					t.Fatalf("slow view: %+v", tb)
				}
				return
			}
		}
	}
	t.Fatal("slow view not listed")
}

// Rows per layer: small tables are counted exactly, larger ones (here: any
// with data, ExactBytes 1) show the statistics' estimate flagged as such,
// views are not counted, and nothing is ever an error text.
func TestRowsEstimatedAndViewsNotCounted(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO gold.dim_site (site_id) SELECT g::text FROM generate_series(1, 500) g;
		ANALYZE gold.dim_site`); err != nil {
		t.Fatal(err)
	}
	find := func(st *Status, layer, name string) Table {
		t.Helper()
		for _, l := range st.Layers {
			for _, tb := range l.Tables {
				if l.Layer == layer && tb.Name == name {
					return tb
				}
			}
		}
		t.Fatalf("%s.%s not listed", layer, name)
		return Table{}
	}
	exact, err := Collect(ctx, db.Pool, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tb := find(exact, "gold", "dim_site"); tb.Rows == nil || *tb.Rows != 500 || tb.Estimated {
		t.Fatalf("small table: %+v", tb)
	}
	est, err := Collect(ctx, db.Pool, Options{ExactBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if tb := find(est, "gold", "dim_site"); tb.Rows == nil || *tb.Rows != 500 || !tb.Estimated {
		t.Fatalf("estimated table: %+v", tb)
	}
	if tb := find(est, "gold", "fact_forecast"); tb.Rows == nil || *tb.Rows != 0 || tb.Estimated {
		t.Fatalf("an empty table is counted: %+v", tb)
	}
	view := find(est, "silver", "erp_lines")
	if view.Kind != "view" || view.Rows != nil || !strings.Contains(view.Note, "not counted") {
		t.Fatalf("view: %+v", view)
	}
	var gold Layer
	for _, l := range est.Layers {
		if l.Layer == "gold" {
			gold = l
		}
	}
	if !gold.Estimated || gold.Rows < 500 {
		t.Fatalf("gold total %+v", gold)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, est); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"~ = estimate", "dim_site", "~500", "view: not counted"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "ERROR") {
		t.Errorf("an error printed as a value:\n%s", buf.String())
	}
}

// --exact: every table and view counted; a view slower than the count
// timeout is noted as such (never with the server's error text).
func TestExactCountTimeout(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `CREATE VIEW silver.zz_slow AS SELECT 1 AS x FROM pg_sleep(30)`); err != nil {
		t.Fatal(err)
	}
	st, err := Collect(ctx, db.Pool, Options{Exact: true, CountTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var slow, lines *Table
	for _, l := range st.Layers {
		for i, tb := range l.Tables {
			switch tb.Name {
			case "zz_slow":
				slow = &l.Tables[i]
			case "erp_lines":
				lines = &l.Tables[i]
			}
		}
	}
	if slow == nil || slow.Rows != nil || slow.Note != "not counted within --count-timeout 200ms" {
		t.Fatalf("slow view: %+v", slow)
	}
	if lines == nil || lines.Rows == nil || *lines.Rows != 0 || lines.Estimated {
		t.Fatalf("view counted with --exact: %+v", lines)
	}
}
