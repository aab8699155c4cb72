package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// Real item keys of the ML files (FAMÍLIA_MATERIAL) and ERP material names:
// spaces, slashes, a double quote, a comma, a percent sign.
const (
	itemDisco    = "ABRASIVOS_DISCO DE LIXA 4.1/2 G36"
	itemBateria  = "ABRASIVOS_BATERIA 9V"
	itemSpray    = "ABRASIVOS_DESENGRIPANTE SPRAY"
	itemPrego    = `MATERIAL CIVIL_PREGO 2.1/2"X10MM`
	itemSarrafo  = "MATERIAL CIVIL_SARRAFO DE  MADEIRA - PINHO 10CM x 2,5CM"
	itemPercent  = "FERRAGENS_ABRACADEIRA 100% INOX"
	seedStart    = "2025-04-09"
	seedEnd      = "2025-05-08"
	modelVersion = "ensemble-2025.11.1"
	datasetID    = "nova_corrente_2025-11-11"
)

// seedSQL fills gold the way the refresh does, with realistic shapes: 30
// days of forecasts per item for site 176 and the item level ('ALL'), two
// sources for the DISCO item, rolling aggregates computed with window
// functions from the facts, and inventory snapshots per site.
const seedSQL = `
INSERT INTO gold.dim_item (item_id, sku, name, category, familia, erp_product_codes, in_item_master) VALUES
 ('ABRASIVOS_DISCO DE LIXA 4.1/2 G36', '010512', 'DISCO DE LIXA 4.1/2 G36', 'ABRASIVOS', 'ABRASIVOS', '{010512}', true),
 ('ABRASIVOS_BATERIA 9V', '010463', 'BATERIA 9V', 'ABRASIVOS', 'ABRASIVOS', '{010463}', true),
 ('ABRASIVOS_DESENGRIPANTE SPRAY', NULL, 'DESENGRIPANTE SPRAY', 'ABRASIVOS', 'ABRASIVOS', '{}', false),
 ('MATERIAL CIVIL_PREGO 2.1/2"X10MM', '010825', 'PREGO 2.1/2"X10MM', 'MATERIAL CIVIL', 'MATERIAL CIVIL', '{010825}', true),
 ('MATERIAL CIVIL_SARRAFO DE  MADEIRA - PINHO 10CM x 2,5CM', '010901', 'SARRAFO DE  MADEIRA - PINHO 10CM x 2,5CM', 'MATERIAL CIVIL', 'MATERIAL CIVIL', '{010901}', true),
 ('FERRAGENS_ABRACADEIRA 100% INOX', '011002', 'ABRACADEIRA 100% INOX', 'FERRAGENS', 'FERRAGENS', '{011002}', true);
INSERT INTO gold.dim_item (item_id, sku, name, category, familia, in_item_master)
SELECT format('EPI_LUVA NITRILICA T%s', lpad(g::text, 2, '0')), lpad((20000 + g)::text, 6, '0'),
       format('LUVA NITRILICA T%s', lpad(g::text, 2, '0')), 'EPI', 'EPI', true
FROM generate_series(1, 25) g;

INSERT INTO gold.dim_time (date, year, quarter, month, day, day_of_week, iso_week, is_weekend, is_holiday, holiday_name)
SELECT d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d), extract(day FROM d),
       extract(isodow FROM d), extract(week FROM d), extract(isodow FROM d) IN (6, 7),
       d IN (DATE '2025-04-18', DATE '2025-04-21', DATE '2025-05-01'),
       CASE d WHEN DATE '2025-04-18' THEN 'Paixão de Cristo' WHEN DATE '2025-04-21' THEN 'Tiradentes' WHEN DATE '2025-05-01' THEN 'Dia do Trabalho' END
FROM generate_series(DATE '2025-04-01', DATE '2025-05-31', interval '1 day') g(d);

INSERT INTO gold.dim_site (site_id, deposito, region) VALUES ('176', 'STC', 'BA'), ('22', 'ALMOX-BA', 'BA'), ('ALL', NULL, NULL);

WITH items(item_id, base, k) AS (VALUES
  ('ABRASIVOS_DISCO DE LIXA 4.1/2 G36', 1.3075333333333332, 1),
  ('ABRASIVOS_BATERIA 9V', 0.6542666666666667, 2),
  ('ABRASIVOS_DESENGRIPANTE SPRAY', 2.1, 3),
  ('MATERIAL CIVIL_PREGO 2.1/2"X10MM', 10.5, 4),
  ('MATERIAL CIVIL_SARRAFO DE  MADEIRA - PINHO 10CM x 2,5CM', 4.25, 5)
), days AS (
  SELECT d::date AS date, row_number() OVER (ORDER BY d) AS n
  FROM generate_series(date '2025-04-09', date '2025-05-08', interval '1 day') d
), site AS (
  SELECT dy.date, i.item_id, '176'::text AS site_id, 'ensemble'::text AS source,
         i.base + ((dy.n * i.k) % 7) / 10.0 AS forecast,
         CASE WHEN (dy.n + i.k) % 3 = 0 THEN NULL ELSE ((dy.n * 3 + i.k) % 5)::double precision END AS actual
  FROM items i CROSS JOIN days dy
), rows AS (
  SELECT * FROM site
  UNION ALL
  SELECT date, item_id, 'ALL', source, forecast * 2, coalesce(actual, 0) + 1 FROM site
  UNION ALL
  SELECT date, item_id, 'ALL', 'arima', forecast * 2 + 0.5, coalesce(actual, 0) + 1 FROM site
  WHERE item_id = 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36'
)
INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, lower, upper,
                                model_version, generated_at, dataset_id, mape, load_id)
SELECT date, item_id, site_id, source, forecast, actual, forecast * 0.8, forecast * 1.2,
       CASE source WHEN 'arima' THEN 'arima-2025.11.0' ELSE 'ensemble-2025.11.1' END,
       CASE source WHEN 'arima' THEN timestamptz '2025-11-10 03:00:00+00' ELSE timestamptz '2025-11-11 03:00:00+00' END,
       'nova_corrente_2025-11-11',
       CASE WHEN actual > 0 THEN abs(forecast - actual) / actual END,
       NULL
FROM rows;

INSERT INTO gold.fact_inventory (date, item_id, site_id, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status) VALUES
 ('2025-04-01', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', '176', 12, 1.5, 10.46, 9.2, 'ok'),
 ('2025-05-01', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', '176', 4, 1.5, 10.46, 3.1, 'critical'),
 ('2025-04-15', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', '22', 7, 1.0, 6.95, 6.0, 'warning'),
 ('2025-05-01', 'ABRASIVOS_BATERIA 9V', '176', 0, 1.05, 10.46, 0, 'critical'),
 ('2025-05-01', 'ABRASIVOS_BATERIA 9V', 'ALL', 3, 2.5, 17.4, 2.6, 'critical');

INSERT INTO gold.fact_demand (date, item_id, site_id, unit, quantity, lines, requests, suppliers, lead_time_lines, lead_time_days_avg, lead_time_days_max, load_id) VALUES
 ('2025-04-10', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', 'ALL', 'UN', 3, 2, 2, 1, 2, 4.5, 6, 1),
 ('2025-04-10', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', '176', 'UN', 3, 2, 2, 1, 2, 4.5, 6, 1),
 ('2025-04-12', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', 'ALL', 'UN', 2, 1, 1, 1, 1, 3, 3, 1),
 ('2025-04-12', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', '-1', 'UN', 2, 1, 1, 1, 1, 3, 3, 1),
 ('2025-05-01', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', 'ALL', 'UN', 5, 1, 1, 1, 0, NULL, NULL, 1),
 ('2025-05-01', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', '176', 'UN', 5, 1, 1, 1, 0, NULL, NULL, 1),
 ('2025-04-20', 'ABRASIVOS_BATERIA 9V', 'ALL', 'UN', 7, 3, 2, 1, 3, 10, 12, 1),
 ('2025-04-21', 'ABRASIVOS_BATERIA 9V', 'ALL', 'CX', 1, 1, 1, 1, 1, 8, 8, 1),
 ('2025-05-02', 'MATERIAL CIVIL_PREGO 2.1/2"X10MM', 'ALL', 'KG', 10, 1, 1, 1, 1, 2, 2, 1);
INSERT INTO gold.dim_supplier (supplier, supplier_name, lines, items, quantity, first_purchase, last_purchase, lead_time_lines, lead_time_days_median, lead_time_days_p90, negative_lead_time_lines) VALUES
 ('acme ltda', 'ACME LTDA', 4, 2, 12, '2025-04-14', '2025-05-04', 3, 4, 5.6, 0),
 ('ferragens silva & cia', 'FERRAGENS SILVA & CIA', 4, 1, 8, '2025-04-30', '2025-05-01', 4, 10, 12, 1);
INSERT INTO gold.fact_demand_supplier (date, item_id, site_id, unit, supplier, quantity, lines, requests, lead_time_lines, lead_time_days_avg, lead_time_days_max, load_id) VALUES
 ('2025-04-10', 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36', 'ALL', 'UN', 'acme ltda', 3, 2, 2, 2, 4.5, 6, 1),
 ('2025-05-02', 'MATERIAL CIVIL_PREGO 2.1/2"X10MM', 'ALL', 'KG', 'acme ltda', 10, 1, 1, 1, 2, 2, 1),
 ('2025-04-20', 'ABRASIVOS_BATERIA 9V', 'ALL', 'UN', 'ferragens silva & cia', 7, 3, 2, 3, 10, 12, 1);
`

