package registry

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Querier is what Check needs from a connection or pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Drift is one difference between the registry and the database.
type Drift struct {
	Table  string
	Column string
	Issue  string
}

func (d Drift) String() string {
	if d.Column == "" {
		return fmt.Sprintf("%s: %s", d.Table, d.Issue)
	}
	return fmt.Sprintf("%s.%s: %s", d.Table, d.Column, d.Issue)
}

type liveCol struct {
	typ     string
	notNull bool
}

type liveTable struct {
	kind string
	cols map[string]liveCol
}

// Check compares the registry with the live catalog: tables, views and
// materialized views of the layer schemas (partitions excluded), their
// columns, types and NOT NULL. Every difference is returned as a Drift.
func Check(ctx context.Context, q Querier, r *Registry) ([]Drift, error) {
	rows, err := q.Query(ctx, `
		SELECT n.nspname, c.relname, c.relkind::text, a.attname,
		       format_type(a.atttypid, a.atttypmod), a.attnotnull
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = ANY($1)
		  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		  AND NOT c.relispartition
		  AND NOT (n.nspname = 'public' AND c.relname = 'schema_migrations')`, Layers)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	live := map[string]*liveTable{}
	for rows.Next() {
		var schema, table, kind, col, typ string
		var notNull bool
		if err := rows.Scan(&schema, &table, &kind, &col, &typ, &notNull); err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		key := schema + "." + table
		lt := live[key]
		if lt == nil {
			lt = &liveTable{kind: kind, cols: map[string]liveCol{}}
			live[key] = lt
		}
		lt.cols[col] = liveCol{typ: typ, notNull: notNull}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}

	var drifts []Drift
	for _, t := range r.Tables() {
		q := t.Qualified()
		lt, ok := live[q]
		if !ok {
			drifts = append(drifts, Drift{Table: q, Issue: "missing from the database"})
			continue
		}
		if want := wantKind(t.Kind); !strings.Contains(want, lt.kind) {
			drifts = append(drifts, Drift{Table: q, Issue: fmt.Sprintf("is a %s in the database, registry says %s", kindName(lt.kind), orTable(t.Kind))})
		}
		for _, c := range t.Columns {
			lc, ok := lt.cols[c.Name]
			if !ok {
				drifts = append(drifts, Drift{Table: q, Column: c.Name, Issue: "missing from the database"})
				continue
			}
			if lc.typ != c.PGType() {
				drifts = append(drifts, Drift{Table: q, Column: c.Name, Issue: fmt.Sprintf("type is %s in the database, registry says %s (%s)", lc.typ, c.Type, c.PGType())})
			}
			// Views carry no NOT NULL; only tables are compared.
			if (lt.kind == "r" || lt.kind == "p") && lc.notNull == c.Nullable {
				drifts = append(drifts, Drift{Table: q, Column: c.Name, Issue: fmt.Sprintf("nullable is %v in the database, registry says %v", !lc.notNull, c.Nullable)})
			}
		}
		names := make([]string, 0, len(lt.cols))
		for n := range lt.cols {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if _, ok := t.Column(n); !ok {
				drifts = append(drifts, Drift{Table: q, Column: n, Issue: "exists in the database but not in the registry"})
			}
		}
	}
	names := make([]string, 0, len(live))
	for n := range live {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := r.Lookup(n); !ok {
			drifts = append(drifts, Drift{Table: n, Issue: fmt.Sprintf("%s exists in the database but not in the registry", kindName(live[n].kind))})
		}
	}
	return drifts, nil
}

func wantKind(k string) string {
	switch k {
	case "view":
		return "v"
	case "materialized_view":
		return "m"
	default:
		return "rpf"
	}
}

func orTable(k string) string {
	if k == "" {
		return "table"
	}
	return strings.ReplaceAll(k, "_", " ")
}

func kindName(k string) string {
	switch k {
	case "v":
		return "view"
	case "m":
		return "materialized view"
	case "f":
		return "foreign table"
	default:
		return "table"
	}
}
