package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/cli"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/serve"
	"github.com/novacorrente/novawh/internal/webui"
	"github.com/novacorrente/novawh/store"
)

// BenchmarkTimeseriesAPI measures GET /api/v1/items/{id}/timeseries over
// loopback with 16 concurrent clients on ~10M gold.fact_forecast rows
// (NOVAWH_BENCH_ITEMS items x 3 years x 3 site rows: 'ALL', '176', '22').
// Each sub-benchmark sends a fixed number of requests (NOVAWH_BENCH_REQUESTS,
// default 20000) for random items and reports latency percentiles:
//
//	cache=off/range=random   a random 30-day range in the 3 years
//	cache=off/range=latest   the last 30 days (the dashboards' default view)
//	cache=on/range=latest    the same with the 60 s response cache
//	sql-only/range=latest    the sqlc query alone on the same pool with the
//	                         same concurrency (the bare SQL: no HTTP/JSON)
//
// then prints the issue 17 ratio, p95 of cache=off/range=latest over p95 of
// sql-only/range=latest, next to its goal (<= 2), and the forecast summary
// over every item (30 and 366 days).
//
// NOVAWH_BENCH_DATABASE_URL points it at an existing warehouse (e.g. the
// 10 GB database of make bench-scale) instead of generating one: it only
// reads (as NOVAWH_BENCH_READER_ROLE, default novawh_reader), on the last
// 30 days of the item-level forecasts there.
//
// Skipped unless NOVAWH_BENCH=1 (make bench).
func BenchmarkTimeseriesAPI(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run (generates ~10M rows)")
	}
	requests := envInt("NOVAWH_BENCH_REQUESTS", 20000)
	ctx := context.Background()
	dsn, first, last, days, err := benchWarehouse(ctx, b)
	if err != nil {
		b.Fatal(err)
	}
	const clients = 16
	role := os.Getenv("NOVAWH_BENCH_READER_ROLE")
	if role == "" {
		role = "novawh_reader"
	}
	reader, err := api.OpenPool(ctx, dsn, api.PoolOptions{ReaderRole: role, StatementTimeout: 5 * time.Second, MaxConns: int32(envInt("NOVAWH_BENCH_CONNS", 10))}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(reader.Close)
	ids, err := itemIDs(ctx, reader, "SELECT DISTINCT item_id FROM gold.fact_forecast WHERE site_id = 'ALL' AND date = $1 ORDER BY item_id", last)
	if err != nil || len(ids) == 0 {
		b.Fatalf("items with forecasts on %s: %d, %v", last.Format(time.DateOnly), len(ids), err)
	}
	latest := func(d *driver) versus {
		return versus{"api", func(rng *rand.Rand) (bool, error) {
			return d.get("/api/v1/items/" + itemPath(ids[rng.IntN(len(ids))]) + "/timeseries?start=" +
				last.AddDate(0, 0, -29).Format(time.DateOnly) + "&end=" + last.Format(time.DateOnly))
		}}
	}
	// The API with the cache off against the sqlc query it runs, alone on
	// the same pool with the same concurrency (the bare SQL: no HTTP, no
	// JSON), in alternating rounds.
	b.Run("cache=off/range=latest/vs-sql", func(b *testing.B) {
		d := newDriver(b, reader, false)
		q := store.New(reader)
		sql := versus{"sql", func(rng *rand.Rand) (bool, error) {
			rows, err := q.GetTimeseries(ctx, store.GetTimeseriesParams{ItemID: ids[rng.IntN(len(ids))],
				StartDate: pgtype.Date{Time: last.AddDate(0, 0, -29), Valid: true}, EndDate: pgtype.Date{Time: last, Valid: true}})
			// 30 days of every source of the item (the generated
			// warehouse has one; make bench-scale's has three).
			if err == nil && (len(rows) == 0 || len(rows)%30 != 0) {
				err = fmt.Errorf("%d rows, not 30 per source", len(rows))
			}
			return false, err
		}}
		apiP95, sqlP95 := alternate(b, clients, requests, latest(d), sql)
		reportRatio(b, "timeseries 30 days, cache off, 16 clients: API p95 / bare SQL p95", apiP95, sqlP95, 2)
	})
	b.Run("cache=off/range=random", func(b *testing.B) {
		d := newDriver(b, reader, false)
		d.run(b, clients, requests, func(rng *rand.Rand) (bool, error) {
			end := first.AddDate(0, 0, 29+rng.IntN(days-29))
			return d.get("/api/v1/items/" + itemPath(ids[rng.IntN(len(ids))]) + "/timeseries?start=" +
				end.AddDate(0, 0, -29).Format(time.DateOnly) + "&end=" + end.Format(time.DateOnly))
		})
	})
	b.Run("cache=on/range=latest", func(b *testing.B) {
		d := newDriver(b, reader, true)
		d.run(b, clients, requests, latest(d).do)
	})

	srv, err := api.New(reader, api.Options{CacheDisabled: true})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	benchSummary(b, hs.URL, last)
}

