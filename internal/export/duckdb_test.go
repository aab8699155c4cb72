package export

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// duckdbScript returns the interop script and node, or skips when either is
// missing (fails instead when NOVAWH_INTEROP=1, as `make interop` sets, or
// under CI=true).
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
	ManifestRows int64             `json:"manifest_rows"`
	Rows         int64             `json:"rows"`
	GlobRows     int64             `json:"glob_rows"`
	Glob         string            `json:"glob"`
	Types        map[string]string `json:"types"`
	Columns      map[string]struct {
		Count int64   `json:"count"`
		Sum   float64 `json:"sum"`
	} `json:"columns"`
	RowsJSON      []map[string]any `json:"rows_json"`
	Loads         map[string]int64 `json:"loads"`
	LoadsExpected map[string]int64 `json:"loads_expected"`
}

type duckLayer struct {
	RunID  int64                `json:"run_id"`
	Tables map[string]duckTable `json:"tables"`
}

// duckRead has DuckDB read the export under root (every row of every
// table) and returns what it saw, by layer.
func duckRead(t *testing.T, root string, layers ...string) map[string]duckLayer {
	t.Helper()
	node, script := duckdbScript(t)
	out, err := exec.Command(node, append([]string{script, root, "--rows"}, layers...)...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\n%s", script, root, err, stderr)
	}
	var got map[string]duckLayer
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("DuckDB output: %v\n%.2000s", err, out)
	}
	return got
}

// duckType is the type DuckDB reads a registry type back as.
var duckType = map[string]string{
	"string": "VARCHAR", "json": "JSON", "numeric": "VARCHAR", "bytes": "BLOB", "int": "BIGINT", "int32": "INTEGER",
	"float": "DOUBLE", "bool": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP WITH TIME ZONE",
	"timestamp_local": "TIMESTAMP", "string[]": "VARCHAR[]",
}

// assertDuck checks that DuckDB read every table of layer exactly as
// PostgreSQL holds it: row counts through the manifest and through the
// glob, every column's type, per-column sums, and every row.
func assertDuck(t *testing.T, pool *pgxpool.Pool, root string, got map[string]duckLayer, layer string, tables []*tableSchema) {
	t.Helper()
	ctx := context.Background()
	dl, ok := got[layer]
	if !ok {
		t.Fatalf("DuckDB read no layer %s", layer)
	}
	for _, ts := range tables {
		q := ts.table.Qualified()
		d, ok := dl.Tables[q]
		if !ok {
			t.Fatalf("DuckDB did not read %s", q)
		}
		m := readLayerTable(t, root, layer, ts.name)
		p := newPlan(ts, m.PartitionBy, nil)
		p.cutoff = m.RetentionCutoff
		where, args, err := p.where("")
		if err != nil {
			t.Fatal(err)
		}
		if where != "" {
			where = "WHERE " + where
		}
		var n int64
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+ts.relation()+" "+where, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if d.Rows != n || d.GlobRows != n || d.ManifestRows != n {
			t.Fatalf("%s (%s): DuckDB rows %d (glob %d, manifest %d), PostgreSQL %d", q, m.PartitionBy, d.Rows, d.GlobRows, d.ManifestRows, n)
		}
		if n == 0 {
			continue
		}
		// Types: the registry's, the partition date read from the folder
		// names as a DATE.
		for _, c := range ts.cols {
			if d.Types[c.name] != duckType[c.regType] {
				t.Fatalf("%s.%s (%s): DuckDB reads %q, want %q (types %v)", q, c.name, m.PartitionBy, d.Types[c.name], duckType[c.regType], d.Types)
			}
		}
		for _, pc := range m.PartitionColumns {
			if _, ok := d.Types[pc.Name]; !ok {
				t.Fatalf("%s: DuckDB inferred no partition column %s from the folders: %v", q, pc.Name, d.Types)
			}
		}
		checked := 0
		for _, c := range ts.cols {
			if c.regType != "float" && c.regType != "int" && c.regType != "int32" {
				continue
			}
			dc := d.Columns[c.name]
			var cnt int64
			var sum float64
			err := pool.QueryRow(ctx, fmt.Sprintf("SELECT count(%s), coalesce(sum(%s)::float8, 0) FROM %s %s", c.sqlExpr, c.sqlExpr, ts.relation(), where),
				args...).Scan(&cnt, &sum)
			if err != nil {
				t.Fatal(err)
			}
			if dc.Count != cnt || math.Abs(dc.Sum-sum) > 1e-9*math.Max(1, math.Abs(sum)) {
				t.Fatalf("%s.%s (%s): DuckDB count %d sum %v, PostgreSQL count %d sum %v", q, c.name, m.PartitionBy, dc.Count, dc.Sum, cnt, sum)
			}
			checked++
		}
		// Every row, every value.
		var rendered [][]string
		for _, row := range d.RowsJSON {
			r := make([]string, len(ts.cols))
			for i, c := range ts.cols {
				r[i] = renderDuck(t, c.regType, row[c.name])
			}
			rendered = append(rendered, r)
		}
		want, gotRows := joinRows(pgRows(t, pool, ts, ts.full, where, args...)), joinRows(rendered)
		if len(want) != len(gotRows) {
			t.Fatalf("%s: DuckDB returned %d rows, PostgreSQL %d", q, len(gotRows), len(want))
		}
		for i := range want {
			if want[i] != gotRows[i] {
				t.Fatalf("%s (%s) row %d (sorted):\nduckdb   %s\npostgres %s", q, m.PartitionBy, i, gotRows[i], want[i])
			}
		}
		t.Logf("%s (%s, %s): %d rows, %d columns, %d numeric sums agree", q, layer, m.PartitionBy, n, len(ts.cols), checked)
	}
}

