package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgerr"
	"github.com/novacorrente/novawh/internal/pgtest"
)

var errorShape = map[string]any{"error": map[string]any{"code": "string", "message": "string"}}

// TestContracts checks every key of every JSON contract of the issue, with
// its JSON type, end to end over HTTP against a seeded database.
func TestContracts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) { o.APIToken = "s3cret"; o.Refresher = newSQLRefresher(db.Pool) })
	disco := itemPath(itemDisco)
	cases := []struct {
		name, path string
		status     int
		shape      map[string]any
	}{
		{"items", "/api/v1/items?limit=3", 200, map[string]any{
			"items": []any{map[string]any{"id": "string", "name": "string", "category": "string", "sku": "string|null"}},
			"total": "integer", "limit": "integer", "offset": "integer",
		}},
		{"timeseries", "/api/v1/items/" + disco + "/timeseries?start=" + seedStart + "&end=" + seedEnd, 200, map[string]any{
			"item_id": "string",
			"timeseries": []any{map[string]any{
				"date": "date", "forecast": "number", "actual": "number", "source": "string",
				"model_version": "string", "generated_at": "timestamp", "dataset_id": "string",
				"lower": "number", "upper": "number", "mape": "number|null",
			}},
			"metadata": map[string]any{"model_version": "string", "dataset_id": "string", "generated_at": "timestamp"},
			"period":   map[string]any{"start": "date", "end": "date"},
		}},
		{"summary", "/api/v1/forecasts/summary?start=" + seedStart + "&end=" + seedEnd, 200, map[string]any{
			"summary":  map[string]any{"total_forecast": "number", "total_actual": "number", "mape": "number", "items_count": "integer"},
			"period":   map[string]any{"start": "date", "end": "date"},
			"metadata": map[string]any{"model_version": "string", "dataset_id": "string"},
		}},
		{"summary of items", "/api/v1/forecasts/summary?start=" + seedStart + "&end=" + seedEnd + "&item_ids=" + url.QueryEscape(itemDisco+","+itemBateria), 200, map[string]any{
			"summary":  map[string]any{"total_forecast": "number", "total_actual": "number", "mape": "number", "items_count": "integer"},
			"period":   map[string]any{"start": "date", "end": "date"},
			"metadata": map[string]any{"model_version": "string", "dataset_id": "string"},
		}},
		{"aggregates", "/api/v1/aggregates?window=30&start=2025-05-01&end=" + seedEnd + "&item_ids=" + url.QueryEscape(itemDisco+","+itemBateria), 200, map[string]any{
			"window": "integer",
			"period": map[string]any{"start": "date", "end": "date"},
			"aggregates": []any{map[string]any{
				"item_id": "string", "date": "date", "source": "string", "forecast": "number", "actual": "number",
				"forecast_avg": "number", "actual_avg": "number", "forecast_total": "number", "actual_total": "number", "mape": "number|null",
			}},
		}},
		{"inventory", "/api/v1/inventory/" + disco + "?date=2025-05-08", 200, map[string]any{
			"item_id": "string", "current_stock": "number", "reorder_point": "number", "safety_stock": "number", "last_updated": "date",
		}},
		{"inventory without date", "/api/v1/inventory/" + itemPath(itemBateria), 200, map[string]any{
			"item_id": "string", "current_stock": "number", "reorder_point": "number", "safety_stock": "number", "last_updated": "date",
		}},
		{"health", "/health", 200, map[string]any{
			"status": "string", "database": "string", "parquet_access": "string", "cache": "string", "timestamp": "timestamp",
			"ml_dependencies": map[string]any{"status": "string", "message": "string"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.get(t, c.path)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			checkShape(t, "$", r.json, c.shape)
		})
	}

	// The refresh contract: 202 with its keys, then the job's state.
	r := e.do(t, http.MethodPost, "/api/v1/data/refresh", map[string]string{"Authorization": "Bearer s3cret"}, `{"source":"ml_results","force":false}`)
	if r.status != http.StatusAccepted {
		t.Fatalf("refresh: status %d: %s", r.status, r.body)
	}
	checkShape(t, "$", r.json, map[string]any{"status": "string", "job_id": "string", "estimated_completion": "timestamp", "message": "string"})
	job := waitJob(t, e, r.json.(map[string]any)["job_id"].(string), "s3cret")
	checkShape(t, "$", job, map[string]any{"job_id": "string", "status": "string", "source": "string", "started_at": "timestamp", "finished_at": "timestamp", "summary": "object"})
}

