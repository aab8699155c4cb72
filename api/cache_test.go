package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// heavySQL adds 50 items with 400 days of item-level rolling aggregates:
// a 50-item, 366-day GET /api/v1/aggregates answers ~4 MB of JSON, the
// shape that drove the server past 2.7 GB when the cache was bounded by
// entry count only.
const heavySQL = `
INSERT INTO gold.dim_item (item_id, name, category, familia, in_item_master)
SELECT format('HEAVY_MATERIAL %s', lpad(i::text, 2, '0')), format('MATERIAL %s', i), 'HEAVY', 'HEAVY', true
FROM generate_series(1, 50) i;
INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, model_version, generated_at, dataset_id,
    forecast_avg_7d, actual_avg_7d, forecast_total_7d, actual_total_7d, mape_7d,
    forecast_avg_30d, actual_avg_30d, forecast_total_30d, actual_total_30d, mape_30d)
SELECT d::date, format('HEAVY_MATERIAL %s', lpad(i::text, 2, '0')), 'ALL', 'ensemble',
       i + g % 7, g % 5, 'v1', '2024-01-01', 'heavy', 1.5, 2.5, 10.5, 17.5, 0.125, 1.25, 2.25, 37.5, 67.5, 0.25
FROM generate_series(1, 50) i
CROSS JOIN generate_series(0, 399) g
CROSS JOIN LATERAL (SELECT date '2024-01-01' + g) x(d);
`

// TestCacheBoundedUnderHeavyRequests: 16 clients send heavy (50 items x 366
// days) and medium aggregate requests concurrently; the cache's own
// accounting never exceeds its byte bound, heavy responses are served whole
// but never stored, medium ones are stored and evicted least recently used
// first, and concurrent identical heavy misses run one computation.
func TestCacheBoundedUnderHeavyRequests(t *testing.T) {
	t.Parallel()
	const budget = 2 << 20 // 2 MiB: responses over 256 KiB are not stored
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) {
		if _, err := db.Pool.Exec(context.Background(), heavySQL); err != nil {
			t.Fatalf("heavy seed: %v", err)
		}
		o.MaxItemIDs, o.CacheMaxBytes = 50, budget
	})
	var all, five []string
	for i := 1; i <= 50; i++ {
		all = append(all, fmt.Sprintf("HEAVY_MATERIAL %02d", i))
	}
	five = all[:5]
	heavy := func(k int) string { // 4 distinct heavy requests
		return fmt.Sprintf("/api/v1/aggregates?window=%d&start=2024-01-%02d&end=2024-12-%02d&item_ids=%s",
			[]int{7, 30}[k%2], 1+k/2, 31-k/2-1, url.QueryEscape(strings.Join(all, ",")))
	}
	medium := func(k int) string { // 5 items x 40 days, ~45 KB
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k)
		return fmt.Sprintf("/api/v1/aggregates?window=7&start=%s&end=%s&item_ids=%s",
			start.Format(time.DateOnly), start.AddDate(0, 0, 39).Format(time.DateOnly), url.QueryEscape(strings.Join(five, ",")))
	}
	const clients = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				path, kind := medium((c*7+i*3)%200), "medium"
				if i == 0 {
					path, kind = heavy((c+i)%4), "heavy"
				}
				r := e.get(t, path)
				if r.status != 200 {
					t.Errorf("%s request: status %d: %.300s", kind, r.status, r.body)
					return
				}
				n := len(r.json.(map[string]any)["aggregates"].([]any))
				if want := map[string]int{"heavy": 50 * 365, "medium": 5 * 40}[kind]; kind == "heavy" && n < 50*363 || kind == "medium" && n != want {
					t.Errorf("%s: %d rows", path, n)
				}
				mu.Lock()
				outcomes[kind+" "+r.header.Get("X-Cache")]++
				mu.Unlock()
				if st := e.srv.CacheStats(); st.Bytes > budget {
					t.Errorf("the cache holds %d bytes, bound %d", st.Bytes, budget)
				}
			}
		}(c)
	}
	wg.Wait()
	st := e.srv.CacheStats()
	t.Logf("outcomes %v; cache %+v", outcomes, st)
	if st.MaxBytes != budget || st.PeakBytes > budget || st.Bytes > budget {
		t.Fatalf("bound broken: %+v", st)
	}
	if outcomes["heavy hit"] > 0 || outcomes["heavy miss"] > 0 || outcomes["heavy bypass"] == 0 {
		t.Errorf("heavy responses must bypass the cache: %v", outcomes)
	}
	if outcomes["medium miss"] == 0 || st.Evictions == 0 || st.Entries == 0 {
		t.Errorf("medium responses must be stored and evicted: %v %+v", outcomes, st)
	}
	// 16 heavy requests for 4 distinct keys: singleflight shares concurrent
	// identical misses, so fewer computations than requests may be bypassed
	// (never more).
	if st.Bypassed > int64(outcomes["heavy bypass"]) {
		t.Errorf("%d bypassed computations for %d heavy requests", st.Bypassed, outcomes["heavy bypass"])
	}
	// What health reports is the same accounting.
	h := e.get(t, "/health").json.(map[string]any)
	if h["cache_max_bytes"] != float64(budget) || h["cache_bytes"].(float64) > budget {
		t.Errorf("health cache figures: %v / %v", h["cache_bytes"], h["cache_max_bytes"])
	}
}
