package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// exportedTables lists the tables an export with default options writes.
func exportedTables(t testing.TB) []*tableSchema {
	t.Helper()
	o := Options{}
	tables, err := o.normalize(testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*tableSchema, len(tables))
	for i, tb := range tables {
		if out[i], err = buildSchema(tb); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// verifyExport checks every table's manifest and files under root against
// PostgreSQL: file sizes and sha256, schema (names, order, logical types),
// statistics, row group sizes, and every row of every partition, plus
// counts and sums per partition computed by PostgreSQL.
func verifyExport(t testing.TB, pool *pgxpool.Pool, root string, partBy string) {
	t.Helper()
	for _, ts := range exportedTables(t) {
		verifyTable(t, pool, root, ts, partBy)
	}
}

func verifyTable(t testing.TB, pool *pgxpool.Pool, root string, ts *tableSchema, partBy string) {
	t.Helper()
	ctx := context.Background()
	name := ts.table.Name
	m := readManifest(t, root, name)
	if m.Table != ts.table.Qualified() || m.SchemaSHA256 != ts.sha256 {
		t.Fatalf("%s: manifest table %q schema %s, want %s", name, m.Table, m.SchemaSHA256, ts.sha256)
	}
	wantPart := "none"
	if ts.partitioned {
		wantPart = partBy
	}
	if m.PartitionBy != wantPart {
		t.Fatalf("%s: manifest partition_by %q, want %q", name, m.PartitionBy, wantPart)
	}
	// Partitions in PostgreSQL.
	var pgTotal int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+ts.table.Qualified()).Scan(&pgTotal); err != nil {
		t.Fatal(err)
	}
	if m.Rows != pgTotal {
		t.Fatalf("%s: manifest rows %d, PostgreSQL %d", name, m.Rows, pgTotal)
	}
	byPart := map[string][]ManifestFile{}
	for _, f := range m.Files {
		byPart[f.Partition] = append(byPart[f.Partition], f)
	}
	var keys []string
	for k := range byPart {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if ts.partitioned {
		var n int
		expr := "date_trunc('month', date)"
		if partBy == "day" {
			expr = "date"
		}
		if err := pool.QueryRow(ctx, fmt.Sprintf("SELECT count(DISTINCT %s) FROM %s", expr, ts.table.Qualified())).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(keys) {
			t.Fatalf("%s: %d partitions in the manifest, PostgreSQL has %d", name, len(keys), n)
		}
	}
	for _, k := range keys {
		files := byPart[k]
		sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		var got [][]string
		for _, mf := range files {
			if k != "" && !strings.HasPrefix(mf.Path, partitionDir(partBy, k)+"/") {
				t.Fatalf("%s: file %s is not in the folder of partition %s", name, mf.Path, k)
			}
			p := filepath.Join(root, "gold", name, filepath.FromSlash(mf.Path))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != mf.SHA256 || int64(len(b)) != mf.Bytes {
				t.Fatalf("%s: sha256/size differ from the manifest", p)
			}
			f, rows := readParquet(t, bytes.NewReader(b), int64(len(b)), p)
			checkParquetFile(t, f, ts, p)
			if int64(len(rows)) != mf.Rows {
				t.Fatalf("%s: %d rows, manifest says %d", p, len(rows), mf.Rows)
			}
			got = append(got, rows...)
		}
		where, args := "", []any{}
		if k != "" {
			lo, hi, err := keyRange(k, partBy)
			if err != nil {
				t.Fatal(err)
			}
			where, args = "WHERE date >= $1::date AND date < $2::date", []any{lo, hi}
		}
		want := pgRows(t, pool, ts, where, args...)
		if len(got) != len(want) {
			t.Fatalf("%s partition %q: %d rows in Parquet, %d in PostgreSQL", name, k, len(got), len(want))
		}
		// Rows of one date come in physical order: compare as sorted sets.
		gs, ws := joinRows(got), joinRows(want)
		for i := range ws {
			if gs[i] != ws[i] {
				t.Fatalf("%s partition %q row %d (sorted):\nparquet  %s\npostgres %s", name, k, i, gs[i], ws[i])
			}
		}
		checkSums(t, pool, ts, got, where, args, name+" partition "+k)
		if ts.statsCol >= 0 && len(got) > 0 {
			min, max := got[0][ts.statsCol], got[0][ts.statsCol]
			for _, r := range got {
				if r[ts.statsCol] < min {
					min = r[ts.statsCol]
				}
				if r[ts.statsCol] > max {
					max = r[ts.statsCol]
				}
			}
			if files[0].MinDate != min || files[len(files)-1].MaxDate != max {
				t.Fatalf("%s partition %q: manifest dates %s..%s, rows %s..%s", name, k, files[0].MinDate, files[len(files)-1].MaxDate, min, max)
			}
		}
	}
}

// checkSums compares per-column sums and non-null counts of the numeric
// columns with PostgreSQL's aggregates.
func checkSums(t testing.TB, pool *pgxpool.Pool, ts *tableSchema, rows [][]string, where string, args []any, what string) {
	t.Helper()
	var aggs []string
	var idx []int
	for i, c := range ts.cols {
		if c.regType == "float" || c.regType == "int" || c.regType == "int32" {
			aggs = append(aggs, fmt.Sprintf("coalesce(sum(%s)::float8, 0), count(%s)", c.sqlExpr, c.sqlExpr))
			idx = append(idx, i)
		}
	}
	if len(aggs) == 0 {
		return
	}
	dest := make([]any, 2*len(idx))
	sums := make([]float64, len(idx))
	counts := make([]int64, len(idx))
	for j := range idx {
		dest[2*j], dest[2*j+1] = &sums[j], &counts[j]
	}
	q := fmt.Sprintf("SELECT %s FROM %s %s", strings.Join(aggs, ", "), ts.table.Qualified(), where)
	if err := pool.QueryRow(context.Background(), q, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	for j, i := range idx {
		var s float64
		var n int64
		for _, r := range rows {
			if r[i] == "NULL" {
				continue
			}
			v, err := strconv.ParseFloat(r[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			s += v
			n++
		}
		if n != counts[j] || math.Abs(s-sums[j]) > 1e-9*math.Max(1, math.Abs(s)) {
			t.Fatalf("%s.%s: Parquet count %d sum %v, PostgreSQL count %d sum %v", what, ts.cols[i].name, n, s, counts[j], sums[j])
		}
	}
}

// checkParquetFile checks the schema, logical types, statistics and row
// groups of one file.
func checkParquetFile(t testing.TB, f *parquet.File, ts *tableSchema, p string) {
	t.Helper()
	fields := f.Schema().Fields()
	if len(fields) != len(ts.cols) {
		t.Fatalf("%s: %d columns, registry has %d", p, len(fields), len(ts.cols))
	}
	for i, c := range ts.cols {
		fd := fields[i]
		if fd.Name() != c.name {
			t.Fatalf("%s: column %d is %q, registry says %q", p, i, fd.Name(), c.name)
		}
		if fd.Optional() != c.nullable {
			t.Fatalf("%s.%s: optional=%v, registry nullable=%v", p, c.name, fd.Optional(), c.nullable)
		}
		lt := logical(fd.Type())
		if c.list {
			if _, ok := lt.(*format.ListType); !ok {
				t.Fatalf("%s.%s: not a LIST", p, c.name)
			}
			continue
		}
		kind := fd.Type().Kind()
		ok := false
		switch c.regType {
		case "date":
			_, ok = lt.(*format.DateType)
		case "timestamp":
			ts, isTS := lt.(*format.TimestampType)
			if isTS {
				_, micros := ts.Unit.Value.(*format.MicroSeconds)
				ok = ts.IsAdjustedToUTC && micros
			}
		case "float":
			ok = kind == parquet.Double
		case "int":
			ok = kind == parquet.Int64
		case "int32":
			ok = kind == parquet.Int32
		case "bool":
			ok = kind == parquet.Boolean
		case "string":
			_, ok = lt.(*format.StringType)
		case "json":
			_, ok = lt.(*format.JsonType)
		}
		if !ok {
			t.Fatalf("%s.%s: Parquet type %v (logical %v) does not match registry type %s", p, c.name, fd.Type(), lt, c.regType)
		}
	}
	md := f.Metadata()
	if md.NumRows > 0 {
		for gi, rg := range md.RowGroups {
			if rg.NumRows > int64(DefaultRowGroupRows) {
				t.Fatalf("%s: row group %d has %d rows", p, gi, rg.NumRows)
			}
			for _, cc := range rg.Columns {
				st := cc.MetaData.Statistics
				if cc.MetaData.NumValues > st.NullCount && (len(st.MinValue) == 0 && len(st.MaxValue) == 0) {
					t.Fatalf("%s: row group %d column %v has no min/max statistics", p, gi, cc.MetaData.PathInSchema)
				}
			}
		}
		if c := md.RowGroups[0].Columns[0].MetaData.Codec; c.String() != "SNAPPY" && c.String() != "ZSTD" {
			t.Fatalf("%s: codec %v", p, c)
		}
	}
}

func joinRows(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.Join(r, "|")
	}
	sort.Strings(out)
	return out
}