// waitJob polls a refresh job until it ends and returns its last state.
func waitJob(t *testing.T, e *env, id, token string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r := e.do(t, http.MethodGet, "/api/v1/data/refresh/"+url.PathEscape(id), map[string]string{"X-API-Key": token}, "")
		if r.status != http.StatusOK {
			t.Fatalf("job %s: status %d: %s", id, r.status, r.body)
		}
		m := r.json.(map[string]any)
		if m["status"] != api.JobRunning {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish", id)
	return nil
}

func TestTimeseriesPercentEncodedIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, id := range []string{itemDisco, itemBateria, itemPrego, itemSarrafo} {
		t.Run(id, func(t *testing.T) {
			path := "/api/v1/items/" + itemPath(id) + "/timeseries?start=2025-04-20&end=2025-04-29"
			if !strings.Contains(path, "%20") {
				t.Fatalf("path not encoded: %s", path)
			}
			r := e.get(t, path)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			m := r.json.(map[string]any)
			if m["item_id"] != id {
				t.Errorf("item_id %q, want %q", m["item_id"], id)
			}
			ts := m["timeseries"].([]any)
			perDay := 1
			if id == itemDisco {
				perDay = 2 // ensemble and arima
			}
			if len(ts) != 10*perDay {
				t.Fatalf("%d points, want %d", len(ts), 10*perDay)
			}
			prev := ""
			for _, p := range ts {
				pt := p.(map[string]any)
				d := pt["date"].(string)
				if d < "2025-04-20" || d > "2025-04-29" || d < prev {
					t.Errorf("date %s out of range or order (previous %s)", d, prev)
				}
				prev = d
			}
		})
	}

	// Values: the item-level ('ALL') row, never the site row.
	var want float64
	if err := e.db.Pool.QueryRow(context.Background(),
		`SELECT forecast FROM gold.fact_forecast WHERE item_id = $1 AND site_id = 'ALL' AND source = 'ensemble' AND date = '2025-04-21'`, itemDisco).Scan(&want); err != nil {
		t.Fatal(err)
	}
	r := e.get(t, "/api/v1/items/"+itemPath(itemDisco)+"/timeseries?start=2025-04-21&end=2025-04-21&source=ensemble")
	ts := r.json.(map[string]any)["timeseries"].([]any)
	if len(ts) != 1 {
		t.Fatalf("source filter: %d points: %s", len(ts), r.body)
	}
	if got := ts[0].(map[string]any)["forecast"].(float64); math.Abs(got-want) > 1e-9 {
		t.Errorf("forecast %v, want %v (the ALL row)", got, want)
	}
	meta := r.json.(map[string]any)["metadata"].(map[string]any)
	if meta["model_version"] != modelVersion || meta["dataset_id"] != datasetID || meta["generated_at"] != "2025-11-11T03:00:00Z" {
		t.Errorf("metadata %v", meta)
	}

	// A known item with no rows in the period: 200, empty list, null metadata.
	r = e.get(t, "/api/v1/items/"+itemPath(itemPercent)+"/timeseries?start=2025-04-21&end=2025-04-30")
	if r.status != 200 || len(r.json.(map[string]any)["timeseries"].([]any)) != 0 {
		t.Fatalf("empty series: %d %s", r.status, r.body)
	}
	checkShape(t, "$", r.json, map[string]any{"metadata": map[string]any{"model_version": "string|null", "dataset_id": "string|null", "generated_at": "string|null"}})
}

