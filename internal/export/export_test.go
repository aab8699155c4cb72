package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/progress"
)

var day0 = time.Date(2025, 1, 30, 0, 0, 0, 0, time.UTC)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		partBy      string
		compression string
		rowGroup    int
		maxRows     int64
	}{
		{"day snappy", "day", "snappy", 0, 0},
		{"month zstd, small row groups, split files", "month", "zstd", 100, 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			seedGold(t, db.Pool, seed{day0: day0, days: 40, items: 9, sites: 4})
			root := t.TempDir()
			res := mustRun(t, db.Pool, Options{To: root, PartitionBy: tc.partBy, Compression: tc.compression,
				RowGroupRows: tc.rowGroup, MaxRowsPerFile: tc.maxRows})
			if res.RunID == 0 || res.FilesWritten == 0 || res.RowsWritten == 0 {
				t.Fatalf("result %+v", res)
			}
			for _, tr := range res.Tables {
				if tr.Mode != "full" || tr.Reason != "first export of the table to this target" {
					t.Fatalf("%s: mode %s (%s), want full on a first export", tr.Table, tr.Mode, tr.Reason)
				}
			}
			verifyExport(t, db.Pool, root, tc.partBy)
			ff := readManifest(t, root, "fact_forecast")
			if tc.partBy == "day" {
				if len(ff.Files) != 40 || ff.Files[0].Path != "date=2025-01-30/part-00000.parquet" {
					t.Fatalf("fact_forecast files: %d, first %+v", len(ff.Files), ff.Files[0])
				}
			} else {
				// 40 days from Jan 30: months 2025-01, 02, 03; 9*4*2 rows a day, 250 rows per file.
				if ff.Files[0].Path != "month=2025-01/part-00000.parquet" || ff.Files[1].Path != "month=2025-02/part-00000.parquet" {
					t.Fatalf("fact_forecast files: %+v", ff.Files[:2])
				}
				for _, f := range ff.Files {
					if f.Rows > 250 {
						t.Fatalf("file %s has %d rows, max 250", f.Path, f.Rows)
					}
				}
			}
			if dim := readManifest(t, root, "dim_item"); len(dim.Files) != 1 || dim.Files[0].Path != "part-00000.parquet" || dim.PartitionBy != "none" {
				t.Fatalf("dim_item manifest: %+v", dim)
			}
			// Run bookkeeping.
			var status string
			var files, rows int64
			if err := db.Pool.QueryRow(context.Background(), "SELECT status, files_written, rows_written FROM meta.export_runs WHERE run_id = $1",
				res.RunID).Scan(&status, &files, &rows); err != nil {
				t.Fatal(err)
			}
			if status != "succeeded" || files != int64(res.FilesWritten) || rows != res.RowsWritten {
				t.Fatalf("meta.export_runs: %s %d %d, result %+v", status, files, rows, res)
			}
			if _, err := os.Stat(filepath.Join(root, tmpDirName)); err == nil {
				entries, _ := os.ReadDir(filepath.Join(root, tmpDirName))
				if len(entries) != 0 {
					t.Fatalf("temporary folders left: %v", entries)
				}
			}
		})
	}
}

func TestIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	seedGold(t, db.Pool, seed{day0: day0, days: 10, items: 6, sites: 3})
	root := t.TempDir()
	day := Options{To: root, PartitionBy: "day"}
	mustRun(t, db.Pool, day)
	before := snapshotFiles(t, root)

	// Nothing changed: every table is unchanged and no file is touched.
	res := mustRun(t, db.Pool, day)
	for _, tr := range res.Tables {
		if tr.Mode != "unchanged" || tr.FilesWritten != 0 {
			t.Fatalf("%s: %+v, want unchanged", tr.Table, tr)
		}
	}
	sameFiles(t, before, snapshotFiles(t, root), nil)

	// A refresh rewrites day 3 (values change), day 5 (rows vanish) and adds
	// day 11; another touches a window with no rows at all.
	d := func(i int) string { return day0.AddDate(0, 0, i).Format(time.DateOnly) }
	execSQL(t, db, `UPDATE gold.fact_forecast SET forecast = forecast + 1 WHERE date = $1`, d(3))
	execSQL(t, db, `DELETE FROM gold.fact_forecast WHERE date = $1`, d(5))
	execSQL(t, db, `INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, model_version, generated_at, dataset_id)
		VALUES ($1, 'NEW', 'S1', 'arima', 42.5, 'prophet-1.3', now(), 'nova-ds-8')`, d(11))
	// The view gold.agg_forecast_rolling shows rows of gold.fact_forecast:
	// the refresh logs its windows too.
	execSQL(t, db, `INSERT INTO meta.gold_changes (table_name, date_from, date_to)
		SELECT t, d, d FROM unnest(ARRAY['gold.fact_forecast', 'gold.agg_forecast_rolling']) t,
		       unnest(ARRAY[$1::date, $2::date, $3::date, '2030-01-01'::date]) d`, d(3), d(5), d(11))
	res = mustRun(t, db.Pool, day)
	rolling := map[string]bool{"gold.fact_forecast": true, "gold.agg_forecast_rolling": true}
	for tbl := range rolling {
		ff := tableResult(t, res, tbl)
		if ff.Mode != "incremental" || !slices.Equal(ff.PartitionsWritten, []string{d(3), d(11)}) ||
			!slices.Equal(ff.PartitionsRemoved, []string{d(5)}) || ff.FilesKept != 8 || ff.FilesWritten != 2 || ff.FilesRemoved != 2 {
			t.Fatalf("%s: %+v", tbl, ff)
		}
	}
	for _, tr := range res.Tables {
		if !rolling[tr.Table] && tr.Mode != "unchanged" {
			t.Fatalf("%s: %s, want unchanged", tr.Table, tr.Mode)
		}
	}
	after := snapshotFiles(t, root)
	changed := map[string]bool{"gold/" + ManifestName: true}
	for _, tbl := range []string{"fact_forecast", "agg_forecast_rolling"} {
		for _, f := range []string{
			"date=" + d(3) + "/part-00000.parquet",
			"date=" + d(5) + "/part-00000.parquet",  // removed
			"date=" + d(11) + "/part-00000.parquet", // added
			ManifestName, SuccessName,
		} {
			changed["gold/"+tbl+"/"+f] = true
		}
	}
	sameFiles(t, before, after, changed)
	if _, ok := after["gold/fact_forecast/date="+d(5)+"/part-00000.parquet"]; ok {
		t.Fatal("the partition whose rows vanished is still there")
	}
	if _, err := os.Stat(filepath.Join(root, "gold", "fact_forecast", "date="+d(5))); !os.IsNotExist(err) {
		t.Fatalf("folder of the removed partition: %v", err)
	}
	verifyExport(t, db.Pool, root, "day")
	ff := tableResult(t, res, "gold.fact_forecast")
	var last int64
	if err := db.Pool.QueryRow(ctx, `SELECT last_change_id FROM meta.export_tables WHERE table_name = 'gold.fact_forecast'`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if m := readManifest(t, root, "fact_forecast"); m.LastChangeID != last || last != ff.LastChangeID || last == 0 {
		t.Fatalf("last_change_id: manifest %d, meta %d, result %d", m.LastChangeID, last, ff.LastChangeID)
	}

	// A whole-table change (NULL window) rewrites the table in full; the
	// files of unchanged days come out byte-identical.
	execSQL(t, db, `INSERT INTO meta.gold_changes (table_name, date_from, date_to) VALUES ('gold.fact_inventory', NULL, NULL)`)
	mid := snapshotFiles(t, root)
	res = mustRun(t, db.Pool, day)
	if fi := tableResult(t, res, "gold.fact_inventory"); fi.Mode != "full" || fi.Reason != "a refresh rewrote the whole table" {
		t.Fatalf("fact_inventory: %+v", fi)
	}
	end := snapshotFiles(t, root)
	for p, fi := range mid {
		if strings.HasPrefix(p, "gold/fact_inventory/") && p != "gold/fact_inventory/"+ManifestName && end[p].sha != fi.sha {
			t.Fatalf("%s: content changed on a rewrite of unchanged data", p)
		}
	}

	// --full rewrites everything, byte-identical but for the manifests' export time.
	res = mustRun(t, db.Pool, Options{To: root, Full: true, PartitionBy: "day"})
	for _, tr := range res.Tables {
		if tr.Mode != "full" || tr.Reason != "--full" || tr.FilesKept != 0 {
			t.Fatalf("%s: %+v", tr.Table, tr)
		}
	}
	full := snapshotFiles(t, root)
	for p, fi := range end {
		if !strings.HasSuffix(p, ManifestName) && full[p].sha != fi.sha {
			t.Fatalf("%s differs after --full", p)
		}
	}
	verifyExport(t, db.Pool, root, "day")
}

