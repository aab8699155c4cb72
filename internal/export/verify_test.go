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
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// exportedTables lists the tables an export with default options writes.
func exportedTables(t testing.TB) []*tableSchema {
	t.Helper()
	return layerTables(t, Options{})["gold"]
}

// layerTables lists the tables an export with opts writes, by layer.
func layerTables(t testing.TB, opts Options) map[string][]*tableSchema {
	t.Helper()
	sel, err := opts.normalize(testRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	return sel.tables
}

// verifyExport checks every gold table's manifest and files under root
// against PostgreSQL (see verifyTable). partBy "" accepts the grain the
// file-size rule chose.
func verifyExport(t testing.TB, pool *pgxpool.Pool, root string, partBy string) {
	t.Helper()
	for _, ts := range exportedTables(t) {
		verifyTable(t, pool, root, ts, partBy)
	}
}

// verifyTable checks one table's export under root against PostgreSQL: the
// layer manifest names its manifest, file sizes and sha256, schema (names,
// order, logical types), statistics, row group sizes, and every row of
// every partition, plus counts and sums per partition computed by
// PostgreSQL. It returns the manifest.
func verifyTable(t testing.TB, pool *pgxpool.Pool, root string, ts *tableSchema, partBy string) *Manifest {
	t.Helper()
	ctx := context.Background()
	name := ts.name
	layerDir := filepath.Join(root, ts.layer)
	m := readLayerTable(t, root, ts.layer, name)
	if m.Table != ts.table.Qualified() || m.SchemaSHA256 != ts.sha256 || m.Layer != ts.layer {
		t.Fatalf("%s: manifest table %q layer %q schema %s, want %s", name, m.Table, m.Layer, m.SchemaSHA256, ts.sha256)
	}
	if _, err := os.Stat(filepath.Join(layerDir, name, SuccessName)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	grain := m.PartitionBy
	switch {
	case ts.source == partNone && grain != grainNone:
		t.Fatalf("%s: unpartitioned table exported with partition_by %q", name, grain)
	case ts.source != partNone && partBy != "" && grain != partBy:
		t.Fatalf("%s: manifest partition_by %q, want %q", name, grain, partBy)
	}
	p := newPlan(ts, grain, nil)
	p.cutoff = m.RetentionCutoff
	// Partitions in PostgreSQL.
	cond, cargs, err := p.where("")
	if err != nil {
		t.Fatal(err)
	}
	if cond != "" {
		cond = "WHERE " + cond
	}
	var pgTotal int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+ts.relation()+" "+cond, cargs...).Scan(&pgTotal); err != nil {
		t.Fatal(err)
	}
	if m.Rows != pgTotal {
		t.Fatalf("%s: manifest rows %d, PostgreSQL %d", name, m.Rows, pgTotal)
	}
	byPart := map[string][]ManifestFile{}
	for _, f := range m.Files {
		byPart[f.Partition] = append(byPart[f.Partition], f)
	}
	keys := sortedKeys(byPart)
	if ts.source == partByDate && grain != grainNone {
		var n int
		expr := "date_trunc('month', date)"
		if grain == grainDay {
			expr = "date"
		}
		if err := pool.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT DISTINCT %s FROM %s) d", expr, ts.relation())).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(keys) {
			t.Fatalf("%s: %d partitions in the manifest, PostgreSQL has %d", name, len(keys), n)
		}
	}
	fl := p.fl
	for _, k := range keys {
		files := byPart[k]
		sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		var got [][]string
		for _, mf := range files {
			if d := p.dir(k); d != "" && !strings.HasPrefix(mf.Path, d+"/") {
				t.Fatalf("%s: file %s is not in the folder of partition %s (%s)", name, mf.Path, k, d)
			}
			pth := filepath.Join(layerDir, name, filepath.FromSlash(mf.Path))
			b, err := os.ReadFile(pth)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) != mf.SHA256 || int64(len(b)) != mf.Bytes {
				t.Fatalf("%s: sha256/size differ from the manifest", pth)
			}
			f, rows := readParquet(t, bytes.NewReader(b), int64(len(b)), pth)
			checkParquetFile(t, f, ts, fl, pth)
			if int64(len(rows)) != mf.Rows {
				t.Fatalf("%s: %d rows, manifest says %d", pth, len(rows), mf.Rows)
			}
			got = append(got, rows...)
		}
		where, args, err := p.where(k)
		if err != nil {
			t.Fatal(err)
		}
		if where != "" {
			where = "WHERE " + where
		}
		want := pgRows(t, pool, ts, fl, where, args...)
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
		checkSums(t, pool, ts, fl, got, where, args, name+" partition "+k)
		if ts.statsCol >= 0 {
			var lo, hi *time.Time
			dc := quoteIdent(ts.cols[ts.statsCol].name)
			if err := pool.QueryRow(ctx, fmt.Sprintf("SELECT min(%s), max(%s) FROM %s %s", dc, dc, ts.relation(), where), args...).Scan(&lo, &hi); err != nil {
				t.Fatal(err)
			}
			gotLo, gotHi := files[0].MinDate, files[0].MaxDate
			for _, f := range files {
				if f.MinDate < gotLo {
					gotLo = f.MinDate
				}
				if f.MaxDate > gotHi {
					gotHi = f.MaxDate
				}
			}
			wantLo, wantHi := "", ""
			if lo != nil {
				wantLo, wantHi = lo.Format(time.DateOnly), hi.Format(time.DateOnly)
			}
			if gotLo != wantLo || gotHi != wantHi {
				t.Fatalf("%s partition %q: manifest dates %s..%s, PostgreSQL %s..%s", name, k, gotLo, gotHi, wantLo, wantHi)
			}
		}
	}
	return m
}