func TestSummaryFigures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	// Independent recomputation: latest-generated source per item and day.
	var tf, ta, mape float64
	var n int64
	err := e.db.Pool.QueryRow(ctx, `
		WITH l AS (SELECT DISTINCT ON (item_id, date) * FROM gold.fact_forecast
		           WHERE site_id = 'ALL' AND date BETWEEN '2025-04-09' AND '2025-04-30' AND item_id = ANY ($1)
		           ORDER BY item_id, date, generated_at DESC)
		SELECT sum(forecast), sum(actual), avg(abs(forecast - actual) / actual) FILTER (WHERE actual > 0), count(DISTINCT item_id) FROM l`,
		[]string{itemDisco, itemSarrafo}).Scan(&tf, &ta, &mape, &n)
	if err != nil {
		t.Fatal(err)
	}
	r := e.get(t, "/api/v1/forecasts/summary?start=2025-04-09&end=2025-04-30&item_id="+url.QueryEscape(itemSarrafo)+"&item_ids="+url.QueryEscape(itemDisco))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	s := r.json.(map[string]any)["summary"].(map[string]any)
	for k, want := range map[string]float64{"total_forecast": tf, "total_actual": ta, "mape": mape, "items_count": float64(n)} {
		if got := s[k].(float64); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if n != 2 {
		t.Errorf("items_count %d", n)
	}
	// No data in the period: zeros and a null mape.
	r = e.get(t, "/api/v1/forecasts/summary?start=2020-01-01&end=2020-01-31")
	checkShape(t, "$", r.json, map[string]any{"summary": map[string]any{"total_forecast": "number", "mape": "number|null", "items_count": "integer"},
		"metadata": map[string]any{"model_version": "string|null", "dataset_id": "string|null"}})
	if got := r.json.(map[string]any)["summary"].(map[string]any)["items_count"].(float64); got != 0 {
		t.Errorf("items_count %v for an empty period", got)
	}
}

func TestAggregatesWindows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, w := range []int{7, 30} {
		var want float64
		err := e.db.Pool.QueryRow(context.Background(), fmt.Sprintf(`SELECT avg(forecast) FROM gold.fact_forecast
			WHERE item_id = $1 AND site_id = 'ALL' AND source = 'ensemble' AND date BETWEEN date '2025-05-08' - %d AND '2025-05-08'`, w-1), itemBateria).Scan(&want)
		if err != nil {
			t.Fatal(err)
		}
		r := e.get(t, fmt.Sprintf("/api/v1/aggregates?item_ids=%s&window=%d&start=2025-05-08&end=2025-05-08", url.QueryEscape(itemBateria), w))
		if r.status != 200 {
			t.Fatalf("window %d: %d %s", w, r.status, r.body)
		}
		aggs := r.json.(map[string]any)["aggregates"].([]any)
		if len(aggs) != 1 {
			t.Fatalf("window %d: %d rows", w, len(aggs))
		}
		if got := aggs[0].(map[string]any)["forecast_avg"].(float64); math.Abs(got-want) > 1e-9 {
			t.Errorf("window %d: forecast_avg %v, want %v", w, got, want)
		}
	}
}

func TestInventory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cases := []struct {
		id, date           string
		stock, reorder     float64
		lastUpdated, level string
	}{
		// Sum of each site's latest snapshot: 176 on 05-01 (4) + 22 on 04-15 (7).
		{itemDisco, "2025-05-08", 11, 10.46 + 6.95, "2025-05-01", "sum_of_sites"},
		// Before the 05-01 snapshot: 176 on 04-01 (12) + 22 on 04-15 (7).
		{itemDisco, "2025-04-20", 19, 10.46 + 6.95, "2025-04-15", "sum_of_sites"},
		// Only 176 exists on 04-10.
		{itemDisco, "2025-04-10", 12, 10.46, "2025-04-01", "sum_of_sites"},
		// An item-level row wins over the sites.
		{itemBateria, "2025-06-01", 3, 17.4, "2025-05-01", "item"},
	}
	for _, c := range cases {
		r := e.get(t, "/api/v1/inventory/"+itemPath(c.id)+"?date="+c.date)
		if r.status != 200 {
			t.Fatalf("%s %s: %d %s", c.id, c.date, r.status, r.body)
		}
		m := r.json.(map[string]any)
		if m["item_id"] != c.id || math.Abs(m["current_stock"].(float64)-c.stock) > 1e-9 ||
			math.Abs(m["reorder_point"].(float64)-c.reorder) > 1e-9 || m["last_updated"] != c.lastUpdated || m["level"] != c.level {
			t.Errorf("%s on %s: got %s", c.id, c.date, r.body)
		}
	}
	// The id may also arrive with a raw slash (the route takes the rest of the path).
	r := e.get(t, "/api/v1/inventory/ABRASIVOS_DISCO%20DE%20LIXA%204.1/2%20G36?date=2025-05-08")
	if r.status != 200 || r.json.(map[string]any)["item_id"] != itemDisco {
		t.Errorf("raw slash: %d %s", r.status, r.body)
	}
}

func TestItemsPaginationAndQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ids := func(r response) []string {
		var out []string
		for _, it := range r.json.(map[string]any)["items"].([]any) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out
	}
	all := e.get(t, "/api/v1/items?limit=1000")
	if got := all.json.(map[string]any)["total"].(float64); got != 31 {
		t.Fatalf("total %v, want 31", got)
	}
	everything := ids(all)
	var paged []string
	for off := 0; off < 31; off += 7 {
		r := e.get(t, fmt.Sprintf("/api/v1/items?limit=7&offset=%d", off))
		if r.json.(map[string]any)["total"].(float64) != 31 {
			t.Fatalf("total changes with the page: %s", r.body)
		}
		page := ids(r)
		if want := min(7, 31-off); len(page) != want {
			t.Fatalf("offset %d: %d items, want %d", off, len(page), want)
		}
		paged = append(paged, page...)
	}
	if strings.Join(paged, "\n") != strings.Join(everything, "\n") {
		t.Errorf("pages do not add up to the full list")
	}
	r := e.get(t, "/api/v1/items?offset=500")
	if len(ids(r)) != 0 || r.json.(map[string]any)["total"].(float64) != 31 {
		t.Errorf("past the end: %s", r.body)
	}

	for _, c := range []struct {
		q    string
		want []string
	}{
		{"luva", nil}, // 25 gloves, checked by count below
		{"disco de lixa 4.1/2", []string{itemDisco}},
		{"0%", []string{itemPercent}},    // % is literal, not a wildcard (T01, 10CM...)
		{"2,5cm", []string{itemSarrafo}}, // case-insensitive
		{"de_lixa", []string{}},          // _ is literal, not any character
		{"no such thing", []string{}},
	} {
		r := e.get(t, "/api/v1/items?limit=100&q="+url.QueryEscape(c.q))
		got := ids(r)
		total := int(r.json.(map[string]any)["total"].(float64))
		if total != len(got) {
			t.Errorf("q=%q: total %d, %d items", c.q, total, len(got))
		}
		switch c.q {
		case "luva":
			if len(got) != 25 {
				t.Errorf("q=luva: %d items", len(got))
			}
		default:
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("q=%q: got %q, want %q", c.q, got, c.want)
			}
		}
	}
}

