package webui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/status"
	"github.com/novacorrente/novawh/internal/webui"
)

// TestRowsPerTableOneDefinition: novawh status, the web overview and the
// /metrics gauge give the same rows for a table that was just loaded and
// never analyzed (pg_class.reltuples is still -1: the overview used to
// show 0), all from monitor.table_rows(); a large never-analyzed table
// gets the planner's estimate from its pages, labelled as an estimate.
func TestRowsPerTableOneDefinition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	const sites = 5000
	// No autovacuum on the table: its statistics stay those of before the
	// insert whatever the machine's speed (the case the test is about).
	if _, err := db.Pool.Exec(ctx, `ALTER TABLE gold.dim_site SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO gold.dim_site (site_id) SELECT 'S' || g FROM generate_series(1, $1) g`, sites); err != nil {
		t.Fatal(err)
	}
	var reltuples float64
	if err := db.Pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'gold.dim_site'::regclass`).Scan(&reltuples); err != nil {
		t.Fatal(err)
	}
	if reltuples > 0 {
		t.Fatalf("gold.dim_site reltuples %v after the insert: the table was analyzed, the test proves nothing", reltuples)
	}

	// The web overview (as the read-only role).
	reader, ui := readerUI(t, db, webui.Options{})
	rec := httptest.NewRecorder()
	ui.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 200 {
		t.Fatalf("overview: %d %s", rec.Code, rec.Body)
	}
	row := regexp.MustCompile(`<tr><td>gold</td><td>dim_site</td><td class="num"[^>]*>([^<]*)</td></tr>`).FindStringSubmatch(rec.Body.String())
	if row == nil || row[1] != strconv.Itoa(sites) {
		t.Errorf("overview row of gold.dim_site: %q, want %d counted", row, sites)
	}

	// The /metrics gauge (as the read-only role).
	h, err := api.New(reader, api.Options{RequestTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `novawh_gold_table_rows{estimate="false",table="dim_site"} ` + strconv.Itoa(sites) + "\n"; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("/metrics lacks %q:\n%s", want, grepLines(rec.Body.String(), "novawh_gold_table_rows"))
	}

	// novawh status.
	st, err := status.Collect(ctx, db.Pool, status.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got *status.Table
	for _, l := range st.Layers {
		for i, tb := range l.Tables {
			if l.Layer == "gold" && tb.Name == "dim_site" {
				got = &l.Tables[i]
			}
		}
	}
	if got == nil || got.Rows == nil || *got.Rows != sites || got.Estimated {
		t.Errorf("status of gold.dim_site: %+v", got)
	}

	// A table whose rows neither ANALYZE nor the statistics have counted
	// yet (inside the loading transaction: reltuples -1, no live tuples
	// reported), too large to count: the planner's estimate, marked.
	const staged = 20000
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE bronze.fresh_stage (n int, label text);
			INSERT INTO bronze.fresh_stage SELECT g, 'line ' || g FROM generate_series(1, 20000) g`); err != nil {
			return err
		}
		var est int64
		var exact *int64
		if err := tx.QueryRow(ctx, `SELECT rows_estimate, rows_exact FROM monitor.table_rows(1, ARRAY['bronze'])
			WHERE table_name = 'fresh_stage'`).Scan(&est, &exact); err != nil {
			return err
		}
		if exact != nil || est < staged/2 || est > staged*2 {
			t.Errorf("never-analyzed table over exact_bytes: estimate %d (want about %d), exact %v (want NULL)", est, staged, exact)
		}
		if err := tx.QueryRow(ctx, `SELECT rows_exact FROM monitor.table_rows(layers => ARRAY['bronze'])
			WHERE table_name = 'fresh_stage'`).Scan(&exact); err != nil {
			return err
		}
		if exact == nil || *exact != staged {
			t.Errorf("small table counted: %v, want %d", exact, staged)
		}
		return pgx.ErrTxClosed // roll back
	})
	if err != nil && err != pgx.ErrTxClosed {
		t.Fatal(err)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