func TestFullWhenTargetDisagrees(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seedGold(t, db.Pool, seed{day0: day0, days: 3, items: 2, sites: 2})
	root := t.TempDir()
	mustRun(t, db.Pool, Options{To: root, Tables: []string{"fact_forecast"}, PartitionBy: "day"})
	p := filepath.Join(root, "gold", "fact_forecast", ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts   Options
		reason string
	}{
		{Options{To: root, Tables: []string{"gold.fact_forecast"}, PartitionBy: "day"}, "the manifest at the target is not the one meta.export_tables recorded"},
		{Options{To: root, Tables: []string{"fact_forecast"}, PartitionBy: "month"}, "partitioning changed from day to month"},
		{Options{To: root, Tables: []string{"fact_forecast"}, PartitionBy: "month", Compression: "zstd"}, "compression changed from snappy to zstd"},
		{Options{To: root, Tables: []string{"fact_forecast"}, PartitionBy: "month", Compression: "zstd"}, ""},
	} {
		res := mustRun(t, db.Pool, tc.opts)
		tr := tableResult(t, res, "gold.fact_forecast")
		if tc.reason == "" {
			if tr.Mode != "unchanged" {
				t.Fatalf("%+v: %+v, want unchanged", tc.opts, tr)
			}
			continue
		}
		if tr.Mode != "full" || tr.Reason != tc.reason {
			t.Fatalf("%+v: mode %s reason %q, want full (%s)", tc.opts, tr.Mode, tr.Reason, tc.reason)
		}
	}
	if err := os.RemoveAll(filepath.Join(root, "gold", "fact_forecast", "month=2025-01")); err != nil {
		t.Fatal(err)
	}
	// Files deleted behind novawh's back are not detected by the manifest
	// check, but a full export repairs them.
	mustRun(t, db.Pool, Options{To: root, Tables: []string{"fact_forecast"}, PartitionBy: "month", Compression: "zstd", Full: true})
	verifyTable(t, db.Pool, root, exportedTables(t)[indexOf(t, "fact_forecast")], "month")

	// A manifest that is not JSON is replaced by a full export.
	if err := os.WriteFile(p, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := mustRun(t, db.Pool, Options{To: root, Tables: []string{"fact_forecast"}, PartitionBy: "month", Compression: "zstd"})
	if tr := tableResult(t, res, "gold.fact_forecast"); tr.Mode != "full" || tr.Reason != "the target has no manifest for the table" {
		t.Fatalf("unreadable manifest: %+v", tr)
	}
	verifyTable(t, db.Pool, root, exportedTables(t)[indexOf(t, "fact_forecast")], "month")
}

func TestOptionsErrors(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{PartitionBy: "week"}, `partition-by must be auto, day, month or none, not "week"`},
		{Options{Compression: "gzip"}, `compression must be snappy or zstd, not "gzip"`},
		{Options{Tables: []string{"nope"}}, `table "nope" is not an exported table of the schema registry (known: bronze.economic_series,`},
		{Options{Tables: []string{"platinum.x"}}, `table "platinum.x": layer "platinum" is not exported (want bronze, silver, gold)`},
		{Options{Layers: []string{"silver"}, Tables: []string{"fact_forecast"}}, `table "fact_forecast" is not an exported table`},
		{Options{Layers: []string{"gold", "copper"}}, `layer "copper": want bronze, silver, gold`},
		{Options{Buckets: map[string]string{"copper": "x"}}, `bucket for "copper": not a layer`},
		{Options{RowGroupRows: -1}, "row group rows, min and max rows per file and workers must be positive"},
		{Options{To: "ftp://host/x"}, `export target "ftp://host/x": want a folder or s3://bucket/prefix`},
	} {
		err := Validate(reg, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.opts, err, tc.want)
		}
	}
	for _, tc := range []struct {
		opts   Options
		layers map[string][]string
	}{
		{Options{Tables: []string{"gold.fact_forecast", "dim_item"}}, map[string][]string{"gold": {"gold.fact_forecast", "gold.dim_item"}}},
		// A qualified name selects its layer; meta tables are published with bronze.
		{Options{Tables: []string{"bronze.ml_forecasts", "meta.loads", "fact_forecast"}},
			map[string][]string{"bronze": {"bronze.ml_forecasts", "meta.loads"}, "gold": {"gold.fact_forecast"}}},
		// Unqualified names are looked up in the given layers.
		{Options{Layers: []string{"silver"}, Tables: []string{"stg_forecasts"}}, map[string][]string{"silver": {"silver.stg_forecasts"}}},
		{Options{Layers: []string{"gold"}, Tables: []string{"bronze.ml_forecasts"}}, map[string][]string{"bronze": {"bronze.ml_forecasts"}}},
	} {
		if err := Validate(reg, tc.opts); err != nil {
			t.Fatalf("%+v: %v", tc.opts, err)
		}
		got := map[string][]string{}
		for l, tss := range layerTables(t, tc.opts) {
			for _, ts := range tss {
				got[l] = append(got[l], ts.table.Qualified())
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.layers) {
			t.Fatalf("%+v: tables %v, want %v", tc.opts, got, tc.layers)
		}
	}
	// Every layer by default: bronze with meta.loads and meta.rejected_rows,
	// silver tables and views, gold tables without the views.
	all := layerTables(t, Options{Layers: []string{"bronze", "silver", "gold"}})
	for l, want := range map[string][]string{"bronze": {"bronze.raw_responses", "meta.loads", "meta.rejected_rows"},
		"silver": {"silver.stg_forecasts", "silver.item_map"}, "gold": {"gold.fact_forecast", "gold.dim_item"}} {
		var names []string
		for _, ts := range all[l] {
			names = append(names, ts.table.Qualified())
		}
		for _, w := range want {
			if !slices.Contains(names, w) {
				t.Fatalf("layer %s: %v lacks %s", l, names, w)
			}
		}
		if l == "gold" && slices.Contains(names, "gold.v_forecast_accuracy") {
			t.Fatalf("gold views are exported by default: %v", names)
		}
	}
}

func TestBusyTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	root := t.TempDir()
	abs, _ := filepath.Abs(root)
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if err := pglock.Lock(ctx, conn, pglock.Export(abs)); err != nil {
		t.Fatal(err)
	}
	_, err = New(db.Pool, testRegistry(t), testLogger(t)).Run(ctx, Options{To: root, Tables: []string{"dim_site"}})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("error %v, want %v", err, ErrBusy)
	}
	if err := pglock.Unlock(ctx, conn, pglock.Export(abs)); err != nil {
		t.Fatal(err)
	}
	mustRun(t, db.Pool, Options{To: root, Tables: []string{"dim_site"}})
}

func TestBadDataNamesTheRow(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	execSQL(t, db, `INSERT INTO gold.fact_inventory (date, item_id, site_id) VALUES ('2025-01-01', 'A', 'S1'), ('2025-01-01', 'B', 'S1')`)
	execSQL(t, db, `INSERT INTO gold.dim_time (date, year, quarter, month, day, day_of_week, iso_week, is_weekend, is_holiday)
		VALUES ('infinity', 0, 0, 0, 0, 0, 0, false, false)`)
	_, err := New(db.Pool, testRegistry(t), testLogger(t)).Run(context.Background(), Options{To: t.TempDir(), Tables: []string{"fact_inventory", "dim_time"}})
	if err == nil || !strings.Contains(err.Error(), "gold.dim_time: row 1: column date: infinite date") {
		t.Fatalf("error %v", err)
	}
	var status, msg string
	if err := db.Pool.QueryRow(context.Background(), "SELECT status, error FROM meta.export_runs").Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || !strings.Contains(msg, "infinite date") {
		t.Fatalf("meta.export_runs: %s %s", status, msg)
	}
}