// TestBadInput: every bad input is a 400 (404 for unknown items, 401/403
// for the refresh endpoint) with the JSON error body, never a 500.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) {
		o.APIToken = "tok"
		o.Refresher = newSQLRefresher(db.Pool)
		o.RefreshSources = []string{"ml_results", "erp"}
	})
	ts := "/api/v1/items/" + itemPath(itemDisco) + "/timeseries"
	six := strings.Repeat(url.QueryEscape(itemDisco)+",", 5) + "A,B,C,D,E,F"
	bearer := map[string]string{"Authorization": "Bearer tok"}
	cases := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		code               string
	}{
		{"missing start", "GET", ts + "?end=2025-05-01", nil, "", 400, "missing_parameter"},
		{"missing end", "GET", ts + "?start=2025-05-01", nil, "", 400, "missing_parameter"},
		{"malformed date", "GET", ts + "?start=2025-13-01&end=2025-05-01", nil, "", 400, "invalid_date"},
		{"date with time", "GET", ts + "?start=2025-05-01T00:00:00&end=2025-05-02", nil, "", 400, "invalid_date"},
		{"slashed date", "GET", ts + "?start=01/05/2025&end=2025-05-02", nil, "", 400, "invalid_date"},
		{"start after end", "GET", ts + "?start=2025-05-02&end=2025-05-01", nil, "", 400, "invalid_range"},
		{"span too large", "GET", ts + "?start=2024-01-01&end=2025-05-01", nil, "", 400, "span_too_large"},
		{"unknown item", "GET", "/api/v1/items/NOPE_NADA/timeseries?start=2025-05-01&end=2025-05-02", nil, "", 404, "not_found"},
		{"NUL in id", "GET", "/api/v1/items/A%00B/timeseries?start=2025-05-01&end=2025-05-02", nil, "", 400, "invalid_parameter"},
		{"invalid UTF-8 id", "GET", "/api/v1/items/A%FFB/timeseries?start=2025-05-01&end=2025-05-02", nil, "", 400, "invalid_parameter"},
		{"huge id", "GET", "/api/v1/items/" + strings.Repeat("X", 600) + "/timeseries?start=2025-05-01&end=2025-05-02", nil, "", 400, "invalid_parameter"},
		{"summary no dates", "GET", "/api/v1/forecasts/summary", nil, "", 400, "missing_parameter"},
		{"summary too many items", "GET", "/api/v1/forecasts/summary?start=2025-05-01&end=2025-05-02&item_ids=" + six, nil, "", 400, "too_many_items"},
		{"summary unknown item", "GET", "/api/v1/forecasts/summary?start=2025-05-01&end=2025-05-02&item_ids=NOPE", nil, "", 404, "not_found"},
		{"aggregates no items", "GET", "/api/v1/aggregates?window=7&start=2025-05-01&end=2025-05-02", nil, "", 400, "missing_parameter"},
		{"aggregates window 14", "GET", "/api/v1/aggregates?item_ids=X&window=14&start=2025-05-01&end=2025-05-02", nil, "", 400, "invalid_window"},
		{"aggregates window text", "GET", "/api/v1/aggregates?item_ids=X&window=week&start=2025-05-01&end=2025-05-02", nil, "", 400, "invalid_window"},
		{"aggregates unknown item", "GET", "/api/v1/aggregates?item_ids=" + url.QueryEscape(itemDisco) + ",NOPE&window=7&start=2025-05-01&end=2025-05-02", nil, "", 404, "not_found"},
		{"inventory bad date", "GET", "/api/v1/inventory/" + itemPath(itemDisco) + "?date=yesterday", nil, "", 400, "invalid_date"},
		{"inventory unknown item", "GET", "/api/v1/inventory/NOPE", nil, "", 404, "not_found"},
		{"inventory none before date", "GET", "/api/v1/inventory/" + itemPath(itemDisco) + "?date=2020-01-01", nil, "", 404, "not_found"},
		{"items limit zero", "GET", "/api/v1/items?limit=0", nil, "", 400, "invalid_parameter"},
		{"items limit huge", "GET", "/api/v1/items?limit=100000", nil, "", 400, "invalid_parameter"},
		{"items offset negative", "GET", "/api/v1/items?offset=-1", nil, "", 400, "invalid_parameter"},
		{"items limit text", "GET", "/api/v1/items?limit=ten", nil, "", 400, "invalid_parameter"},
		{"items q with NUL", "GET", "/api/v1/items?q=a%00b", nil, "", 400, "invalid_parameter"},
		{"items q bad escape", "GET", "/api/v1/items?q=ITEM%ZZ", nil, "", 400, "invalid_parameter"},
		{"items q truncated escape", "GET", "/api/v1/items?limit=5&q=ITEM%2", nil, "", 400, "invalid_parameter"},
		{"bad escape in a key", "GET", "/api/v1/items?l%ZZimit=5", nil, "", 400, "invalid_parameter"},
		{"semicolon separator", "GET", "/api/v1/items?limit=5;offset=2", nil, "", 400, "invalid_parameter"},
		{"timeseries source bad escape", "GET", ts + "?start=2025-05-01&end=2025-05-02&source=ens%G1", nil, "", 400, "invalid_parameter"},
		{"health bad escape", "GET", "/health?x=%", nil, "", 400, "invalid_parameter"},
		{"summary commas only", "GET", "/api/v1/forecasts/summary?start=2025-05-01&end=2025-05-02&item_ids=,,,", nil, "", 400, "invalid_parameter"},
		{"summary empty item_ids", "GET", "/api/v1/forecasts/summary?start=2025-05-01&end=2025-05-02&item_ids=", nil, "", 400, "invalid_parameter"},
		{"summary blank item_id", "GET", "/api/v1/forecasts/summary?start=2025-05-01&end=2025-05-02&item_id=%20", nil, "", 400, "invalid_parameter"},
		{"aggregates commas only", "GET", "/api/v1/aggregates?window=7&start=2025-05-01&end=2025-05-02&item_ids=,,,", nil, "", 400, "invalid_parameter"},
		{"unknown endpoint", "GET", "/api/v1/nothing", nil, "", 404, "not_found"},
		{"refresh without token", "POST", "/api/v1/data/refresh", nil, `{"source":"ml_results"}`, 401, "unauthorized"},
		{"refresh wrong bearer", "POST", "/api/v1/data/refresh", map[string]string{"Authorization": "Bearer nope"}, `{}`, 401, "unauthorized"},
		{"refresh wrong api key", "POST", "/api/v1/data/refresh", map[string]string{"X-API-Key": "nope"}, `{}`, 401, "unauthorized"},
		{"refresh basic auth", "POST", "/api/v1/data/refresh", map[string]string{"Authorization": "Basic dG9rOg=="}, `{}`, 401, "unauthorized"},
		{"refresh status without token", "GET", "/api/v1/data/refresh/rf_x", nil, "", 401, "unauthorized"},
		{"refresh bad JSON", "POST", "/api/v1/data/refresh", bearer, `{"source":`, 400, "invalid_body"},
		{"refresh unknown field", "POST", "/api/v1/data/refresh", bearer, `{"sauce":"x"}`, 400, "invalid_body"},
		{"refresh force not bool", "POST", "/api/v1/data/refresh", bearer, `{"force":"yes"}`, 400, "invalid_body"},
		{"refresh unknown source", "POST", "/api/v1/data/refresh", bearer, `{"source":"weather"}`, 400, "invalid_parameter"},
		{"refresh bad source name", "POST", "/api/v1/data/refresh", bearer, `{"source":"../etc"}`, 400, "invalid_parameter"},
		{"refresh unknown job", "GET", "/api/v1/data/refresh/rf_nope", bearer, "", 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.method, c.path, c.header, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			checkShape(t, "$", r.json, errorShape)
			if got := r.json.(map[string]any)["error"].(map[string]any)["code"]; got != c.code {
				t.Errorf("code %v, want %s (%s)", got, c.code, r.body)
			}
			if c.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestRefreshDisabled(t *testing.T) {
	t.Parallel()
	// No token configured: disabled even with a refresher, whatever the caller sends.
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) { o.Refresher = newSQLRefresher(db.Pool) })
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer "}, {"X-API-Key": "anything"}} {
		r := e.do(t, http.MethodPost, "/api/v1/data/refresh", h, `{}`)
		if r.status != http.StatusForbidden || r.json.(map[string]any)["error"].(map[string]any)["code"] != "refresh_disabled" {
			t.Errorf("headers %v: %d %s", h, r.status, r.body)
		}
	}
	// A token but no refresher: disabled too.
	e2 := newEnv(t, func(o *api.Options, db *pgtest.DB) { o.APIToken = "tok" })
	r := e2.do(t, http.MethodPost, "/api/v1/data/refresh", map[string]string{"X-API-Key": "tok"}, `{}`)
	if r.status != http.StatusForbidden {
		t.Errorf("no refresher: %d %s", r.status, r.body)
	}
	h := e.get(t, "/health")
	if !strings.HasPrefix(h.json.(map[string]any)["refresh"].(string), "disabled") {
		t.Errorf("health refresh: %s", h.body)
	}
}

