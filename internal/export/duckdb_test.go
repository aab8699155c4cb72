package export

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// duckdbScript returns the interop script and node, or skips when either is
// missing (fails instead when NOVAWH_INTEROP=1, as `make interop` sets).
func duckdbScript(t *testing.T) (node, script string) {
	t.Helper()
	script, _ = filepath.Abs(filepath.Join("..", "..", "interop", "duckdb_check.mjs"))
	mod := filepath.Join(filepath.Dir(script), "node_modules", "@duckdb", "node-api")
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not on PATH"
	case func() bool { _, err := os.Stat(mod); return err != nil }():
		missing = "interop/node_modules is missing (cd interop && npm ci)"
	}
	if missing != "" {
		if os.Getenv("NOVAWH_INTEROP") == "1" {
			t.Fatal("DuckDB check: " + missing)
		}
		t.Skip("DuckDB check skipped: " + missing + "; `make interop` runs it")
	}
	return node, script
}

type duckTable struct {
	ManifestRows int64 `json:"manifest_rows"`
	Rows         int64 `json:"rows"`
	GlobRows     int64 `json:"glob_rows"`
	Columns      map[string]struct {
		Count int64   `json:"count"`
		Sum   float64 `json:"sum"`
	} `json:"columns"`
}

// TestDuckDBAgrees has DuckDB (an independent Parquet reader) read the
// export and compares its row counts and per-column sums with PostgreSQL.
func TestDuckDBAgrees(t *testing.T) {
	t.Parallel()
	node, script := duckdbScript(t)
	db := pgtest.New(t)
	seedGold(t, db.Pool, seed{day0: day0, days: 35, items: 7, sites: 3})
	for _, partBy := range []string{"day", "month"} {
		root := filepath.Join(t.TempDir(), "exports")
		mustRun(t, db.Pool, Options{To: root, PartitionBy: partBy})
		out, err := exec.Command(node, script, root).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("%s %s: %v\n%s", script, root, err, stderr)
		}
		var got map[string]duckTable
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("DuckDB output: %v\n%s", err, out)
		}
		for _, ts := range exportedTables(t) {
			q := ts.table.Qualified()
			d, ok := got[q]
			if !ok {
				t.Fatalf("DuckDB did not read %s: %s", q, out)
			}
			var n int64
			if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if d.Rows != n || d.GlobRows != n || d.ManifestRows != n {
				t.Fatalf("%s (%s): DuckDB rows %d (glob %d, manifest %d), PostgreSQL %d", q, partBy, d.Rows, d.GlobRows, d.ManifestRows, n)
			}
			checked := 0
			for _, c := range ts.cols {
				if c.regType != "float" && c.regType != "int" && c.regType != "int32" {
					continue
				}
				dc, ok := d.Columns[c.name]
				if !ok {
					t.Fatalf("%s.%s: DuckDB has no numeric column: %s", q, c.name, out)
				}
				var cnt int64
				var sum float64
				err := db.Pool.QueryRow(context.Background(),
					fmt.Sprintf("SELECT count(%s), coalesce(sum(%s)::float8, 0) FROM %s", c.sqlExpr, c.sqlExpr, q)).Scan(&cnt, &sum)
				if err != nil {
					t.Fatal(err)
				}
				if dc.Count != cnt || math.Abs(dc.Sum-sum) > 1e-9*math.Max(1, math.Abs(sum)) {
					t.Fatalf("%s.%s (%s): DuckDB count %d sum %v, PostgreSQL count %d sum %v", q, c.name, partBy, dc.Count, dc.Sum, cnt, sum)
				}
				checked++
			}
			t.Logf("%s (%s): %d rows, %d numeric columns agree", q, partBy, n, checked)
		}
	}
}