// driver sends a fixed number of requests from concurrent clients to a
// handler served as novawh serve serves it (internal/serve.Serve: its
// http.Server timeouts and api.JSONErrorListener) over loopback, or to
// anything else the request function does, and reports latency
// percentiles.
type driver struct {
	url    string
	client *http.Client
}

func newDriver(b *testing.B, pool *pgxpool.Pool, cache bool) *driver {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil)) // serve logs every request: so does the benchmark
	srv, err := api.New(pool, api.Options{Logger: log, CacheDisabled: !cache})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.Serve(ctx, ln, srv, serve.ServeOptions{Log: log}) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("serve: %v", err)
		}
	})
	return &driver{url: "http://" + ln.Addr().String(), client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}}
}

// get requests path and reports whether the response was a cache hit.
func (d *driver) get(path string) (hit bool, err error) {
	res, err := d.client.Get(d.url + path)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return false, fmt.Errorf("%s: status %d", path, res.StatusCode)
	}
	return res.Header.Get("X-Cache") == "hit", nil
}

// sample is what a run of requests measured.
type sample struct {
	lat     []time.Duration
	hits    int64
	elapsed time.Duration
	cpu     time.Duration // this process's CPU time (client, server and pgx alike)
}

func (s *sample) add(o sample) {
	s.lat = append(s.lat, o.lat...)
	s.hits += o.hits
	s.elapsed += o.elapsed
	s.cpu += o.cpu
}

// send runs requests calls of do from clients goroutines.
func send(b *testing.B, clients, requests int, do func(rng *rand.Rand) (hit bool, err error)) sample {
	b.Helper()
	lat := make([]time.Duration, requests)
	var next, hits, fails atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(requests)))
			for {
				n := next.Add(1) - 1
				if n >= int64(requests) {
					return
				}
				t := time.Now()
				hit, err := do(rng)
				lat[n] = time.Since(t)
				if err != nil {
					fails.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				if hit {
					hits.Add(1)
				}
			}
		}(uint64(c))
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := fails.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed, first: %v", f, requests, firstErr.Load())
	}
	return sample{lat: lat, hits: hits.Load(), elapsed: elapsed, cpu: processCPU() - cpu0}
}

