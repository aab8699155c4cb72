package refresh

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// Items of the example queries (docs/data/example_queries.sql).
const (
	exDisco   = "ABRASIVOS_DISCO DE LIXA 4.1/2 G36"
	exBateria = "ABRASIVOS_BATERIA 9V"
)

// invRow is one bronze.inventory row.
type invRow struct {
	Item, Site, Deposito, Status        string
	Date                                *time.Time
	Stock, Safety, Reorder, DaysRupture float64
	Generated                           time.Time
}

func addInventory(t testing.TB, pool *pgxpool.Pool, file string, rows []invRow) int64 {
	t.Helper()
	id := addLoad(t, pool, "inventory", file, int64(len(rows)))
	_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"bronze", "inventory"},
		[]string{"item_id", "site_id", "deposito", "date", "current_stock", "safety_stock", "reorder_point",
			"days_to_rupture", "stock_status", "model_version", "generated_at", "source", "dataset_id", "_load_id", "_line"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := rows[i]
			return []any{r.Item, r.Site, nullStr(r.Deposito), r.Date, r.Stock, r.Safety, r.Reorder, r.DaysRupture,
				r.Status, "rx-v1", r.Generated, "prescriptive", "nova_corrente", id, int64(i + 2)}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// seedExamples loads a small history of the company's shapes into bronze
// (ERP lines of two materials at two depots, ensemble forecasts for both
// items at two sites, arima for one, dated inventory snapshots) and
// refreshes gold from it.
func seedExamples(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	gen := time.Date(2025, 11, 11, 3, 0, 0, 0, time.UTC)
	first, last := day("2025-04-01"), day("2025-05-31")
	type mat struct{ familia, material, code string }
	mats := []mat{{"ABRASIVOS", "DISCO DE LIXA 4.1/2 G36", "010512"}, {"ABRASIVOS", "BATERIA 9V", "010463"}}
	siteDefs := []struct{ id, depot string }{{"176", "STC"}, {"22", "ALMOX-BA"}}
	var erp []erpRow
	n := 0
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		for mi, m := range mats {
			n++
			if n%3 == 0 {
				continue // days without demand
			}
			dd := d
			erp = append(erp, erpRow{Deposito: siteDefs[(n+mi)%2].depot, Code: m.code, Material: m.material, Familia: m.familia,
				Qty: float64(1 + (n*7+mi)%5), Date: &dd})
		}
	}
	addERP(t, pool, "custo_de_material_e_servicos.csv", erp)

	var fc []fcRow
	for mi, m := range mats {
		for si, s := range siteDefs {
			i := 0
			for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
				i++
				base := float64(1+mi) + float64((i*(si+2))%7)/10
				fc = append(fc, fcRow{Item: m.familia + "_" + m.material, Site: s.id, Deposito: s.depot, Date: d,
					Forecast: base, Source: "ensemble", Model: "ensemble-2025.11.1", Dataset: "nova_corrente_2025-11-11", Generated: gen})
				if mi == 0 && si == 0 {
					fc = append(fc, fcRow{Item: m.familia + "_" + m.material, Site: s.id, Deposito: s.depot, Date: d,
						Forecast: base + 0.5, Source: "arima", Model: "arima-2025.11.0", Dataset: "nova_corrente_2025-11-11",
						Generated: gen.Add(-24 * time.Hour)})
				}
			}
		}
	}
	addForecasts(t, pool, "forecasts.parquet", fc)

	dp := func(s string) *time.Time { d := day(s); return &d }
	addInventory(t, pool, "prescriptions.csv", []invRow{
		{Item: exDisco, Site: "176", Deposito: "STC", Date: dp("2025-04-01"), Stock: 12, Safety: 1.5, Reorder: 10.46, DaysRupture: 9.2, Status: "ok", Generated: gen},
		{Item: exDisco, Site: "176", Deposito: "STC", Date: dp("2025-05-01"), Stock: 4, Safety: 1.5, Reorder: 10.46, DaysRupture: 3.1, Status: "critical", Generated: gen},
		{Item: exDisco, Site: "22", Deposito: "ALMOX-BA", Date: dp("2025-04-15"), Stock: 7, Safety: 1, Reorder: 6.95, DaysRupture: 6, Status: "warning", Generated: gen},
		{Item: exBateria, Site: "176", Deposito: "STC", Date: dp("2025-05-01"), Stock: 0, Safety: 1.05, Reorder: 10.46, DaysRupture: 0, Status: "critical", Generated: gen},
	})
	if _, err := New(pool, nil).Run(context.Background(), Options{}); err != nil {
		t.Fatalf("refresh of the example data: %v", err)
	}
}

// TestExampleQueries runs every statement of docs/data/example_queries.sql
// as novawh_reader against gold built by a refresh; each must return rows.
func TestExampleQueries(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "data", "example_queries.sql"))
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := splitSQL(string(b))
	if err != nil {
		t.Fatalf("example_queries.sql: %v", err)
	}
	if len(stmts) < 10 {
		t.Fatalf("only %d statements found", len(stmts))
	}
	db := pgtest.New(t)
	seedExamples(t, db.Pool)
	reader := readerPool(t, db)
	for _, st := range stmts {
		t.Run("line "+strconv.Itoa(st.line), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rows, err := reader.Query(ctx, st.sql)
			if err != nil {
				t.Fatalf("example_queries.sql:%d: %v", st.line, err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				t.Fatalf("example_queries.sql:%d: %v", st.line, err)
			}
			if n == 0 {
				t.Errorf("example_queries.sql:%d: no rows on the seeded database", st.line)
			}
		})
	}
}

// readerPool opens a pool on db whose connections act as novawh_reader,
// the role analysts and the API read gold with.
func readerPool(t testing.TB, db *pgtest.DB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE novawh_reader")
		return err
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

type statement struct {
	sql  string
	line int // line of the statement's first non-comment character
}

// splitSQL splits a script on semicolons outside quotes and comments.
func splitSQL(s string) ([]statement, error) {
	var out []statement
	var cur strings.Builder
	line, start := 1, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			if i < len(s) {
				line++
				cur.WriteByte('\n')
			}
			continue
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return nil, &splitError{line: line, msg: "unterminated quote"}
			}
			seg := s[i : j+1]
			if start == 0 {
				start = line
			}
			line += strings.Count(seg, "\n")
			cur.WriteString(seg)
			i = j
			continue
		case c == ';':
			if sql := strings.TrimSpace(cur.String()); sql != "" {
				out = append(out, statement{sql: sql, line: start})
			}
			cur.Reset()
			start = 0
			continue
		case c == '\n':
			line++
		case start == 0 && c != ' ' && c != '\t' && c != '\r':
			start = line
		}
		cur.WriteByte(c)
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, &splitError{line: start, msg: "statement without a final semicolon"}
	}
	return out, nil
}

type splitError struct {
	line int
	msg  string
}

func (e *splitError) Error() string { return "line " + strconv.Itoa(e.line) + ": " + e.msg }
