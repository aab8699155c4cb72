package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

func stageTables(t *testing.T, db *pgtest.DB) (attached, loose int64) {
	t.Helper()
	if err := db.Pool.QueryRow(context.Background(), `SELECT
		count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)),
		count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid))
		FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'bronze_loads' AND c.relkind = 'r'`).Scan(&attached, &loose); err != nil {
		t.Fatal(err)
	}
	return attached, loose
}

// TestParallelStreams loads through several COPY streams (child tables
// attached in the input's transaction) and checks the same guarantees as
// the single stream: all rows or none, rejects recorded, leftovers dropped.
func TestParallelStreams(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "fc.csv")
	const rows = 30_000
	writeForecastCSV(t, file, rows, 7)

	// A leftover of a crashed load (no owner): dropped by the next load.
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE bronze_loads.ml_forecasts_l999_0 (LIKE bronze.ml_forecasts)`); err != nil {
		t.Fatal(err)
	}
	res, err := l.LoadPaths(ctx, "ml_forecasts", []string{file}, Options{Streams: 3})
	if err != nil || res[0].Status != "loaded" || res[0].RowsLoaded != rows {
		t.Fatalf("%+v %v", res, err)
	}
	checkLedger(t, db.Pool, "bronze.ml_forecasts", res[0])
	if a, loose := stageTables(t, db); a != 3 || loose != 0 {
		t.Errorf("%d attached and %d loose stage tables, want 3 and 0", a, loose)
	}
	// Each child holds only its load (CHECK) and has the parent's
	// non-_load_id indexes.
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM pg_constraint WHERE conrelid = 'bronze_loads.ml_forecasts_l1_0'::regclass AND contype = 'c'
		AND pg_get_constraintdef(oid) LIKE '%_load_id = 1%'`); n != 1 {
		t.Errorf("child CHECK constraint: %d", n)
	}
	parentIdx := scalar[int64](t, db.Pool, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'bronze' AND tablename = 'ml_forecasts' AND indexdef NOT LIKE '%(_load_id)'`)
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'bronze_loads' AND tablename = 'ml_forecasts_l1_0'`); n != parentIdx {
		t.Errorf("child has %d indexes, parent %d (besides _load_id)", n, parentIdx)
	}
	// Lines are unique and complete across the streams.
	if n := scalar[int64](t, db.Pool, `SELECT count(DISTINCT _line) FROM bronze.ml_forecasts WHERE _load_id = $1 AND _line BETWEEN 2 AND $2`, res[0].LoadID, rows+1); n != rows {
		t.Errorf("%d distinct lines, want %d", n, rows)
	}

	// Same content: skipped, no new stage.
	res, _ = l.LoadPaths(ctx, "ml_forecasts", []string{file}, Options{Streams: 2})
	if res[0].Status != "skipped" {
		t.Errorf("second load %+v", res[0])
	}

	// A failure after the streams committed (too many rejects) leaves
	// nothing: no rows, no stage tables.
	bad := filepath.Join(dir, "bad.csv")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i := 1; i < len(lines)-1; i += 5 {
		lines[i] = strings.Replace(lines[i], ",v1.2,", ",,", 1)
	}
	if err := os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ = l.LoadPaths(ctx, "ml_forecasts", []string{bad}, Options{Streams: 2})
	if res[0].Status != "failed" || !strings.Contains(res[0].Error, "above the 10.0% threshold") {
		t.Errorf("bad file: %+v", res[0])
	}
	checkLedger(t, db.Pool, "bronze.ml_forecasts", res[0])
	if a, loose := stageTables(t, db); a != 3 || loose != 0 {
		t.Errorf("after the failure: %d attached and %d loose stage tables, want 3 and 0", a, loose)
	}
	// Under the threshold it loads, rejects recorded once.
	res, _ = l.LoadPaths(ctx, "ml_forecasts", []string{bad}, Options{Streams: 2, MaxRejectRatio: 0.5})
	want := int64(rows / 5)
	if res[0].Status != "loaded" || res[0].RowsRejected != want {
		t.Errorf("bad file under threshold: %+v, want %d rejected", res[0], want)
	}
	checkLedger(t, db.Pool, "bronze.ml_forecasts", res[0])
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.ml_forecasts`); n != 2*rows-want {
		t.Errorf("%d rows in bronze, want %d", n, 2*rows-want)
	}
}

// TestLargeFileSkip covers files hashed while they load (>= 8 MiB): the
// ledger gets their sha256, and loading them again stops early as skipped.
func TestLargeFileSkip(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 10 MB file")
	}
	t.Parallel()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "big.csv")
	if size := writeForecastCSV(t, file, 120_000, 11); size < asyncHashMin {
		t.Fatalf("file of %d bytes is below the asynchronous hashing size", size)
	}
	res, err := l.LoadPaths(ctx, "ml_forecasts", []string{file}, Options{})
	if err != nil || res[0].Status != "loaded" {
		t.Fatalf("%+v %v", res, err)
	}
	sha := scalar[string](t, db.Pool, `SELECT file_sha256 FROM meta.loads WHERE load_id = $1`, res[0].LoadID)
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(body); sha != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 %q, want the file's %x", sha, sum)
	}
	res, _ = l.LoadPaths(ctx, "ml_forecasts", []string{file}, Options{})
	if res[0].Status != "skipped" {
		t.Fatalf("%+v", res[0])
	}
	if got := scalar[string](t, db.Pool, `SELECT file_sha256 FROM meta.loads WHERE load_id = $1`, res[0].LoadID); got != sha {
		t.Errorf("skip row sha %q, want %q", got, sha)
	}
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.ml_forecasts`); n != 120_000 {
		t.Errorf("%d rows after the skip", n)
	}
}