// report logs and reports a sample's percentiles (metric names prefixed
// with prefix) and returns its p95 in milliseconds.
func report(b *testing.B, prefix, what string, clients int, s sample) float64 {
	b.Helper()
	slices.Sort(s.lat)
	n := len(s.lat)
	pct := func(p float64) float64 { return float64(s.lat[int(p*float64(n-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), prefix+"p50_ms")
	b.ReportMetric(pct(0.95), prefix+"p95_ms")
	b.ReportMetric(pct(0.99), prefix+"p99_ms")
	b.ReportMetric(float64(n)/s.elapsed.Seconds(), prefix+"req/s")
	b.ReportMetric(float64(s.hits)/float64(n), prefix+"hit_ratio")
	b.ReportMetric(float64(s.cpu.Microseconds())/float64(n), prefix+"go_cpu_us/req")
	b.Logf("%s: %d requests, %d clients, %s: p50 %.2f ms p95 %.2f ms p99 %.2f ms, %.0f req/s, hit ratio %.2f, this process's CPU %.0f us/request",
		what, n, clients, s.elapsed.Round(time.Millisecond), pct(0.5), pct(0.95), pct(0.99), float64(n)/s.elapsed.Seconds(),
		float64(s.hits)/float64(n), float64(s.cpu.Microseconds())/float64(n))
	return pct(0.95)
}

// run sends requests calls of do from clients goroutines, reports p50,
// p95, p99, req/s and the hit ratio, and returns the p95 in milliseconds.
func (d *driver) run(b *testing.B, clients, requests int, do func(rng *rand.Rand) (hit bool, err error)) float64 {
	b.Helper()
	b.ResetTimer()
	s := send(b, clients, requests, do)
	b.StopTimer()
	return report(b, "", "requests", clients, s)
}

// versus is one side of an alternated comparison.
type versus struct {
	name string
	do   func(rng *rand.Rand) (hit bool, err error)
}

// alternate measures two request streams with the same concurrency in
// alternating rounds (a, b, a, b, ...; NOVAWH_BENCH_ROUNDS, default 6), so
// that both see the same state of a shared machine (another job starting
// halfway through would otherwise weigh on one side only), and returns
// each side's p95 over all its rounds.
func alternate(b *testing.B, clients, requests int, x, y versus) (px, py float64) {
	b.Helper()
	rounds := envInt("NOVAWH_BENCH_ROUNDS", 6)
	per := max(requests/rounds, 1)
	// A short warm-up of both (connections, prepared statements, caches).
	send(b, clients, min(per, 500), x.do)
	send(b, clients, min(per, 500), y.do)
	var sx, sy sample
	b.ResetTimer()
	for range rounds {
		sx.add(send(b, clients, per, x.do))
		sy.add(send(b, clients, per, y.do))
	}
	b.StopTimer()
	return report(b, x.name+"_", x.name, clients, sx), report(b, y.name+"_", y.name, clients, sy)
}

// BenchmarkDemandAPI measures GET /api/v1/items/{id}/demand (30 days, cache
// off, 16 clients) against the bare SQL read of the same rows
// (gold.fact_demand for the item, site and unit over the 30 days) on the
// same pool with the same concurrency, on NOVAWH_BENCH_ITEMS (3000) items x
// 3 years of ERP-like daily demand (a third of the days, a few units each;
// ~1.1M item-level rows), and prints the issue 12 ratio next to its goal
// (<= 2).
func BenchmarkDemandAPI(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run (generates ~1M demand rows)")
	}
	ctx := context.Background()
	items, requests, clients := envInt("NOVAWH_BENCH_ITEMS", 3000), envInt("NOVAWH_BENCH_REQUESTS", 20000), 16
	last := time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)
	db, err := pgtest.NewE(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Drop(context.Background()) })
	if _, err := db.Pool.Exec(ctx, `INSERT INTO gold.dim_item (item_id, name, category, familia, in_item_master)
		SELECT format('FAM%s_MATERIAL %s', lpad((i % 40)::text, 2, '0'), lpad(i::text, 4, '0')), format('MATERIAL %s', i),
		       format('FAM%s', lpad((i % 40)::text, 2, '0')), format('FAM%s', lpad((i % 40)::text, 2, '0')), true
		FROM generate_series(0, $1 - 1) i`, items); err != nil {
		b.Fatal(err)
	}
	if err := generateDemand(ctx, b, db, "", last); err != nil {
		b.Fatal(err)
	}
	reader, err := api.OpenPool(ctx, db.URL, api.PoolOptions{ReaderRole: "novawh_reader", StatementTimeout: 5 * time.Second, MaxConns: int32(envInt("NOVAWH_BENCH_CONNS", 10))}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(reader.Close)
	ids, err := itemIDs(ctx, reader, "SELECT item_id FROM gold.dim_item ORDER BY item_id")
	if err != nil {
		b.Fatal(err)
	}
	start, end := last.AddDate(0, 0, -29), last
	b.Run("cache=off/30d/vs-sql", func(b *testing.B) {
		d := newDriver(b, reader, false)
		q := store.New(reader)
		apiP95, sqlP95 := alternate(b, clients, requests,
			versus{"api", func(rng *rand.Rand) (bool, error) {
				return d.get("/api/v1/items/" + itemPath(ids[rng.IntN(len(ids))]) + "/demand?start=" + start.Format(time.DateOnly) + "&end=" + end.Format(time.DateOnly))
			}},
			versus{"sql", func(rng *rand.Rand) (bool, error) {
				// The handler's own query (store.Queries.ItemDemand): the
				// period and the 29 days before it, for the 30-day totals.
				rows, err := q.ListItemDemand(ctx, store.ListItemDemandParams{ItemID: ids[rng.IntN(len(ids))], SiteID: store.ItemLevelSite,
					FromDate: pgtype.Date{Time: start.AddDate(0, 0, -store.DemandWindowDays), Valid: true}, ToDate: pgtype.Date{Time: end, Valid: true}})
				if err == nil && len(rows) == 0 {
					err = errors.New("no demand rows")
				}
				return false, err
			}})
		reportRatio(b, "item demand 30 days, cache off, 16 clients: API p95 / bare SQL p95", apiP95, sqlP95, 2)
	})
}

// reportRatio prints a same-run ratio next to its goal.
func reportRatio(b *testing.B, what string, num, den, goal float64) {
	b.Helper()
	if num == 0 || den == 0 {
		b.Logf("%s: not measured", what)
		return
	}
	verdict := "meets"
	if num/den > goal {
		verdict = "MISSES"
	}
	line := fmt.Sprintf("RATIO %s = %.2f ms / %.2f ms = %.2fx (goal <= %.1fx: %s)", what, num, den, num/den, goal, verdict)
	b.Log(line)
	fmt.Println(line)
}

// itemIDs runs a query returning item ids.
func itemIDs(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) ([]string, error) {
	r, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(r, pgx.RowTo[string])
}

// benchWarehouse returns the database the API benchmarks read: the one of
// NOVAWH_BENCH_DATABASE_URL as it is, or a new test database with
// NOVAWH_BENCH_ITEMS items x 3 years of forecasts (3 site rows each). first
// and last bound the item-level forecast dates.
func benchWarehouse(ctx context.Context, b *testing.B) (dsn string, first, last time.Time, days int, err error) {
	if dsn = os.Getenv("NOVAWH_BENCH_DATABASE_URL"); dsn != "" {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return "", first, last, 0, err
		}
		defer pool.Close()
		err = pool.QueryRow(ctx, "SELECT min(date), max(date) FROM gold.fact_forecast WHERE site_id = 'ALL'").Scan(&first, &last)
		b.Logf("existing warehouse: item-level forecasts %s..%s", first.Format(time.DateOnly), last.Format(time.DateOnly))
		return dsn, first, last, int(last.Sub(first).Hours()/24) + 1, err
	}
	items := envInt("NOVAWH_BENCH_ITEMS", 3000)
	days = 1096
	last = time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)
	first = last.AddDate(0, 0, -(days - 1))
	db, err := pgtest.NewE(ctx)
	if err != nil {
		return "", first, last, 0, err
	}
	b.Cleanup(func() { db.Drop(context.Background()) })
	return db.URL, first, last, days, generateForecasts(ctx, b, db, items, first, days)
}

