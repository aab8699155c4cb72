package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// sqlRefresher is a small real refresh: it applies the forecast rows
// waiting in public.incoming_forecast to gold.fact_forecast (upsert on the
// grain) and recomputes the rolling aggregates of the items it touched, in
// one transaction, as the warehouse's refresh does. gate, when set, holds
// the job until it is closed (to observe a running job).
type sqlRefresher struct {
	pool  *pgxpool.Pool
	gate  chan struct{}
	calls atomic.Int32
}

func newSQLRefresher(pool *pgxpool.Pool) *sqlRefresher {
	_, err := pool.Exec(context.Background(), `CREATE TABLE IF NOT EXISTS public.incoming_forecast (LIKE gold.fact_forecast INCLUDING DEFAULTS)`)
	if err != nil {
		panic(fmt.Sprintf("incoming_forecast: %v", err))
	}
	return &sqlRefresher{pool: pool}
}

func (r *sqlRefresher) Refresh(ctx context.Context, source string, force bool) (any, error) {
	r.calls.Add(1)
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	var items []string
	rows, err := tx.Query(ctx, `
		WITH moved AS (DELETE FROM public.incoming_forecast RETURNING *),
		up AS (
		  INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id, mape)
		  SELECT date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id, mape FROM moved
		  ON CONFLICT (item_id, site_id, date, source) DO UPDATE
		  SET forecast = excluded.forecast, actual = excluded.actual, model_version = excluded.model_version,
		      generated_at = excluded.generated_at, dataset_id = excluded.dataset_id, mape = excluded.mape
		  RETURNING item_id)
		SELECT DISTINCT item_id FROM up`)
	if err != nil {
		return nil, fmt.Errorf("apply incoming forecasts: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		items = append(items, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	if len(items) > 0 {
		if err := recomputeRolling(ctx, r.pool); err != nil {
			return nil, err
		}
	}
	return map[string]any{"source": source, "force": force, "items_refreshed": len(items)}, nil
}

// TestCacheInvalidatedByRefresh: a cached response is served until a
// refresh job finishes; then the new data shows.
func TestCacheInvalidatedByRefresh(t *testing.T) {
	t.Parallel()
	var ref *sqlRefresher
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) {
		ref = newSQLRefresher(db.Pool)
		ref.gate = make(chan struct{})
		o.APIToken, o.Refresher, o.CacheTTL = "tok", ref, time.Hour
	})
	ctx := context.Background()
	path := "/api/v1/items/" + itemPath(itemBateria) + "/timeseries?start=2025-05-01&end=2025-05-03&source=ensemble"
	forecastOn := func(r response, date string) float64 {
		for _, p := range r.json.(map[string]any)["timeseries"].([]any) {
			if m := p.(map[string]any); m["date"] == date {
				return m["forecast"].(float64)
			}
		}
		t.Fatalf("no point on %s: %s", date, r.body)
		return 0
	}
	r1 := e.get(t, path)
	if r1.header.Get("X-Cache") != "miss" {
		t.Fatalf("first request X-Cache %q", r1.header.Get("X-Cache"))
	}
	before := forecastOn(r1, "2025-05-02")

	// New data lands in the database (not yet applied by a refresh) and
	// the cache keeps answering the old figures.
	if _, err := e.db.Pool.Exec(ctx, `INSERT INTO public.incoming_forecast
		SELECT * FROM gold.fact_forecast WHERE item_id = $1 AND site_id = 'ALL' AND date = '2025-05-02' AND source = 'ensemble'`, itemBateria); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE public.incoming_forecast SET forecast = 99.5, generated_at = '2025-11-12 03:00:00+00', model_version = 'ensemble-2025.11.2'`); err != nil {
		t.Fatal(err)
	}
	r2 := e.get(t, path)
	if r2.header.Get("X-Cache") != "hit" || forecastOn(r2, "2025-05-02") != before {
		t.Fatalf("second request should be a cache hit with the old value: %s %s", r2.header.Get("X-Cache"), r2.body)
	}

	tok := map[string]string{"Authorization": "Bearer tok"}
	acc := e.do(t, http.MethodPost, "/api/v1/data/refresh", tok, `{"source":"ml_results","force":true}`)
	if acc.status != http.StatusAccepted {
		t.Fatalf("refresh: %d %s", acc.status, acc.body)
	}
	id := acc.json.(map[string]any)["job_id"].(string)
	if acc.header.Get("Location") != "/api/v1/data/refresh/"+id {
		t.Errorf("Location %q", acc.header.Get("Location"))
	}
	// One job at a time.
	busy := e.do(t, http.MethodPost, "/api/v1/data/refresh", tok, `{}`)
	if busy.status != http.StatusConflict || busy.json.(map[string]any)["error"].(map[string]any)["job_id"] != id {
		t.Fatalf("second refresh while running: %d %s", busy.status, busy.body)
	}
	st := e.do(t, http.MethodGet, "/api/v1/data/refresh/"+url.PathEscape(id), tok, "")
	if st.json.(map[string]any)["status"] != api.JobRunning {
		t.Fatalf("job state %s", st.body)
	}
	// Still cached while the job runs.
	if r := e.get(t, path); r.header.Get("X-Cache") != "hit" {
		t.Fatalf("X-Cache %q during the job", r.header.Get("X-Cache"))
	}
	close(ref.gate)
	job := waitJob(t, e, id, "tok")
	if job["status"] != api.JobSucceeded {
		t.Fatalf("job: %v", job)
	}
	if got := job["summary"].(map[string]any)["items_refreshed"]; got != float64(1) {
		t.Errorf("summary %v", job["summary"])
	}
	r3 := e.get(t, path)
	if r3.header.Get("X-Cache") != "miss" {
		t.Errorf("after the refresh X-Cache %q, want miss", r3.header.Get("X-Cache"))
	}
	if got := forecastOn(r3, "2025-05-02"); got != 99.5 {
		t.Errorf("after the refresh forecast %v, want 99.5", got)
	}
	if mv := r3.json.(map[string]any)["metadata"].(map[string]any)["model_version"]; mv != "ensemble-2025.11.2" {
		t.Errorf("metadata model_version %v", mv)
	}
	// The aggregates were recomputed by the job too.
	agg := e.get(t, "/api/v1/aggregates?window=7&start=2025-05-02&end=2025-05-02&source=ensemble&item_ids="+url.QueryEscape(itemBateria))
	a := agg.json.(map[string]any)["aggregates"].([]any)[0].(map[string]any)
	if a["forecast"] != 99.5 {
		t.Errorf("aggregate after refresh: %s", agg.body)
	}
	if n := ref.calls.Load(); n != 1 {
		t.Errorf("refresher ran %d times", n)
	}
}

// TestRefreshFailureAndCacheOff: a failing job is reported failed with its
// error; with the cache off every response is computed.
func TestRefreshFailureAndCacheOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) {
		o.APIToken, o.CacheDisabled = "tok", true
		o.Refresher = api.RefresherFunc(func(ctx context.Context, source string, force bool) (any, error) {
			// A real statement that fails in the database.
			_, err := db.Pool.Exec(ctx, `INSERT INTO gold.fact_forecast (date, item_id, site_id, source) VALUES ('2025-06-01', 'X', 'ALL', 'y')`)
			return nil, err
		})
	})
	acc := e.do(t, http.MethodPost, "/api/v1/data/refresh", map[string]string{"X-API-Key": "tok"}, ``)
	if acc.status != http.StatusAccepted {
		t.Fatalf("refresh: %d %s", acc.status, acc.body)
	}
	job := waitJob(t, e, acc.json.(map[string]any)["job_id"].(string), "tok")
	if job["status"] != api.JobFailed || job["source"] != "all" {
		t.Fatalf("job %v", job)
	}
	if msg, _ := job["error"].(string); msg == "" {
		t.Errorf("failed job without error: %v", job)
	}
	for i := 0; i < 2; i++ {
		r := e.get(t, "/api/v1/items?limit=1")
		if r.header.Get("X-Cache") != "" {
			t.Errorf("cache off but X-Cache %q", r.header.Get("X-Cache"))
		}
	}
	if h := e.get(t, "/health"); h.json.(map[string]any)["cache"] != "disabled" {
		t.Errorf("health cache: %s", h.body)
	}
}