// renderDuck renders a value of DuckDB's JSON output as renderGo renders
// PostgreSQL's.
func renderDuck(t testing.TB, regType string, v any) string {
	t.Helper()
	if v == nil {
		return "NULL"
	}
	str := func() string {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("DuckDB %s value %v (%T)", regType, v, v)
		}
		return s
	}
	switch regType {
	case "date":
		return str()
	case "timestamp", "timestamp_local":
		s := str()
		layout := "2006-01-02 15:04:05.999999-07"
		if regType == "timestamp_local" {
			layout = "2006-01-02 15:04:05.999999"
		}
		ts, err := time.Parse(layout, s)
		if err != nil {
			t.Fatalf("DuckDB timestamp %q: %v", s, err)
		}
		return ts.UTC().Format("2006-01-02T15:04:05.000000Z")
	case "float":
		switch x := v.(type) {
		case float64:
			return renderFloat(x)
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				t.Fatalf("DuckDB double %q: %v", x, err)
			}
			return renderFloat(f)
		}
	case "int", "int32":
		switch x := v.(type) {
		case float64:
			return strconv.FormatInt(int64(x), 10)
		case string:
			return x
		}
	case "bool":
		return strconv.FormatBool(v.(bool))
	case "bytes":
		b, err := hex.DecodeString(str())
		if err != nil {
			t.Fatal(err)
		}
		return strconv.Quote(string(b))
	case "string[]":
		var els []string
		for _, e := range v.([]any) {
			if e == nil {
				els = append(els, "NULL")
			} else {
				els = append(els, strconv.Quote(e.(string)))
			}
		}
		return "[" + strings.Join(els, ",") + "]"
	default:
		return strconv.Quote(str())
	}
	t.Fatalf("DuckDB %s value %v (%T)", regType, v, v)
	return ""
}

// TestDuckDBAgrees has DuckDB (an independent Parquet reader) read every
// gold table with its documented glob and default partition inference, for
// each partitioning, and compares types, counts, sums and every row with
// PostgreSQL.
func TestDuckDBAgrees(t *testing.T) {
	t.Parallel()
	duckdbScript(t)
	db := pgtest.New(t)
	seedGold(t, db.Pool, seed{day0: day0, days: 35, items: 7, sites: 3})
	for _, partBy := range []string{"day", "month", "auto"} {
		root := filepath.Join(t.TempDir(), "exports")
		mustRun(t, db.Pool, Options{To: root, PartitionBy: partBy})
		assertDuck(t, db.Pool, root, duckRead(t, root, "gold"), "gold", exportedTables(t))
	}
}