func indexOf(t testing.TB, name string) int {
	for i, ts := range exportedTables(t) {
		if ts.table.Name == name {
			return i
		}
	}
	t.Fatalf("no table %s", name)
	return -1
}

func execSQL(t testing.TB, db *pgtest.DB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// sameFiles checks that every file of before is in after with the same
// content, inode and modification time, except the paths in changed.
func sameFiles(t testing.TB, before, after map[string]fileInfo, changed map[string]bool) {
	t.Helper()
	for p, b := range before {
		if changed[p] {
			continue
		}
		a, ok := after[p]
		if !ok {
			t.Fatalf("%s disappeared", p)
		}
		if a.sha != b.sha || !a.mtime.Equal(b.mtime) || a.inode != b.inode {
			t.Fatalf("%s was rewritten (sha %v mtime %v inode %v)", p, a.sha == b.sha, a.mtime.Equal(b.mtime), a.inode == b.inode)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok && !changed[p] {
			t.Fatalf("unexpected new file %s", p)
		}
	}
}

// TestRangeAndSpillAgree: a full export reads a partitioned table either
// with one range query per partition, or with one sequential read routed
// straight to the writers, or with one read into spill files (sequential,
// or in parallel block ranges); all must write byte-identical files.
func TestRangeAndSpillAgree(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seedGold(t, db.Pool, seed{day0: day0, days: 45, items: 5, sites: 3})
	// Scatter rows of each day over the table, as refreshes do over time.
	execSQL(t, db, `UPDATE gold.fact_forecast SET mape = mape WHERE item_id IN ('FAMÍLIA_2', 'FAMÍLIA_4')`)
	for _, partBy := range []string{"day", "month"} {
		dirs := map[string]string{}
		for _, mode := range []string{"range", "direct", "spill", "chunked"} {
			dirs[mode] = t.TempDir()
			opts := Options{To: dirs[mode], PartitionBy: partBy, readMode: mode, MaxRowsPerFile: 40, RowGroupRows: 25}
			if mode == "chunked" {
				// Spill files read in parallel block ranges, 3 workers.
				opts.readMode, opts.chunkBlocks, opts.Workers = "spill", 1, 3
			}
			mustRun(t, db.Pool, opts)
		}
		fa := snapshotFiles(t, filepath.Join(dirs["range"], "gold"))
		for _, mode := range []string{"direct", "spill", "chunked"} {
			fb := snapshotFiles(t, filepath.Join(dirs[mode], "gold"))
			if len(fa) != len(fb) || len(fa) < 100 {
				t.Fatalf("%s: %d files with range queries, %d with %s", partBy, len(fa), len(fb), mode)
			}
			for p, x := range fa {
				if strings.HasSuffix(p, ManifestName) {
					if manifestWithoutTime(t, filepath.Join(dirs["range"], "gold", p)) != manifestWithoutTime(t, filepath.Join(dirs[mode], "gold", p)) {
						t.Fatalf("%s: manifests differ", p)
					}
					continue
				}
				if fb[p].sha != x.sha {
					t.Fatalf("%s (%s): range and %s exports differ", p, partBy, mode)
				}
			}
			verifyExport(t, db.Pool, dirs[mode], partBy)
		}
	}
}

// TestAutoPartitioning: the file-size rule picks day partitions for the
// tables large enough, month or none for the others, says so in the
// manifests, and day partitions hold the date only in their folder names.
func TestAutoPartitioning(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	// Per day: 72 forecast and aggregate rows, 36 inventory rows, 3 external rows.
	seedGold(t, db.Pool, seed{day0: day0, days: 40, items: 9, sites: 4})
	root := t.TempDir()
	res := mustRun(t, db.Pool, Options{To: root, MinRowsPerFile: 60})
	want := map[string]string{"gold.fact_forecast": "day", "gold.agg_forecast_rolling": "day", "gold.fact_inventory": "month",
		"gold.dim_item": "none", "gold.dim_site": "none", "gold.dim_time": "none"}
	if hasTable(t, db.Pool, "fact_external_daily") {
		want["gold.fact_external_daily"] = "none"
	}
	if hasTable(t, db.Pool, "fact_demand") {
		// About 18 rows a day.
		for _, n := range []string{"gold.fact_demand", "gold.fact_demand_supplier", "gold.agg_demand_rolling"} {
			want[n] = "month"
		}
		want["gold.dim_supplier"] = "none"
	}
	for _, tr := range res.Tables {
		if w, ok := want[tr.Table]; ok && tr.PartitionBy != w {
			t.Fatalf("%s: partition_by %s, want %s", tr.Table, tr.PartitionBy, w)
		}
	}
	verifyExport(t, db.Pool, root, "")
	ff, inv := readManifest(t, root, "fact_forecast"), readManifest(t, root, "fact_inventory")
	if !strings.HasPrefix(ff.PartitionRule, "auto: 2880 rows over 40 days and 3 months, 72 rows per day partition") || ff.PartitionColumn != "date" ||
		len(ff.PartitionColumns) != 1 || ff.PartitionColumns[0].Name != "date" || ff.Glob != "fact_forecast/**/*.parquet" {
		t.Fatalf("fact_forecast manifest: %+v", ff)
	}
	has := func(m *Manifest, col string) bool {
		for _, c := range m.Schema {
			if c.Name == col {
				return true
			}
		}
		return false
	}
	if has(ff, "date") || !has(inv, "date") || len(ff.Files) != 40 || len(inv.Files) != 3 {
		t.Fatalf("date in the files of day partitions %v, of month partitions %v; %d and %d files", has(ff, "date"), has(inv, "date"), len(ff.Files), len(inv.Files))
	}
	if _, err := os.Stat(filepath.Join(root, tmpDirName)); !os.IsNotExist(err) {
		t.Fatalf("temporary folder left: %v", err)
	}
	// The default target (10000 rows) makes every table of this size one file set.
	res = mustRun(t, db.Pool, Options{To: root})
	for _, tr := range res.Tables {
		switch w := want[tr.Table]; {
		case tr.PartitionBy != "none":
			t.Fatalf("%s: %+v", tr.Table, tr)
		case w == "none" && tr.Mode != "unchanged":
			t.Fatalf("%s: %s (%s), want unchanged", tr.Table, tr.Mode, tr.Reason)
		case w != "none" && (tr.Mode != "full" || tr.Reason != "file-size rule: partitioning changes from "+w+" to none"):
			t.Fatalf("%s: %s (%s)", tr.Table, tr.Mode, tr.Reason)
		}
	}
	verifyExport(t, db.Pool, root, "none")
}

// TestDemandTables (issue 12.8): the demand and procurement tables go to
// Parquet like the others: date partitions (dim_supplier as one file set),
// manifests, incremental rewrites of the days meta.gold_changes lists, and
// DuckDB reads them back exactly.
func TestDemandTables(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	if !hasTable(t, db.Pool, "fact_demand") {
		t.Fatal("gold.fact_demand is not in the registry and the database")
	}
	seedGold(t, db.Pool, seed{day0: day0, days: 20, items: 8, sites: 2})
	root := filepath.Join(t.TempDir(), "exports")
	demand := []string{"fact_demand", "fact_demand_supplier", "dim_supplier", "agg_demand_rolling"}
	res := mustRun(t, db.Pool, Options{To: root, PartitionBy: "day"})
	for _, n := range demand {
		tr := tableResult(t, res, "gold."+n)
		want := "day"
		if n == "dim_supplier" {
			want = "none"
		}
		if tr.Mode != "full" || tr.PartitionBy != want || tr.Rows == 0 {
			t.Fatalf("%s: %+v", n, tr)
		}
	}
	verifyExport(t, db.Pool, root, "day")
	if m := readManifest(t, root, "fact_demand"); len(m.Files) != 20 || m.Files[0].Path != "date=2025-01-30/part-00000.parquet" {
		t.Fatalf("fact_demand files: %d, first %+v", len(m.Files), m.Files[0])
	}

	// A refresh rewrites one day of demand and the suppliers: only that
	// partition and the dimension are rewritten.
	d := day0.AddDate(0, 0, 7).Format(time.DateOnly)
	execSQL(t, db, `UPDATE gold.fact_demand SET quantity = quantity + 1 WHERE date = $1`, d)
	execSQL(t, db, `UPDATE gold.agg_demand_rolling SET quantity_total_7d = quantity_total_7d + 1 WHERE date >= $1`, d)
	execSQL(t, db, `UPDATE gold.dim_supplier SET lines = lines + 1`)
	execSQL(t, db, `INSERT INTO meta.gold_changes (table_name, date_from, date_to) VALUES
		('gold.fact_demand', $1, $1), ('gold.agg_demand_rolling', $1, $2), ('gold.dim_supplier', NULL, NULL)`,
		d, day0.AddDate(0, 0, 19).Format(time.DateOnly))
	res = mustRun(t, db.Pool, Options{To: root, PartitionBy: "day"})
	for n, want := range map[string]struct {
		mode    string
		written int
	}{"fact_demand": {"incremental", 1}, "agg_demand_rolling": {"incremental", 13}, "dim_supplier": {"full", 1}, "fact_demand_supplier": {"unchanged", 0}} {
		if tr := tableResult(t, res, "gold."+n); tr.Mode != want.mode || tr.FilesWritten != want.written {
			t.Fatalf("%s: %s with %d files written, want %s with %d: %+v", n, tr.Mode, tr.FilesWritten, want.mode, want.written, tr)
		}
	}
	verifyExport(t, db.Pool, root, "day")
	if _, err := exec.LookPath("node"); err == nil {
		var tables []*tableSchema
		for _, ts := range exportedTables(t) {
			if slices.Contains(demand, ts.name) {
				tables = append(tables, ts)
			}
		}
		assertDuck(t, db.Pool, root, duckRead(t, root, "gold"), "gold", tables)
	}
}

// TestProgressAndLog: on a terminal each table's partitions are drawn as a
// bar (quiet otherwise: a nil reporter); every log line carries the
// logger's attributes (the nightly job's run_id) and durations are
// duration_ms.
func TestProgressAndLog(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seedGold(t, db.Pool, seed{day0: day0, days: 5, items: 3, sites: 2})
	var screen lockedBuffer
	rep := progress.New(&screen, progress.Options{Terminal: func(io.Writer) bool { return true }})
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("run_id", 77)
	if _, err := New(db.Pool, testRegistry(t), log).Run(context.Background(),
		Options{To: t.TempDir(), PartitionBy: "day", Progress: rep, readMode: "spill"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"export gold.fact_forecast   0% |", "(0/5)", "read gold.fact_forecast 0 rows"} {
		if !strings.Contains(screen.String(), want) {
			t.Fatalf("progress output lacks %q:\n%q", want, screen.String())
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	sawDuration := false
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if m["run_id"] != float64(77) || m["export_run_id"] == nil {
			t.Fatalf("log line without the run ids: %s", l)
		}
		for k := range m {
			if k == "elapsed" || k == "duration" {
				t.Fatalf("log line with %s: %s", k, l)
			}
		}
		_, ok := m["duration_ms"]
		sawDuration = sawDuration || ok
	}
	if !sawDuration || len(lines) < 5 {
		t.Fatalf("%d log lines, duration_ms seen %v", len(lines), sawDuration)
	}
}
