package export

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// window is one date range a refresh rewrote (inclusive).
type window struct{ from, to time.Time }

// changeWindows reads the change log of table q for change_id in
// (after, upto]. whole is true when one change covered the whole table.
func changeWindows(ctx context.Context, tx pgx.Tx, q string, after, upto int64) (ws []window, whole bool, err error) {
	rows, err := tx.Query(ctx, `SELECT date_from, date_to FROM meta.gold_changes
		WHERE table_name = $1 AND change_id > $2 AND change_id <= $3 ORDER BY change_id`, q, after, upto)
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

// partitionKeys lists the partitions (YYYY-MM-DD or YYYY-MM) the windows
// touch.
func partitionKeys(ws []window, partBy string) map[string]bool {
	keys := map[string]bool{}
	for _, w := range ws {
		d := w.from
		if partBy == "month" {
			d = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		for !d.After(w.to) {
			keys[partitionKey(d, partBy)] = true
			if partBy == "month" {
				d = d.AddDate(0, 1, 0)
			} else {
				d = d.AddDate(0, 0, 1)
			}
		}
	}
	return keys
}

func partitionKey(d time.Time, partBy string) string {
	if partBy == "month" {
		return d.Format("2006-01")
	}
	return d.Format("2006-01-02")
}

// keyRange is the half-open date range [lo, hi) of a partition key.
func keyRange(key, partBy string) (lo, hi string, err error) {
	if partBy == "month" {
		d, err := time.Parse("2006-01", key)
		if err != nil {
			return "", "", fmt.Errorf("partition %q: %w", key, err)
		}
		return d.Format(time.DateOnly), d.AddDate(0, 1, 0).Format(time.DateOnly), nil
	}
	d, err := time.Parse(time.DateOnly, key)
	if err != nil {
		return "", "", fmt.Errorf("partition %q: %w", key, err)
	}
	return key, d.AddDate(0, 0, 1).Format(time.DateOnly), nil
}

// listPartitions returns the partition keys holding rows. With an index
// leading on the date column it skips from one date to the next (a loose
// index scan: one index probe per partition instead of a full scan).
func listPartitions(ctx context.Context, tx pgx.Tx, ts *tableSchema, partBy string) ([]string, error) {
	q := ts.table.Qualified()
	tbl := quoteIdent(ts.table.Layer) + "." + quoteIdent(ts.table.Name)
	col := quoteIdent(PartitionColumn)
	var indexed bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indrelid = to_regclass($1) AND a.attname = $2)`, q, PartitionColumn).Scan(&indexed)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	next := col + " > p.d"
	if partBy == "month" {
		next = col + " >= (date_trunc('month', p.d) + interval '1 month')::date"
	}
	sql := fmt.Sprintf(`WITH RECURSIVE p(d) AS (
		SELECT min(%[1]s) FROM %[2]s
		UNION ALL
		SELECT (SELECT min(%[1]s) FROM %[2]s WHERE %[3]s) FROM p WHERE p.d IS NOT NULL)
		SELECT d FROM p WHERE d IS NOT NULL`, col, tbl, next)
	if !indexed {
		sql = fmt.Sprintf("SELECT DISTINCT %s FROM %s", col, tbl)
	}
	rows, err := tx.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var d time.Time
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list partitions: %w", err)
		}
		set[partitionKey(d.UTC(), partBy)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}