func seed(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, seedSQL); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if err := recomputeRolling(ctx, pool); err != nil {
		t.Fatalf("seed rolling: %v", err)
	}
}

// recomputeRolling computes the rolling columns of gold.fact_forecast (the
// view gold.agg_forecast_rolling) from its rows with the refresh's own
// function, as a refresh does.
func recomputeRolling(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, `SELECT gold.write_agg_forecast_rolling('', NULL, NULL)`); err != nil {
		return fmt.Errorf("rolling: %w", err)
	}
	return nil
}

// testTimeout bounds the database work of the tests' requests: generous,
// because tests must not depend on the speed of a shared machine (none of
// them is about timeouts).
const testTimeout = 2 * time.Minute

// env is one test's seeded database and API server (read as novawh_reader).
type env struct {
	db     *pgtest.DB
	reader *pgxpool.Pool
	srv    *api.Handler
	http   *httptest.Server
}

func newEnv(t *testing.T, tune func(*api.Options, *pgtest.DB)) *env {
	t.Helper()
	db := pgtest.New(t)
	seed(t, db.Pool)
	reader, err := api.OpenPool(context.Background(), db.URL, api.PoolOptions{ReaderRole: "novawh_reader", StatementTimeout: testTimeout}, nil)
	if err != nil {
		t.Fatalf("open reader pool: %v", err)
	}
	t.Cleanup(reader.Close)
	opts := api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxSpanDays: 366, MaxItemIDs: 5, RequestTimeout: testTimeout}
	if tune != nil {
		tune(&opts, db)
	}
	srv, err := api.New(reader, opts)
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &env{db: db, reader: reader, srv: srv, http: hs}
}