// generateForecasts fills db with items x days of forecasts (sites 'ALL',
// '176', '22'), secondary indexes built after the insert.
func generateForecasts(ctx context.Context, b *testing.B, db *pgtest.DB, items int, first time.Time, days int) error {
	t0 := time.Now()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO gold.dim_item (item_id, sku, name, category, familia, in_item_master)
		SELECT format('FAM%s_MATERIAL %s DISCO 4.1/2 G36', lpad((i % 40)::text, 2, '0'), lpad(i::text, 4, '0')),
		       lpad(i::text, 6, '0'), format('MATERIAL %s DISCO 4.1/2 G36', lpad(i::text, 4, '0')),
		       format('FAM%s', lpad((i % 40)::text, 2, '0')), format('FAM%s', lpad((i % 40)::text, 2, '0')), true
		FROM generate_series(0, $1 - 1) i`, items); err != nil {
		return err
	}
	// Secondary indexes are built once after the bulk insert (much faster
	// than maintaining them row by row), from their own definitions.
	var indexDefs []string
	if err := func() error {
		r, err := db.Pool.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
			FROM pg_index i WHERE i.indrelid = 'gold.fact_forecast'::regclass AND NOT i.indisprimary AND NOT i.indisunique`)
		if err != nil {
			return err
		}
		defer r.Close()
		var names []string
		for r.Next() {
			var name, def string
			if err := r.Scan(&name, &def); err != nil {
				return err
			}
			names, indexDefs = append(names, name), append(indexDefs, def)
		}
		if err := r.Err(); err != nil {
			return err
		}
		for _, n := range names {
			if _, err := db.Pool.Exec(ctx, "DROP INDEX "+n); err != nil {
				return err
			}
		}
		return nil
	}(); err != nil {
		return err
	}
	const chunk = 250
	for lo := 0; lo < items; lo += chunk {
		hi := min(lo+chunk, items) - 1
		_, err := db.Pool.Exec(ctx, `
			INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, lower, upper,
			                                model_version, generated_at, dataset_id, mape, load_id)
			SELECT d.date, it.item_id, s.site_id, 'ensemble', f.v, a.v, f.v * 0.8, f.v * 1.2,
			       'ensemble-2025.11.1', timestamptz '2025-11-11 03:00:00+00', 'nova_corrente_2025-11-11',
			       CASE WHEN a.v > 0 THEN abs(f.v - a.v) / a.v END, 1
			FROM (SELECT item_id, row_number() OVER (ORDER BY item_id) AS i FROM gold.dim_item
			      WHERE item_id LIKE 'FAM%' ORDER BY item_id OFFSET $1 LIMIT $2) it
			CROSS JOIN (VALUES ('176'), ('22'), ('ALL')) s(site_id)
			CROSS JOIN LATERAL (SELECT ($3::date + g) AS date, g FROM generate_series(0, $4 - 1) g) d
			CROSS JOIN LATERAL (SELECT ((it.i * 31 + d.g * 7) % 97) / 10.0 * CASE WHEN s.site_id = 'ALL' THEN 2 ELSE 1 END AS v) f
			CROSS JOIN LATERAL (SELECT CASE WHEN (it.i + d.g) % 3 = 0 THEN NULL ELSE ((it.i * 3 + d.g) % 11)::double precision END AS v) a
			ORDER BY it.item_id, s.site_id, d.date`, lo, hi-lo+1, first, days)
		if err != nil {
			return err
		}
	}
	for _, def := range indexDefs {
		if _, err := db.Pool.Exec(ctx, def); err != nil {
			return fmt.Errorf("%s: %w", def, err)
		}
	}
	if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE gold.fact_forecast"); err != nil {
		return err
	}
	var rows int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM gold.fact_forecast").Scan(&rows); err != nil {
		return err
	}
	b.Logf("generated %d fact_forecast rows for %d items in %s", rows, items, time.Since(t0).Round(time.Second))

	return nil
}

