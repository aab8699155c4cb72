package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
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
//	sql-only/range=latest    the sqlc query alone on the same pool (the
//	                         database's share of the latency, no HTTP/JSON)
//
// then the forecast summary over every item (30 and 366 days).
//
// Skipped unless NOVAWH_BENCH=1 (make bench).
func BenchmarkTimeseriesAPI(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 to run (generates ~10M rows)")
	}
	items := envInt("NOVAWH_BENCH_ITEMS", 3000)
	requests := envInt("NOVAWH_BENCH_REQUESTS", 20000)
	const days, clients = 1096, 16
	last := time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)
	first := last.AddDate(0, 0, -(days - 1))
	ctx := context.Background()
	db, err := pgtest.NewE(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Drop(context.Background()) })

	t0 := time.Now()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO gold.dim_item (item_id, sku, name, category, familia, in_item_master)
		SELECT format('FAM%s_MATERIAL %s DISCO 4.1/2 G36', lpad((i % 40)::text, 2, '0'), lpad(i::text, 4, '0')),
		       lpad(i::text, 6, '0'), format('MATERIAL %s DISCO 4.1/2 G36', lpad(i::text, 4, '0')),
		       format('FAM%s', lpad((i % 40)::text, 2, '0')), format('FAM%s', lpad((i % 40)::text, 2, '0')), true
		FROM generate_series(0, $1 - 1) i`, items); err != nil {
		b.Fatal(err)
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
		b.Fatal(err)
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
			      ORDER BY item_id OFFSET $1 LIMIT $2) it
			CROSS JOIN (VALUES ('176'), ('22'), ('ALL')) s(site_id)
			CROSS JOIN LATERAL (SELECT ($3::date + g) AS date, g FROM generate_series(0, $4 - 1) g) d
			CROSS JOIN LATERAL (SELECT ((it.i * 31 + d.g * 7) % 97) / 10.0 * CASE WHEN s.site_id = 'ALL' THEN 2 ELSE 1 END AS v) f
			CROSS JOIN LATERAL (SELECT CASE WHEN (it.i + d.g) % 3 = 0 THEN NULL ELSE ((it.i * 3 + d.g) % 11)::double precision END AS v) a
			ORDER BY it.item_id, s.site_id, d.date`, lo, hi-lo+1, first, days)
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, def := range indexDefs {
		if _, err := db.Pool.Exec(ctx, def); err != nil {
			b.Fatalf("%s: %v", def, err)
		}
	}
	if _, err := db.Pool.Exec(ctx, "VACUUM ANALYZE gold.fact_forecast"); err != nil {
		b.Fatal(err)
	}
	var rows int64
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM gold.fact_forecast").Scan(&rows); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d fact_forecast rows for %d items in %s", rows, items, time.Since(t0).Round(time.Second))

	reader, err := api.OpenPool(ctx, db.URL, api.PoolOptions{ReaderRole: "novawh_reader", StatementTimeout: 5 * time.Second, MaxConns: int32(envInt("NOVAWH_BENCH_CONNS", 10))}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(reader.Close)

	ids := make([]string, items)
	if err := func() error {
		r, err := db.Pool.Query(ctx, "SELECT item_id FROM gold.dim_item ORDER BY item_id")
		if err != nil {
			return err
		}
		defer r.Close()
		ids = ids[:0]
		for r.Next() {
			var id string
			if err := r.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return r.Err()
	}(); err != nil {
		b.Fatal(err)
	}

	// The same request stream, through HTTP (cache off, then on) and, for
	// reference, straight to the sqlc query on the same pool (no HTTP, no JSON).
	for _, mode := range []struct {
		name   string
		cache  bool
		random bool
		sql    bool
	}{
		{"cache=off/range=random", false, true, false},
		{"cache=off/range=latest", false, false, false},
		{"cache=on/range=latest", true, false, false},
		{"sql-only/range=latest", false, false, true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			srv, err := api.New(reader, api.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), CacheDisabled: !mode.cache})
			if err != nil {
				b.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			q := store.New(reader)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
			lat := make([]time.Duration, requests)
			var next, hits, fails atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func(seed uint64) {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, 42))
					for {
						n := next.Add(1) - 1
						if n >= int64(requests) {
							return
						}
						end := last
						if mode.random {
							end = first.AddDate(0, 0, 29+rng.IntN(days-29))
						}
						id := ids[rng.IntN(len(ids))]
						t := time.Now()
						if mode.sql {
							rows, err := q.GetTimeseries(ctx, store.GetTimeseriesParams{ItemID: id,
								StartDate: pgtype.Date{Time: end.AddDate(0, 0, -29), Valid: true}, EndDate: pgtype.Date{Time: end, Valid: true}})
							lat[n] = time.Since(t)
							if err != nil || len(rows) != 30 {
								fails.Add(1)
							}
							continue
						}
						url := hs.URL + "/api/v1/items/" + itemPath(id) + "/timeseries?start=" +
							end.AddDate(0, 0, -29).Format("2006-01-02") + "&end=" + end.Format("2006-01-02")
						res, err := client.Get(url)
						if err != nil {
							fails.Add(1)
							continue
						}
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						lat[n] = time.Since(t)
						if res.StatusCode != 200 {
							fails.Add(1)
						}
						if res.Header.Get("X-Cache") == "hit" {
							hits.Add(1)
						}
					}
				}(uint64(c))
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if f := fails.Load(); f > 0 {
				b.Fatalf("%d of %d requests failed", f, requests)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50_ms")
			b.ReportMetric(pct(0.95), "p95_ms")
			b.ReportMetric(pct(0.99), "p99_ms")
			b.ReportMetric(float64(requests)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(hits.Load())/float64(requests), "hit_ratio")
			b.Logf("%s: %d requests, 16 clients, %s: p50 %.2f ms p95 %.2f ms p99 %.2f ms, %.0f req/s, hit ratio %.2f",
				mode.name, requests, elapsed.Round(time.Millisecond), pct(0.5), pct(0.95), pct(0.99), float64(requests)/elapsed.Seconds(), float64(hits.Load())/float64(requests))
		})
	}

	srv, err := api.New(reader, api.Options{CacheDisabled: true})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	benchSummary(b, hs.URL, last)
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

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
