package export

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// window is one date range a refresh rewrote (inclusive).
type window struct{ from, to time.Time }

// changeWindows reads the change log of table q for change_id in
// (after, upto]. whole is true when one change covered the whole table.
func changeWindows(ctx context.Context, tx pgx.Tx, q string, after, upto int64) (ws []window, whole bool, err error) {
	rows, err := tx.Query(ctx, `SELECT date_from, date_to FROM meta.gold_changes
		WHERE `+changesOf+` AND change_id > $2 AND change_id <= $3 ORDER BY change_id`, q, after, upto)
	if err != nil {
		return nil, false, fmt.Errorf("meta.gold_changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var from, to *time.Time
		if err := rows.Scan(&from, &to); err != nil {
			return nil, false, fmt.Errorf("meta.gold_changes: %w", err)
		}
		if from == nil || to == nil {
			whole = true
			continue
		}
		ws = append(ws, window{from: from.UTC(), to: to.UTC()})
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("meta.gold_changes: %w", err)
	}
	return ws, whole, nil
}

// partitionKeys lists the partitions of grain the windows touch.
func partitionKeys(ws []window, grain string) map[string]bool {
	keys := map[string]bool{}
	for _, w := range ws {
		d := w.from
		if grain == grainMonth {
			d = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		for !d.After(w.to) {
			keys[partitionKey(d, grain)] = true
			if grain == grainMonth {
				d = d.AddDate(0, 1, 0)
			} else {
				d = d.AddDate(0, 0, 1)
			}
		}
	}
	return keys
}

// relation is the quoted name of the table.
func (ts *tableSchema) relation() string {
	return quoteIdent(ts.table.Layer) + "." + quoteIdent(ts.table.Name)
}

// selectList is the SQL select list of the table's columns, in order.
func (ts *tableSchema) selectList() string {
	exprs := make([]string, len(ts.cols))
	for i, c := range ts.cols {
		exprs[i] = c.sqlExpr
		if c.sqlExpr != quoteIdent(c.name) {
			exprs[i] += " AS " + quoteIdent(c.name)
		}
	}
	return strings.Join(exprs, ", ")
}

// plan is how one table is read in one run: its grain and, for bronze, the
// retention cut-off (loads started before it are not exported).
type plan struct {
	ts     *tableSchema
	grain  string
	fl     *fileLayout
	cutoff *time.Time
}

func newPlan(ts *tableSchema, grain string, cutoff *time.Time) *plan {
	if ts.source == partNone {
		grain = grainNone
	}
	return &plan{ts: ts, grain: grain, fl: ts.layout(grain), cutoff: cutoff}
}

// dir is the folder of partition key.
func (p *plan) dir(key string) string { return partitionDir(p.ts.source, p.grain, key) }

// where selects the rows of partition key ("" for the whole table, within
// the retention for bronze); args are numbered from $1.
func (p *plan) where(key string) (string, []any, error) {
	ts := p.ts
	switch ts.source {
	case partByDate:
		col := quoteIdent(ts.cols[ts.dateCol].name)
		switch key {
		case "":
			return "", nil, nil
		case nullKey:
			return col + " IS NULL", nil, nil
		}
		lo, hi, err := keyRange(key, p.grain)
		if err != nil {
			return "", nil, err
		}
		return col + " >= $1::date AND " + col + " < $2::date", []any{lo.Format(time.DateOnly), hi.Format(time.DateOnly)}, nil
	case partByLoad:
		var conds []string
		var args []any
		if key != "" {
			lo, hi, err := keyRange(key, p.grain)
			if err != nil {
				return "", nil, err
			}
			if p.cutoff != nil && p.cutoff.After(lo) {
				lo = *p.cutoff
			}
			conds, args = append(conds, "started_at >= $1", "started_at < $2"), append(args, lo, hi)
		} else if p.cutoff != nil {
			conds, args = append(conds, "started_at >= $1"), append(args, *p.cutoff)
		}
		if len(conds) == 0 {
			return "", nil, nil
		}
		return quoteIdent(ts.cols[ts.loadCol].name) + " IN (SELECT load_id FROM meta.loads WHERE " + strings.Join(conds, " AND ") + ")", args, nil
	}
	return "", nil, nil
}

// loadDayExpr is the UTC day a load started, for meta.loads aliased m.
const loadDayExpr = "(m.started_at AT TIME ZONE 'UTC')::date"

// dayStats is the row count and content checksum of one partition day.
type dayStats struct {
	rows int64
	sum  *big.Int
}

// checksum renders rows and the sum of the rows' hashes.
func (d dayStats) checksum() string {
	s := "0"
	if d.sum != nil {
		s = d.sum.String()
	}
	return fmt.Sprintf("%d:%s", d.rows, s)
}

func (d *dayStats) add(o dayStats) {
	d.rows += o.rows
	if d.sum == nil {
		d.sum = new(big.Int)
	}
	if o.sum != nil {
		d.sum.Add(d.sum, o.sum)
	}
}

// rowHash is the SQL of one row's content hash: the 64-bit hash of the
// row's text, for a subquery aliased t.
const rowHash = "hashtextextended(t::text, 0)"

// contentDays computes, per partition day of the table (YYYY-MM-DD,
// nullKey, or "" when the table is not partitioned), its row count and the
// sum of its rows' hashes: a checksum that does not depend on row order.
func contentDays(ctx context.Context, tx pgx.Tx, p *plan) (map[string]dayStats, error) {
	ts := p.ts
	inner := "SELECT " + ts.selectList() + " FROM " + ts.relation()
	var sql string
	var args []any
	switch ts.source {
	case partByDate:
		sql = fmt.Sprintf("SELECT t.%s, count(*), sum(%s)::text FROM (%s) t GROUP BY 1", quoteIdent(ts.cols[ts.dateCol].name), rowHash, inner)
	case partByLoad:
		cond := ""
		if p.cutoff != nil {
			cond, args = " WHERE m.started_at >= $1", []any{*p.cutoff}
		}
		sql = fmt.Sprintf("SELECT %s, count(*), sum(%s)::text FROM (%s) t JOIN meta.loads m ON m.load_id = t.%s%s GROUP BY 1",
			loadDayExpr, rowHash, inner, quoteIdent(ts.cols[ts.loadCol].name), cond)
	default:
		sql = fmt.Sprintf("SELECT NULL::date, count(*), sum(%s)::text FROM (%s) t HAVING count(*) > 0", rowHash, inner)
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("content checksums: %w", err)
	}
	defer rows.Close()
	out := map[string]dayStats{}
	for rows.Next() {
		var d *time.Time
		var n int64
		var sum *string
		if err := rows.Scan(&d, &n, &sum); err != nil {
			return nil, fmt.Errorf("content checksums: %w", err)
		}
		key := ""
		switch {
		case ts.source == partNone:
		case d == nil:
			key = nullKey
		default:
			key = d.UTC().Format(time.DateOnly)
		}
		st := dayStats{rows: n, sum: new(big.Int)}
		if sum != nil {
			if _, ok := st.sum.SetString(*sum, 10); !ok {
				return nil, fmt.Errorf("content checksums: sum %q", *sum)
			}
		}
		out[key] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("content checksums: %w", err)
	}
	return out, nil
}

// byGrain folds per-day statistics into partitions of grain.
func byGrain(days map[string]dayStats, grain string) map[string]dayStats {
	out := map[string]dayStats{}
	for d, st := range days {
		k := regroup([]string{d}, grain)[0]
		acc := out[k]
		acc.add(st)
		out[k] = acc
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// loadInfo is one load whose rows a bronze table holds.
type loadInfo struct {
	id  int64
	day string // YYYY-MM-DD, UTC
}

// tableLoads lists the loads (within the retention) that have rows in the
// bronze table, with the day each started: one index probe per load.
func tableLoads(ctx context.Context, tx pgx.Tx, p *plan) ([]loadInfo, error) {
	ts := p.ts
	cond, args := "", []any{}
	if p.cutoff != nil {
		cond, args = "m.started_at >= $1 AND ", []any{*p.cutoff}
	}
	sql := fmt.Sprintf(`SELECT m.load_id, %s FROM meta.loads m
		WHERE %sEXISTS (SELECT 1 FROM %s t WHERE t.%s = m.load_id) ORDER BY m.load_id`,
		loadDayExpr, cond, ts.relation(), quoteIdent(ts.cols[ts.loadCol].name))
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("loads of %s: %w", ts.table.Qualified(), err)
	}
	defer rows.Close()
	var out []loadInfo
	for rows.Next() {
		var li loadInfo
		var d time.Time
		if err := rows.Scan(&li.id, &d); err != nil {
			return nil, fmt.Errorf("loads of %s: %w", ts.table.Qualified(), err)
		}
		li.day = d.UTC().Format(time.DateOnly)
		out = append(out, li)
	}
	return out, rows.Err()
}

// loadChecksums computes the row count and content checksum of each of
// the loads' rows in the bronze table.
func loadChecksums(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, ts *tableSchema, ids []int64) (map[int64]dayStats, error) {
	out := map[int64]dayStats{}
	if len(ids) == 0 {
		return out, nil
	}
	lc := quoteIdent(ts.cols[ts.loadCol].name)
	sql := fmt.Sprintf("SELECT t.%s, count(*), sum(%s)::text FROM (SELECT %s FROM %s WHERE %s = ANY($1)) t GROUP BY 1",
		lc, rowHash, ts.selectList(), ts.relation(), lc)
	rows, err := q.Query(ctx, sql, ids)
	if err != nil {
		return nil, fmt.Errorf("checksums of %s: %w", ts.table.Qualified(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int64
		var sum string
		if err := rows.Scan(&id, &n, &sum); err != nil {
			return nil, fmt.Errorf("checksums of %s: %w", ts.table.Qualified(), err)
		}
		st := dayStats{rows: n, sum: new(big.Int)}
		if _, ok := st.sum.SetString(sum, 10); !ok {
			return nil, fmt.Errorf("checksums of %s: sum %q", ts.table.Qualified(), sum)
		}
		out[id] = st
	}
	return out, rows.Err()
}

// listDays returns the partition days (YYYY-MM-DD, and nullKey when some
// dates are NULL) of a table partitioned by date. With an index leading on
// the date column it skips from one date to the next (a loose index scan:
// one index probe per day instead of a full scan).
func listDays(ctx context.Context, tx pgx.Tx, ts *tableSchema) ([]string, error) {
	q := ts.table.Qualified()
	tbl := ts.relation()
	col := quoteIdent(ts.cols[ts.dateCol].name)
	var indexed bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = `+storedRelation+` AND a.attname = $2)`, q, ts.cols[ts.dateCol].name).Scan(&indexed)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	sql := fmt.Sprintf(`WITH RECURSIVE p(d) AS (
		SELECT min(%[1]s) FROM %[2]s
		UNION ALL
		SELECT (SELECT min(%[1]s) FROM %[2]s WHERE %[1]s > p.d) FROM p WHERE p.d IS NOT NULL)
		SELECT d FROM p WHERE d IS NOT NULL`, col, tbl)
	if ts.cols[ts.dateCol].nullable {
		sql += fmt.Sprintf(" UNION ALL SELECT NULL WHERE EXISTS (SELECT 1 FROM %s WHERE %s IS NULL)", tbl, col)
	}
	if !indexed {
		sql = fmt.Sprintf("SELECT DISTINCT %s FROM %s", col, tbl)
	} else {
		// The export's session disables index scans (files come in physical
		// order); the skip from one date to the next needs them.
		if _, err := tx.Exec(ctx, "SET LOCAL enable_indexscan = on"); err != nil {
			return nil, fmt.Errorf("list partitions: %w", err)
		}
		defer func() { _, _ = tx.Exec(ctx, "SET LOCAL enable_indexscan = off") }()
	}
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var d *time.Time
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list partitions: %w", err)
		}
		if d == nil {
			set[nullKey] = true
			continue
		}
		set[d.UTC().Format(time.DateOnly)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	return sortedKeys(set), nil
}

// storedRelation is the SQL expression of the relation whose rows the
// relation named $1 stores: itself, or for a view over one table (such as
// gold.agg_forecast_rolling, columns of gold.fact_forecast) that table, so
// that its row estimate and its date index serve the view (a view of one
// table keeps the table's rows and column names).
const storedRelation = `coalesce((SELECT min(d.refobjid) FROM pg_rewrite rw
		JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
		 AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rw.ev_class
		WHERE rw.ev_class = to_regclass($1) HAVING count(DISTINCT d.refobjid) = 1), to_regclass($1))`

// changesOf is the condition on meta.gold_changes of the changes to the
// relation named $1: its own, and for a view over one table (such as
// gold.agg_forecast_rolling) that table's, whose rows it shows.
const changesOf = `table_name IN ($1, (SELECT n.nspname || '.' || c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ` + storedRelation + `))`

// estimateRows is the table's row count: the planner's estimate
// (pg_class.reltuples, kept by ANALYZE and VACUUM, which every refresh
// runs) from estimateFrom rows on, where counting would cost a noticeable
// part of the export; an exact count below, or when the table was never
// analysed. estimated says which.
func estimateRows(ctx context.Context, tx pgx.Tx, ts *tableSchema) (n int64, estimated bool, err error) {
	var est float64
	err = tx.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = `+storedRelation, ts.table.Qualified()).Scan(&est)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("row estimate: %w", err)
	}
	if est >= estimateFrom {
		return int64(est), true, nil
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+ts.relation()).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("count rows: %w", err)
	}
	return n, false, nil
}

// estimateFrom is the table size from which the planner's row estimate is
// used instead of a count.
const estimateFrom = 100_000