// benchSummary times GET /api/v1/forecasts/summary over every item (no
// item_ids) for a 30-day and a 366-day period, sequentially, cache off.
func benchSummary(b *testing.B, hsURL string, last time.Time) {
	for _, span := range []int{30, 366} {
		b.Run(fmt.Sprintf("summary/all-items/%dd", span), func(b *testing.B) {
			const n = 10
			lat := make([]time.Duration, 0, n)
			url := fmt.Sprintf("%s/api/v1/forecasts/summary?start=%s&end=%s", hsURL, last.AddDate(0, 0, -(span-1)).Format("2006-01-02"), last.Format("2006-01-02"))
			for i := 0; i < n; i++ {
				t := time.Now()
				res, err := http.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("summary %dd: %d %s", span, res.StatusCode, body)
				}
				lat = append(lat, time.Since(t))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[n-1].Microseconds())/1000, "max_ms")
			b.Logf("summary of all items over %d days: p50 %s, max %s (%d sequential requests, cache off)", span, lat[n/2].Round(time.Millisecond), lat[n-1].Round(time.Millisecond), n)
		})
	}
}

// processCPU is the user + system CPU time this process used so far (every
// thread: the HTTP client, the server and pgx alike).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// generateDemand fills gold.fact_demand with 3 years of ERP-like
// item-level demand ending at last for the items of gold.dim_item whose id
// is LIKE pattern ("" = every item): a third of the days, 1 to 9 units a
// day in one to three lines.
func generateDemand(ctx context.Context, b *testing.B, db *pgtest.DB, pattern string, last time.Time) error {
	t0 := time.Now()
	if pattern == "" {
		pattern = "%"
	}
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO gold.fact_demand (date, item_id, site_id, unit, quantity, lines, requests, suppliers, lead_time_lines, load_id)
		  SELECT $1::date - g, d.item_id, 'ALL', 'UN', 1 + (i * 7 + g) % 9, 1 + (i + g) % 3, 1, 1, 0, 1
		  FROM (SELECT item_id, row_number() OVER (ORDER BY item_id) AS i FROM gold.dim_item WHERE item_id LIKE $2) d
		  CROSS JOIN generate_series(0, 1095) g
		  WHERE (i + g) % 3 = 0`, []any{last, pattern}},
		{`VACUUM ANALYZE gold.fact_demand`, nil},
	} {
		if _, err := db.Pool.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("generate demand: %w", err)
		}
	}
	var rows int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM gold.fact_demand").Scan(&rows); err != nil {
		return err
	}
	b.Logf("generated fact_demand: %d rows in %s", rows, time.Since(t0).Round(time.Second))
	return nil
}

// BenchmarkWebPages times the web UI's pages (server time, sequential
// requests, as novawh serve's handler renders them) against issue 15's
// goals: first on the demo data (the samples through novawh run: < 300
// ms), then with NOVAWH_BENCH_ITEMS (3000) items x 3 years added through
// the same tables the pipeline fills (forecasts at 3 site rows, their
// 7/30-day rolling figures, daily demand, weekly inventory at two sites, a
// year of nightly runs and loads in meta: < 1 s). The item page is timed
// for a generated item with forecasts, demand and inventory.
//
// NOVAWH_BENCH_DATABASE_URL times the pages on an existing warehouse
// instead (e.g. make bench-scale's), read as NOVAWH_BENCH_READER_ROLE.
func BenchmarkWebPages(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run (generates ~10M rows)")
	}
	ctx := context.Background()
	if dsn := os.Getenv("NOVAWH_BENCH_DATABASE_URL"); dsn != "" {
		benchPages(b, ctx, "existing", dsn, 1000)
		return
	}
	db, err := pgtest.NewE(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Drop(context.Background()) })
	samples := filepath.Join("..", "data", "raw", "samples")
	var out, errb bytes.Buffer
	if code := cli.Run(ctx, []string{"run", "--offline", "--skip-export", "--inputs-dir", samples, "--database-url", db.URL, "--log-file", ""}, &out, &errb); code != 0 {
		b.Fatalf("novawh run on the samples: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	benchPages(b, ctx, "demo", db.URL, 300)

	items, days := envInt("NOVAWH_BENCH_ITEMS", 3000), 1096
	last := time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)
	first := last.AddDate(0, 0, -(days - 1))
	if err := generateForecasts(ctx, b, db, items, first, days); err != nil {
		b.Fatal(err)
	}
	if err := generateDemand(ctx, b, db, "FAM%", last); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	for _, st := range []struct {
		what, sql string
		args      []any
	}{
		{"rolling forecasts", `UPDATE gold.fact_forecast f
		  SET forecast_avg_7d = w.fa7, actual_avg_7d = w.aa7, forecast_total_7d = w.ft7, actual_total_7d = w.at7, mape_7d = w.m7,
		      forecast_avg_30d = w.fa30, actual_avg_30d = w.aa30, forecast_total_30d = w.ft30, actual_total_30d = w.at30, mape_30d = w.m30
		  FROM (SELECT date, item_id, site_id, source,
		               avg(forecast) OVER w7 AS fa7, avg(actual) OVER w7 AS aa7, sum(forecast) OVER w7 AS ft7, sum(actual) OVER w7 AS at7,
		               avg(mape) OVER w7 AS m7, avg(forecast) OVER w30 AS fa30, avg(actual) OVER w30 AS aa30, sum(forecast) OVER w30 AS ft30,
		               sum(actual) OVER w30 AS at30, avg(mape) OVER w30 AS m30
		        FROM gold.fact_forecast
		        WHERE site_id = 'ALL' AND item_id LIKE 'FAM%'
		        WINDOW w7 AS (PARTITION BY item_id, site_id, source ORDER BY date ROWS 6 PRECEDING),
		               w30 AS (PARTITION BY item_id, site_id, source ORDER BY date ROWS 29 PRECEDING)) w
		  WHERE f.item_id = w.item_id AND f.site_id = w.site_id AND f.date = w.date AND f.source = w.source`, nil},
		{"weekly inventory", `INSERT INTO gold.fact_inventory (date, item_id, site_id, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status)
		  SELECT $1::date - 7 * w, d.item_id, s.site_id, 20 + (d.i * 7 + w) % 60, 15, 25, (d.i + w) % 90,
		         CASE WHEN (d.i * 7 + w) % 60 < 5 THEN 'critical' ELSE 'ok' END
		  FROM (SELECT item_id, row_number() OVER (ORDER BY item_id) AS i FROM gold.dim_item WHERE item_id LIKE 'FAM%') d
		  CROSS JOIN (VALUES ('176'), ('22')) s(site_id)
		  CROSS JOIN generate_series(0, 156) w`, []any{last}},
		// A year of nightly history in meta: every run and load of the
		// samples' run once a day.
		{"runs", `INSERT INTO meta.runs (trigger, status, exit_code, schema_version, options, steps, host, pid, started_at, finished_at)
		  SELECT 'schedule', r.status, r.exit_code, r.schema_version, r.options, r.steps, r.host, r.pid,
		         r.started_at - g * interval '1 day', r.finished_at - g * interval '1 day'
		  FROM meta.runs r CROSS JOIN generate_series(1, 365) g`, nil},
		{"loads", `INSERT INTO meta.loads (source, file_name, file_sha256, file_bytes, status, rows_read, rows_loaded, rows_rejected,
			min_date, max_date, target_table, model_version, generated_at, ml_source, dataset_id, error, started_at, finished_at, lines_read)
		  SELECT l.source, l.file_name, l.file_sha256 || '-' || g, l.file_bytes, l.status, l.rows_read, l.rows_loaded, l.rows_rejected,
		         l.min_date - g, l.max_date - g, l.target_table, l.model_version, l.generated_at, l.ml_source, l.dataset_id, l.error,
		         l.started_at - g * interval '1 day', l.finished_at - g * interval '1 day', l.lines_read
		  FROM meta.loads l CROSS JOIN generate_series(1, 365) g`, nil},
		{"statistics", `ANALYZE`, nil},
	} {
		if _, err := db.Pool.Exec(ctx, st.sql, st.args...); err != nil {
			b.Fatalf("generate %s: %v", st.what, err)
		}
	}
	b.Logf("generated rolling forecasts, inventory and meta history in %s", time.Since(t0).Round(time.Second))
	benchPages(b, ctx, "scale", db.URL, 1000)
}

// benchPages times the overview, the items list (first page and a
// search), one item page and one run page on the warehouse at dsn, read
// as the read-only role, and prints each p50 and max next to goalMS.
func benchPages(b *testing.B, ctx context.Context, label, dsn string, goalMS float64) {
	role := os.Getenv("NOVAWH_BENCH_READER_ROLE")
	if role == "" {
		role = "novawh_reader"
	}
	pool, err := api.OpenPool(ctx, dsn, api.PoolOptions{ReaderRole: role, StatementTimeout: time.Minute}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	var item string
	var runID int64
	var nItems int64
	// The item with the most days of forecasts, demand and inventory (the
	// fullest page), and the newest run.
	if err := pool.QueryRow(ctx, `SELECT i.item_id, (SELECT count(*) FROM gold.dim_item)
		FROM gold.dim_item i
		ORDER BY EXISTS (SELECT 1 FROM gold.fact_inventory v WHERE v.item_id = i.item_id) DESC,
		         (SELECT max(x.date) FROM gold.fact_demand x WHERE x.item_id = i.item_id AND x.site_id = 'ALL') DESC NULLS LAST,
		         (SELECT count(*) FROM gold.fact_forecast f WHERE f.item_id = i.item_id AND f.site_id = 'ALL' AND f.date > now() - interval '4 years') DESC,
		         i.item_id
		LIMIT 1`).Scan(&item, &nItems); err != nil {
		b.Fatalf("pick an item: %v", err)
	}
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(run_id), 0) FROM monitor.runs`).Scan(&runID); err != nil {
		b.Fatal(err)
	}
	ui, err := webui.New(pool, webui.Options{})
	if err != nil {
		b.Fatal(err)
	}
	pages := []struct{ name, path string }{{"overview", "/"}, {"items", "/items"}, {"items-search", "/items?q=MATERIAL"},
		{"item", "/items/" + itemPath(item)}}
	if runID > 0 {
		pages = append(pages, struct{ name, path string }{"run", fmt.Sprintf("/runs/%d", runID)})
	}
	b.Logf("%s warehouse: %d items; item page of %q", label, nItems, item)
	for _, pg := range pages {
		b.Run(label+"/"+pg.name, func(b *testing.B) {
			const n = 20
			lat := make([]time.Duration, 0, n)
			for i := 0; i < n; i++ {
				rec := httptest.NewRecorder()
				t := time.Now()
				ui.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, pg.path, nil))
				lat = append(lat, time.Since(t))
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", pg.path, rec.Code, rec.Body.String())
				}
			}
			slices.Sort(lat)
			p50, worst := float64(lat[n/2].Microseconds())/1000, float64(lat[n-1].Microseconds())/1000
			b.ReportMetric(p50, "p50_ms")
			b.ReportMetric(worst, "max_ms")
			verdict := "meets"
			if worst >= goalMS {
				verdict = "MISSES"
			}
			line := fmt.Sprintf("PAGE %s %s server time: p50 %.1f ms, max %.1f ms (goal < %.0f ms, %d items: %s)", label, pg.name, p50, worst, goalMS, nItems, verdict)
			b.Log(line)
			fmt.Println(line)
		})
	}
}
