package export

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testbin"
)

// nightly loads the bundled samples (data/raw/samples) into db with the
// real nightly job, offline and without export: bronze from the loader,
// silver and gold from the refresh.
func nightly(t *testing.T, db *pgtest.DB, env []string, args ...string) string {
	t.Helper()
	bin := testbin.Path(t)
	samples, _ := filepath.Abs(filepath.Join("..", "..", "data", "raw", "samples"))
	cmd := exec.Command(bin, append([]string{"run", "--database-url", db.URL, "--log-file", "", "--inputs-dir", samples, "--offline"}, args...)...)
	cmd.Env = append(append(os.Environ(), "NOVAWH_LOG_FILE="), env...)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("novawh run: %v\n%s\n%s", err, out, stderr.String())
	}
	return string(out)
}

// pullLoad records one window of an HTTP pull started at start: its raw
// response (bronze.raw_responses) and the rows it gave.
func pullLoad(t *testing.T, db *pgtest.DB, series string, start time.Time, values ...float64) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	body := `[` + strings.Repeat(`{"data":"01/01/2025","valor":"11.75"},`, len(values)) + `{"fim": "ação"}]`
	err := db.Pool.QueryRow(ctx, `INSERT INTO meta.loads (source, file_name, file_sha256, status, rows_read, rows_loaded,
			target_table, started_at, finished_at)
		VALUES ('bcb_sgs', 'https://api.bcb.gov.br/dados/serie/bcdata.sgs.' || $1 || '/dados', md5($2), 'loaded', $3, $3,
			'bronze.economic_series', $4::timestamptz, $4::timestamptz + interval '2 seconds') RETURNING load_id`, series, body+start.String(), len(values), start).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, db, `INSERT INTO bronze.raw_responses (source, series, url, status_code, content_type, fetched_at, sha256, body, _load_id)
		VALUES ('bcb_sgs', $1, 'https://api.bcb.gov.br/dados/serie/bcdata.sgs.' || $1 || '/dados?formato=json', 200,
			'application/json; charset=utf-8', $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'), convert_to($3, 'UTF8') || '\x00ff'::bytea, $4)`,
		series, start, body, id)
	for i, v := range values {
		execSQL(t, db, `INSERT INTO bronze.economic_series (source, series, date, period_code, value, _load_id, _line)
			VALUES ('bcb_sgs', $1, $2::date, NULL, $3, $4, $5)`, series, start.AddDate(0, 0, -i-1).Format(time.DateOnly), v, id, i+1)
	}
	return id
}

// rejectingLoad records an ERP file load started at start with two good
// lines and one rejected (its raw text in meta.rejected_rows).
func rejectingLoad(t *testing.T, db *pgtest.DB, start time.Time) int64 {
	t.Helper()
	var id int64
	err := db.Pool.QueryRow(context.Background(), `INSERT INTO meta.loads (source, file_name, file_sha256, status, rows_read,
			rows_loaded, rows_rejected, target_table, started_at, finished_at)
		VALUES ('erp_requisitions', 'custo_' || $2 || '.csv', md5($2), 'loaded', 3, 2, 1, 'bronze.erp_requisitions',
			$1::timestamptz, $1::timestamptz + interval '1 second')
		RETURNING load_id`, start, start.Format(time.RFC3339Nano)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, db, `INSERT INTO bronze.erp_requisitions (deposito, product_code, material, familia, supplier_name, quantity, unit,
			requested_date, request_id, solicited_date, purchase_date, _load_id, _line)
		VALUES ('STC', '0042', 'BATERIA 9V', 'ABRASIVOS', 'Comercial São João', 3, 'UN', '2025-04-01', 'R1', '2025-04-01', '2025-04-03', $1, 2),
		       (NULL, '0043', 'LIXA', 'ABRASIVOS', NULL, 1.5, 'CX', NULL, 'R2', '2025-04-02', NULL, $1, 4)`, id)
	execSQL(t, db, `INSERT INTO meta.rejected_rows (load_id, line, column_name, reason, raw)
		VALUES ($1, 3, 'QUANTIDADE', 'not a number: "três"', 'STC;0044;PARAFUSO;FIXACAO;três;UN')`, id)
	return id
}