// TestReaderRoleCannotWrite: the API's pool (SET ROLE novawh_reader) reads
// gold and cannot write it, nor read other layers.
func TestReaderRoleCannotWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	var role string
	if err := e.reader.QueryRow(ctx, "SELECT current_user").Scan(&role); err != nil || role != "novawh_reader" {
		t.Fatalf("current_user %q, %v", role, err)
	}
	var n int
	if err := e.reader.QueryRow(ctx, "SELECT count(*) FROM gold.fact_forecast").Scan(&n); err != nil || n == 0 {
		t.Fatalf("reader cannot read gold: %d %v", n, err)
	}
	for _, stmt := range []string{
		`INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, model_version, generated_at, dataset_id)
		 VALUES ('2025-06-01', 'X', 'ALL', 'ensemble', 1, 'v', now(), 'd')`,
		`UPDATE gold.dim_item SET name = 'x'`,
		`DELETE FROM gold.fact_inventory`,
		`TRUNCATE gold.agg_demand_rolling`,
		`SELECT count(*) FROM meta.loads`,
	} {
		_, err := e.reader.Exec(ctx, stmt)
		if !pgerr.InsufficientPrivilege(err) {
			t.Errorf("%s: want permission denied (42501), got %v", strings.Fields(stmt)[0], err)
		}
	}
}