// readLayerTable reads the layer manifest under root and the manifest it
// names for table, checking its sha256.
func readLayerTable(t testing.TB, root, layer, table string) *Manifest {
	t.Helper()
	lp := filepath.Join(root, layer, ManifestName)
	b, err := os.ReadFile(lp)
	if err != nil {
		t.Fatal(err)
	}
	lm, err := ParseLayerManifest(b, lp)
	if err != nil {
		t.Fatal(err)
	}
	e := lm.table(table)
	if e == nil {
		t.Fatalf("%s names no table %s", lp, table)
	}
	mp := filepath.Join(root, layer, filepath.FromSlash(e.Manifest))
	mb, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	if sha256Hex(mb) != e.ManifestSHA256 {
		t.Fatalf("%s: sha256 differs from the layer manifest's", mp)
	}
	m, err := ParseManifest(mb, mp)
	if err != nil {
		t.Fatal(err)
	}
	if e.Rows != m.Rows || e.Files != len(m.Files) || e.PartitionBy != m.PartitionBy || e.Glob != m.Glob {
		t.Fatalf("%s: layer manifest entry %+v disagrees with the table manifest", lp, e)
	}
	return m
}

// checkSums compares per-column sums and non-null counts of the numeric
// columns with PostgreSQL's aggregates.
func checkSums(t testing.TB, pool *pgxpool.Pool, ts *tableSchema, fl *fileLayout, rows [][]string, where string, args []any, what string) {
	t.Helper()
	var aggs []string
	var idx, pos []int
	for i, c := range ts.cols {
		if fl.leaf[i] >= 0 && (c.regType == "float" || c.regType == "int" || c.regType == "int32") {
			aggs = append(aggs, fmt.Sprintf("coalesce(sum(%s)::float8, 0), count(%s)", c.sqlExpr, c.sqlExpr))
			idx = append(idx, i)
			pos = append(pos, fl.leaf[i])
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
			if r[pos[j]] == "NULL" {
				continue
			}
			v, err := strconv.ParseFloat(r[pos[j]], 64)
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
func checkParquetFile(t testing.TB, f *parquet.File, ts *tableSchema, fl *fileLayout, p string) {
	t.Helper()
	fields := f.Schema().Fields()
	if len(fields) != len(fl.cols) {
		t.Fatalf("%s: %d columns, want %d", p, len(fields), len(fl.cols))
	}
	for i, c := range ts.cols {
		if fl.leaf[i] < 0 {
			continue
		}
		fd := fields[fl.leaf[i]]
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
		case "bytes":
			ok = kind == parquet.ByteArray && lt == nil
		case "numeric":
			_, ok = lt.(*format.StringType)
		case "timestamp_local":
			ts, isTS := lt.(*format.TimestampType)
			ok = isTS && !ts.IsAdjustedToUTC
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
				// The page index (column index and offset index) is how
				// readers skip pages: page headers carry no statistics.
				if cc.ColumnIndexLength <= 0 || cc.OffsetIndexLength <= 0 {
					t.Fatalf("%s: row group %d column %v has no column index or offset index", p, gi, cc.MetaData.PathInSchema)
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