func rawResponses(t *testing.T, db *pgtest.DB, load int64) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM bronze.raw_responses WHERE _load_id = $1`, load).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func rejectedRaw(t *testing.T, db *pgtest.DB, load int64) string {
	t.Helper()
	var raw string
	if err := db.Pool.QueryRow(context.Background(), `SELECT raw FROM meta.rejected_rows WHERE load_id = $1`, load).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// TestLake (issue 18): bronze, silver and gold of a nightly run in one
// export: bronze by the day of the load (year=/month=/day=) with _load_id
// and _line, plus meta.loads and meta.rejected_rows; silver by its business
// date; every table read back by parquet-go and by DuckDB equal to
// PostgreSQL; bronze row counts per load equal meta.loads; incremental
// runs rewrite only what changed.
func TestLake(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	nightly(t, db, nil, "--skip-export")
	now := time.Now().UTC()
	pullLoad(t, db, "432", now, 11.75, 11.5)
	rejectingLoad(t, db, now)
	root := filepath.Join(t.TempDir(), "exports")
	all := []string{"bronze", "silver", "gold"}
	opts := Options{To: root, Layers: all, PartitionBy: "day", now: fixedClock(now)}
	res := mustRun(t, db.Pool, opts)
	if len(res.Layers) != 3 || res.Retention == nil || res.Retention.LoadsVerified == 0 {
		t.Fatalf("layers %+v retention %+v", res.Layers, res.Retention)
	}
	tables := layerTables(t, opts)
	for _, l := range all {
		for _, ts := range tables[l] {
			verifyTable(t, db.Pool, root, ts, "day")
		}
	}
	// Bronze: the plan's folders, every row tracing back to its load.
	m := readLayerTable(t, root, "bronze", "raw_responses")
	want := fmt.Sprintf("year=%s/month=%s/day=%s/part-00000.parquet", now.Format("2006"), now.Format("01"), now.Format("02"))
	if len(m.Files) != 1 || m.Files[0].Path != want || len(m.Loads) != 1 || m.PartitionSource == "" {
		t.Fatalf("raw_responses manifest: %+v", m)
	}
	for _, name := range []string{"ml_forecasts", "erp_requisitions", "loads", "rejected_rows"} {
		m := readLayerTable(t, root, "bronze", name)
		cols := []string{}
		for _, c := range m.Schema {
			cols = append(cols, c.Name)
		}
		if name != "loads" && name != "rejected_rows" && (!slices.Contains(cols, "_load_id") || !slices.Contains(cols, "_line")) {
			t.Fatalf("bronze.%s files lack _load_id/_line: %v", name, cols)
		}
		if len(m.Files) == 0 || !strings.HasPrefix(m.Files[0].Path, "year=") {
			t.Fatalf("bronze %s: %+v", name, m.Files)
		}
	}
	got := duckRead(t, root)
	for _, l := range all {
		assertDuck(t, db.Pool, root, got, l, tables[l])
	}
	// DuckDB alone, from the lake: rows per load of each bronze table equal
	// the rows_loaded the exported meta.loads records.
	checkedLoads := 0
	for q, d := range got["bronze"].Tables {
		if d.LoadsExpected == nil {
			continue
		}
		for id, n := range d.LoadsExpected {
			if d.Loads[id] != n {
				t.Fatalf("%s load %s: %d rows in the lake, meta.loads says %d (%v)", q, id, d.Loads[id], n, d.Loads)
			}
			checkedLoads++
		}
	}
	if checkedLoads < 5 {
		t.Fatalf("only %d loads checked against meta.loads", checkedLoads)
	}

	// Nothing changed: nothing is published.
	before := snapshotFiles(t, root)
	res = mustRun(t, db.Pool, opts)
	for _, tr := range res.Tables {
		if tr.Mode != "unchanged" {
			t.Fatalf("%s: %s (%s) although nothing changed", tr.Table, tr.Mode, tr.Reason)
		}
	}
	for _, lr := range res.Layers {
		if lr.Published {
			t.Fatalf("layer %s published although nothing changed", lr.Layer)
		}
	}
	sameFiles(t, before, snapshotFiles(t, root), nil)

	// A new ERP load: bronze rewrites that table's day and the loads table,
	// silver the partitions whose content changed; gold is untouched (no
	// refresh ran).
	rejectingLoad(t, db, now.Add(time.Minute))
	res = mustRun(t, db.Pool, opts)
	for _, tr := range res.Tables {
		switch tr.Table {
		case "bronze.erp_requisitions", "meta.loads", "meta.rejected_rows":
			if tr.Mode != "incremental" || tr.FilesWritten != 1 {
				t.Fatalf("%s: %+v", tr.Table, tr)
			}
		case "silver.erp_lines":
			if tr.Mode == "unchanged" {
				t.Fatalf("%s: unchanged after a new ERP load", tr.Table)
			}
		default:
			if tr.Layer != "silver" && tr.Mode != "unchanged" {
				t.Fatalf("%s: %s (%s)", tr.Table, tr.Mode, tr.Reason)
			}
		}
	}
	for _, l := range all {
		for _, ts := range tables[l] {
			verifyTable(t, db.Pool, root, ts, "day")
		}
	}
	// With the file-size rule, tables this small are one file set each.
	auto := filepath.Join(t.TempDir(), "exports")
	res = mustRun(t, db.Pool, Options{To: auto, Layers: all, now: fixedClock(now)})
	for _, tr := range res.Tables {
		if tr.PartitionBy != "none" {
			t.Fatalf("%s: partition_by %s", tr.Table, tr.PartitionBy)
		}
	}
	for _, l := range all {
		for _, ts := range tables[l] {
			verifyTable(t, db.Pool, auto, ts, "")
		}
	}
}

// TestRetention (issue 18.3): loads older than the retention leave the
// lake; their raw API bodies and rejected-row texts are pruned from
// PostgreSQL only when a verified export holds them as they are; typed
// bronze rows stay.
func TestRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	exported := pullLoad(t, db, "432", t0, 11.75)
	tampered := pullLoad(t, db, "433", t0, 0.52)
	rejected := rejectingLoad(t, db, t0)
	// Already beyond the retention at the first export: never in the lake.
	ancient := pullLoad(t, db, "1", t0.AddDate(0, 0, -200), 5.1)
	recent := pullLoad(t, db, "432", t0.AddDate(0, 0, 60), 11.25)
	root := filepath.Join(t.TempDir(), "exports")
	bronze := Options{To: root, Layers: []string{"bronze"}, PartitionBy: "day", BronzeRetentionDays: 90}

	bronze.now = fixedClock(t0.Add(time.Hour))
	res := mustRun(t, db.Pool, bronze)
	// Verified per table and load: three pulls in raw_responses and in
	// economic_series, the ERP load in erp_requisitions and rejected_rows;
	// the ancient pull is kept (no export holds it).
	if r := res.Retention; r == nil || r.LoadsVerified != 8 || r.LoadsPruned != 0 || r.LoadsKept != 1 || r.Cutoff != "2025-12-03" {
		t.Fatalf("retention: %+v", r)
	}
	var unverified int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM meta.export_loads WHERE verified_at IS NULL`).Scan(&unverified); err != nil {
		t.Fatal(err)
	}
	if unverified != 0 {
		t.Fatalf("%d exported loads not verified", unverified)
	}
	if m := readLayerTable(t, root, "bronze", "economic_series"); len(m.Loads) != 3 || m.Loads[0].LoadID != exported {
		t.Fatalf("economic_series loads: %+v", m.Loads)
	}
	// A raw response changes after it was exported: it no longer matches.
	execSQL(t, db, `UPDATE bronze.raw_responses SET body = body || 'x'::bytea WHERE _load_id = $1`, tampered)

	// 100 days later: the first loads are beyond the retention.
	bronze.now = fixedClock(t0.AddDate(0, 0, 100))
	res = mustRun(t, db.Pool, bronze)
	r := res.Retention
	if r == nil || r.RawResponsesDeleted != 1 || r.RejectedRowsCleared != 1 || r.LoadsPruned != 2 || r.LoadsKept != 2 {
		t.Fatalf("retention: %+v", r)
	}
	if rawResponses(t, db, exported) != 0 || rejectedRaw(t, db, rejected) != "" {
		t.Fatal("the verified old raw data was not pruned")
	}
	if rawResponses(t, db, tampered) != 1 || rawResponses(t, db, ancient) != 1 || rawResponses(t, db, recent) != 1 {
		t.Fatal("raw data that no verified export holds (or a recent one) was pruned")
	}
	var typed, pruned int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM bronze.economic_series WHERE _load_id = $1) +
		(SELECT count(*) FROM bronze.erp_requisitions WHERE _load_id = $2),
		(SELECT count(*) FROM meta.rejected_rows WHERE load_id = $2 AND raw_pruned_at IS NOT NULL)`, exported, rejected).Scan(&typed, &pruned); err != nil {
		t.Fatal(err)
	}
	if typed != 3 || pruned != 1 {
		t.Fatalf("typed bronze rows %d (want 3, they stay), rejected rows marked pruned %d", typed, pruned)
	}
	// The lake now holds the recent load only.
	for _, name := range []string{"raw_responses", "economic_series"} {
		m := readLayerTable(t, root, "bronze", name)
		if len(m.Loads) != 1 || m.Loads[0].LoadID != recent {
			t.Fatalf("%s loads after the retention: %+v", name, m.Loads)
		}
	}
	for _, ts := range layerTables(t, bronze)["bronze"] {
		verifyTable(t, db.Pool, root, ts, "day")
	}
	var runPruned int64
	if err := db.Pool.QueryRow(ctx, `SELECT raw_responses_pruned FROM meta.export_runs WHERE run_id = $1`, res.RunID).Scan(&runPruned); err != nil {
		t.Fatal(err)
	}
	if runPruned != 1 {
		t.Fatalf("meta.export_runs.raw_responses_pruned %d", runPruned)
	}
	// Again: nothing more to prune.
	res = mustRun(t, db.Pool, bronze)
	if r := res.Retention; r.LoadsPruned != 0 || r.RawResponsesDeleted != 0 {
		t.Fatalf("second prune: %+v", r)
	}
}

// TestRetentionKill: an export killed (SIGKILL) between publishing bronze
// and pruning leaves the raw data in PostgreSQL; the next run prunes
// exactly what a verified export holds.
func TestRetentionKill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin := testbin.Path(t)
	db := pgtest.New(t)
	now := time.Now().UTC()
	old := pullLoad(t, db, "432", now, 11.75)
	rejected := rejectingLoad(t, db, now)
	root := filepath.Join(t.TempDir(), "exports")
	export := func() *exec.Cmd {
		return novawhExport(bin, db.URL, "--to", root, "--layers", "bronze", "--partition-by", "day")
	}
	if out, err := export().CombinedOutput(); err != nil {
		t.Fatalf("first export: %v\n%s", err, out)
	}
	// Time passes: these loads started 100 days ago; a new one arrives.
	execSQL(t, db, `UPDATE meta.loads SET started_at = started_at - interval '100 days', finished_at = finished_at - interval '100 days'`)
	fresh := pullLoad(t, db, "432", now, 11.5)

	// Hold the retention lock so that the export stops between publishing
	// and pruning; kill it there.
	held, err := pglock.Acquire(ctx, db.Pool, pglock.Retention, pglock.Wait{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := export()
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var published int
		// Published and verified: the fresh load is verified in the lake.
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM meta.export_loads WHERE load_id = $1 AND verified_at IS NOT NULL`, fresh).Scan(&published); err != nil {
			t.Fatal(err)
		}
		if published > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the export ended (%v) before it waited for the retention lock\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the export never published\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	held.Release(ctx)
	if rawResponses(t, db, old) != 1 || rejectedRaw(t, db, rejected) == "" {
		t.Fatal("raw data pruned although the export was killed before the prune")
	}
	if m := readLayerTable(t, root, "bronze", "raw_responses"); len(m.Loads) != 1 || m.Loads[0].LoadID != fresh {
		t.Fatalf("the killed export did not publish bronze without the old loads: %+v", m.Loads)
	}

	out, err := export().Output()
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if !strings.Contains(string(out), "1 raw responses deleted, 1 rejected-row texts cleared") {
		t.Fatalf("re-run output:\n%s", out)
	}
	if rawResponses(t, db, old) != 0 || rejectedRaw(t, db, rejected) != "" || rawResponses(t, db, fresh) != 1 {
		t.Fatal("the re-run did not prune exactly the verified old raw data")
	}
	var interrupted int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM meta.export_runs WHERE error LIKE 'interrupted%'`).Scan(&interrupted); err != nil {
		t.Fatal(err)
	}
	if interrupted != 1 {
		t.Fatalf("%d runs marked interrupted", interrupted)
	}
}

// TestLakeMinIO is issue 18's "done when": a nightly run with --layers
// bronze,silver,gold to MinIO (s3:// alone) leaves the three buckets in the
// plan's layout, creates them, tags the bronze data objects and sets the
// lifecycle rule on the bronze bucket; DuckDB reads every layer back.
func TestLakeMinIO(t *testing.T) {
	t.Parallel()
	srv := startMinio(t)
	db := pgtest.New(t)
	env := []string{"AWS_ENDPOINT_URL=" + srv.endpoint, "AWS_ACCESS_KEY_ID=" + srv.user, "AWS_SECRET_ACCESS_KEY=" + srv.secret,
		"AWS_REGION=us-east-1", "TMPDIR=" + t.TempDir()}
	out := nightly(t, db, env, "--export-to", "s3://", "--export-layers", "bronze,silver,gold", "--json")
	var rep struct {
		Steps []struct {
			Name, Status string
			Detail       json.RawMessage
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("run --json: %v\n%s", err, out)
	}
	var res Result
	for _, s := range rep.Steps {
		if s.Name == "export" {
			if s.Status != "ok" || json.Unmarshal(s.Detail, &res) != nil {
				t.Fatalf("export step: %+v", s)
			}
		}
	}
	if res.Target != "s3://nova-bronze,nova-silver,nova-gold" || len(res.Layers) != 3 || res.Retention == nil ||
		!strings.Contains(res.Retention.Lifecycle, "s3://nova-bronze: rule novawh-bronze-retention") {
		t.Fatalf("export result: %+v %+v", res, res.Retention)
	}
	ctx := context.Background()
	c := srv.client(t)
	dir := t.TempDir()
	for _, l := range []string{"bronze", "silver", "gold"} {
		b := "nova-" + l
		if _, err := c.StatObject(ctx, b, ManifestName, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		download(t, c, b, "", filepath.Join(dir, l))
	}
	lc, err := c.GetBucketLifecycle(ctx, "nova-bronze")
	if err != nil {
		t.Fatal(err)
	}
	if len(lc.Rules) != 1 || lc.Rules[0].ID != lifecycleRuleID || lc.Rules[0].Status != "Enabled" || int(lc.Rules[0].Expiration.Days) != 90 ||
		len(lc.Rules[0].RuleFilter.And.Tags) != 1 || lc.Rules[0].RuleFilter.And.Tags[0].Key != retentionTagKey {
		t.Fatalf("bronze lifecycle: %+v", lc.Rules)
	}
	for _, tc := range []struct {
		bucket string
		tagged bool
	}{{"nova-bronze", true}, {"nova-silver", false}, {"nova-gold", false}} {
		seen := 0
		for o := range c.ListObjects(ctx, tc.bucket, minio.ListObjectsOptions{Recursive: true}) {
			if !strings.HasSuffix(o.Key, ".parquet") {
				continue
			}
			tg, err := c.GetObjectTagging(ctx, tc.bucket, o.Key, minio.GetObjectTaggingOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := tg.ToMap()[retentionTagKey] == retentionTagValue; got != tc.tagged {
				t.Fatalf("%s/%s: tagged %v (%v)", tc.bucket, o.Key, got, tg)
			}
			seen++
		}
		if seen == 0 {
			t.Fatalf("%s holds no Parquet object", tc.bucket)
		}
	}
	opts := Options{Layers: []string{"bronze", "silver", "gold"}}
	tables := layerTables(t, opts)
	got := duckRead(t, dir)
	for _, l := range []string{"bronze", "silver", "gold"} {
		for _, ts := range tables[l] {
			verifyTable(t, db.Pool, dir, ts, "")
		}
		assertDuck(t, db.Pool, dir, got, l, tables[l])
	}
}