// TestMalformedRequestsGetJSON: requests net/http refuses before any
// handler runs (an invalid percent-escape in the path, a malformed request
// line) get the JSON error body through JSONErrorListener, not Go's plain text;
// normal responses on the same kind of connection are untouched.
func TestMalformedRequestsGetJSON(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seed(t, db.Pool)
	h, err := api.New(db.Pool, api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// How an embedding server gets JSON bodies for the requests net/http
	// refuses itself: serve on api.JSONErrorListener(ln).
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(api.JSONErrorListener(ln)) }()
	t.Cleanup(func() {
		if err := hs.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		_ = h.Close(context.Background())
	})
	raw := func(t *testing.T, request string) (*http.Response, map[string]any) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", request, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%q: status %d, body %q is not JSON: %v", request, res.StatusCode, b, err)
		}
		return res, m
	}
	cases := []struct {
		name, request, code, mention string
		status                       int
	}{
		{"bad escape in the path", "GET /api/v1/items/A%ZZ/timeseries?start=2025-05-01&end=2025-05-02 HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_parameter", `"%ZZ"`, 400},
		{"truncated escape in the path", "GET /api/v1/inventory/A%2 HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_parameter", `"%2"`, 400},
		{"bad escape and a query", "GET /health%G0?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", "invalid_parameter", "/health%G0", 400},
		{"malformed request line", "GET /health\r\nHost: x\r\n\r\n", "bad_request", "", 400},
		{"no Host header", "GET /health HTTP/1.1\r\n\r\n", "bad_request", "Host", 400},
		{"bad header line", "GET /health HTTP/1.1\r\nHost: x\r\nthis is no header\r\n\r\n", "bad_request", "", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, m := raw(t, c.request)
			if res.StatusCode != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("status %d, content type %q: %v", res.StatusCode, res.Header.Get("Content-Type"), m)
			}
			checkShape(t, "$", m, errorShape)
			e := m["error"].(map[string]any)
			if e["code"] != c.code || !strings.Contains(e["message"].(string), c.mention) {
				t.Errorf("error %v, want code %s mentioning %q", e, c.code, c.mention)
			}
		})
	}
	// A keep-alive connection: a good request, then a bad one, both answered.
	res, m := raw(t, "GET /api/v1/items?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	if res.StatusCode != 200 || m["total"] == nil {
		t.Fatalf("good request: %d %v", res.StatusCode, m)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i, req := range []string{"GET /api/v1/items?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n", "GET /api/v1/items/%ZZ/timeseries HTTP/1.1\r\nHost: x\r\n\r\n"} {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := []int{200, 400}[i]; res.StatusCode != want || !json.Valid(b) {
			t.Errorf("request %d: status %d (want %d), body %q", i, res.StatusCode, want, b)
		}
	}
}
