package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/load"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/refresh"
	"github.com/novacorrente/novawh/internal/registry"
)

// TestEndToEndSamples: an empty warehouse, the API up; POST refresh runs the
// real loader on data/raw/samples and the real refresh; the API then serves
// what gold holds, figure for figure.
func TestEndToEndSamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	cfgFile, err := config.Load(filepath.Join("..", "novawh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lcfg, err := load.LoadConfig(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	loader := load.New(db.Pool, reg, lcfg, log)
	ref := refresh.New(db.Pool, log)
	samples := filepath.Join("..", "data", "raw", "samples")

	// A real load-then-refresh job (the CLI wires the nightly job without
	// export, internal/cli/serve_refresh.go, tested in internal/cli): load
	// every sample folder, then refresh.
	job := api.RefresherFunc(func(ctx context.Context, source string, force bool) (any, error) {
		loaded := map[string]int64{}
		for _, src := range []string{"erp_items", "erp_requisitions", "ml_forecasts", "inventory", "anatel_5g"} {
			res, err := loader.LoadPaths(ctx, src, []string{filepath.Join(samples, src)}, load.Options{Force: force})
			if err != nil {
				return nil, fmt.Errorf("load %s: %w", src, err)
			}
			for _, r := range res {
				if r.Status == "failed" {
					return nil, fmt.Errorf("load %s: %s", r.File, r.Error)
				}
				loaded[src] += r.RowsLoaded
			}
		}
		out, err := ref.Run(ctx, refresh.Options{Full: force})
		if err != nil {
			return nil, err
		}
		return map[string]any{"loaded": loaded, "refresh_id": out.RefreshID, "rows": out.Rows}, nil
	})

	reader, err := api.OpenPool(ctx, db.URL, api.PoolOptions{ReaderRole: "novawh_reader", StatementTimeout: testTimeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	srv, err := api.New(reader, api.Options{Logger: log, APIToken: "tok", Refresher: job, RequestTimeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close(ctx) //nolint:errcheck
	e := &env{db: db, reader: reader, srv: srv, http: hs}

	if r := e.get(t, "/api/v1/items"); r.json.(map[string]any)["total"].(float64) != 0 {
		t.Fatalf("items before any load: %s", r.body)
	}
	acc := e.do(t, http.MethodPost, "/api/v1/data/refresh", map[string]string{"Authorization": "Bearer tok"}, `{"source":"all","force":false}`)
	if acc.status != http.StatusAccepted {
		t.Fatalf("refresh: %d %s", acc.status, acc.body)
	}
	st := waitJob(t, e, acc.json.(map[string]any)["job_id"].(string), "tok")
	if st["status"] != api.JobSucceeded {
		t.Fatalf("job: %v", st)
	}
	t.Logf("job summary: %v", st["summary"])

	items := e.get(t, "/api/v1/items?limit=1000")
	total := int(items.json.(map[string]any)["total"].(float64))
	var want int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM gold.dim_item").Scan(&want); err != nil {
		t.Fatal(err)
	}
	if total == 0 || total != want {
		t.Fatalf("items total %d, gold.dim_item has %d", total, want)
	}

	// Every item with item-level forecasts: the API's series is gold's.
	rows, err := db.Pool.Query(ctx, `SELECT item_id, min(date), max(date), count(*), sum(forecast)
		FROM gold.fact_forecast WHERE site_id = 'ALL' GROUP BY item_id ORDER BY item_id`)
	if err != nil {
		t.Fatal(err)
	}
	type series struct {
		id       string
		lo, hi   time.Time
		n        int
		forecast float64
	}
	var all []series
	for rows.Next() {
		var s series
		if err := rows.Scan(&s.id, &s.lo, &s.hi, &s.n, &s.forecast); err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	rows.Close()
	if len(all) == 0 {
		t.Fatal("the refresh wrote no item-level forecasts")
	}
	for _, s := range all {
		path := "/api/v1/items/" + url.PathEscape(s.id) + "/timeseries?start=" + s.lo.Format("2006-01-02") + "&end=" + s.hi.Format("2006-01-02")
		r := e.get(t, path)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		checkShape(t, s.id, r.json, map[string]any{
			"item_id":    "string",
			"timeseries": []any{map[string]any{"date": "date", "forecast": "number", "actual": "number|null", "source": "string", "model_version": "string", "generated_at": "timestamp"}},
			"metadata":   map[string]any{"model_version": "string", "dataset_id": "string", "generated_at": "timestamp"},
		})
		ts := r.json.(map[string]any)["timeseries"].([]any)
		sum := 0.0
		for _, p := range ts {
			sum += p.(map[string]any)["forecast"].(float64)
		}
		if len(ts) != s.n || math.Abs(sum-s.forecast) > 1e-6 {
			t.Errorf("%s: %d points summing %v, gold has %d summing %v", s.id, len(ts), sum, s.n, s.forecast)
		}
		// Summary and aggregates of the same item and period answer too.
		q := "start=" + s.lo.Format("2006-01-02") + "&end=" + s.hi.Format("2006-01-02") + "&item_id=" + url.QueryEscape(s.id)
		if r := e.get(t, "/api/v1/forecasts/summary?"+q); r.status != 200 || r.json.(map[string]any)["summary"].(map[string]any)["items_count"] != float64(1) {
			t.Errorf("summary %s: %d %s", s.id, r.status, r.body)
		}
		if r := e.get(t, "/api/v1/aggregates?window=30&"+q); r.status != 200 || len(r.json.(map[string]any)["aggregates"].([]any)) != s.n {
			t.Errorf("aggregates %s: %d %s", s.id, r.status, r.body)
		}
	}

	// Inventory of every item that has snapshots.
	var invItem string
	var invDate time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT item_id, max(date) FROM gold.fact_inventory GROUP BY item_id ORDER BY item_id LIMIT 1`).Scan(&invItem, &invDate); err != nil {
		t.Fatalf("no inventory in gold after the refresh: %v", err)
	}
	r := e.get(t, "/api/v1/inventory/"+url.PathEscape(invItem)+"?date="+invDate.Format("2006-01-02"))
	if r.status != 200 {
		t.Fatalf("inventory: %d %s", r.status, r.body)
	}
	checkShape(t, "$", r.json, map[string]any{"item_id": "string", "current_stock": "number", "reorder_point": "number", "safety_stock": "number", "last_updated": "date"})
}