type response struct {
	status int
	header http.Header
	body   []byte
	json   any
}

func (e *env) do(t *testing.T, method, path string, header map[string]string, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: b}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: content type %q, body %s", method, path, ct, b)
	}
	if err := json.Unmarshal(b, &r.json); err != nil {
		t.Fatalf("%s %s: invalid JSON %q: %v", method, path, b, err)
	}
	return r
}

func (e *env) get(t *testing.T, path string) response {
	t.Helper()
	return e.do(t, http.MethodGet, path, nil, "")
}

// itemPath percent-encodes an item id as one path segment.
func itemPath(id string) string { return url.PathEscape(id) }

// ---- JSON shape checking ----

// A shape is a JSON type name ("string", "number", "integer", "bool",
// "object", "array", suffixed with "|null" when null is allowed), a
// map[string]any of keys to shapes, or a []any{shape} for an array whose
// every element has that shape.
func checkShape(t *testing.T, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		obj, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: want an object, got %T (%v)", path, got, got)
			return
		}
		for k, ws := range w {
			v, present := obj[k]
			if !present {
				t.Errorf("%s.%s: key missing", path, k)
				continue
			}
			checkShape(t, path+"."+k, v, ws)
		}
	case []any:
		arr, ok := got.([]any)
		if !ok {
			t.Errorf("%s: want an array, got %T", path, got)
			return
		}
		if len(arr) == 0 {
			t.Errorf("%s: empty array: the contract test needs at least one element", path)
		}
		for i, el := range arr {
			checkShape(t, fmt.Sprintf("%s[%d]", path, i), el, w[0])
		}
	case string:
		nullable := strings.HasSuffix(w, "|null")
		typ := strings.TrimSuffix(w, "|null")
		if got == nil {
			if !nullable {
				t.Errorf("%s: null, want %s", path, typ)
			}
			return
		}
		ok := false
		switch typ {
		case "string":
			_, ok = got.(string)
		case "number":
			_, ok = got.(float64)
		case "integer":
			f, isNum := got.(float64)
			ok = isNum && f == float64(int64(f))
		case "bool":
			_, ok = got.(bool)
		case "object":
			_, ok = got.(map[string]any)
		case "array":
			_, ok = got.([]any)
		case "date":
			s, isStr := got.(string)
			_, err := time.Parse("2006-01-02", s)
			ok = isStr && err == nil
		case "timestamp":
			s, isStr := got.(string)
			_, err := time.Parse(time.RFC3339, s)
			ok = isStr && err == nil
		default:
			t.Fatalf("bad shape %q", w)
		}
		if !ok {
			t.Errorf("%s: %v (%T) is not a %s", path, got, got, typ)
		}
	default:
		t.Fatalf("bad shape %T", want)
	}
}

// logBuffer collects a server's log lines (safe for concurrent writes).
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func newLogBuffer() *logBuffer { return &logBuffer{} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
