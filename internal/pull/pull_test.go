package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/progress"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/load"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/registry"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

type env struct {
	db  *pgtest.DB
	api *fakeAPI
	cfg Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := pgtest.New(t)
	api := newFakeAPI(t)
	cfg := api.config()
	// Small default selection; tests widen it.
	cfg.SGS.Series = []SGSSeries{{Code: "432", Name: "selic_target"}}
	cfg.PTAX.Currencies = []string{"USD"}
	cfg.SIDRA.Tables = cfg.SIDRA.Tables[:1]
	cfg.OpenMeteo.Cities = cfg.OpenMeteo.Cities[:1]
	return &env{db: db, api: api, cfg: cfg}
}

func (e *env) puller(t *testing.T) *Puller {
	t.Helper()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(e.db.Pool, reg, e.cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) pull(t *testing.T, opts Options, sources ...string) []Result {
	t.Helper()
	rs, err := e.puller(t).Pull(context.Background(), sources, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// rows renders a query's rows as strings, one per row, columns joined by |.
func rows(t *testing.T, e *env, sql string, args ...any) []string {
	t.Helper()
	rs, err := e.db.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (string, error) {
		vals, err := r.Values()
		if err != nil {
			return "", err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				parts[i] = "NULL"
			case time.Time:
				if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
					parts[i] = x.Format(time.DateOnly)
				} else {
					parts[i] = x.Format("2006-01-02 15:04:05.999")
				}
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		return strings.Join(parts, "|"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func one(t *testing.T, rs []Result) Result {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("%d results, want 1: %+v", len(rs), rs)
	}
	return rs[0]
}

func TestPullEverySourceExactRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.PTAX.Currencies = []string{"USD", "EUR"}
	e.cfg.SIDRA.Tables = DefaultConfig().SIDRA.Tables
	for _, c := range []*Common{&e.cfg.SGS.Common, &e.cfg.PTAX.Common, &e.cfg.SIDRA.Common, &e.cfg.OpenMeteo.Common} {
		c.Start = "2024-12-01"
	}
	e.api.setSGS("432", fixture(t, "bcb_sgs_432.json"))
	e.api.setPTAX("USD", fixture(t, "bcb_ptax_usd.json"))
	e.api.setPTAX("EUR", fixture(t, "bcb_ptax_eur.json"))
	e.api.sidra["1737/63"] = fixture(t, "ibge_sidra_1737_63.json")
	e.api.sidra["1736/44"] = fixture(t, "ibge_sidra_1736_44_d4c.json")
	e.api.meteo["America/Bahia"] = fixture(t, "open_meteo_salvador_local.json")

	rs := e.pull(t, Options{Today: d("2025-11-11")}, SourceSGS, SourcePTAX, SourceSIDRA, SourceOpenMeteo)
	type key struct{ source, series string }
	want := map[key]Result{
		{SourceSGS, "432"}:               {Windows: 1, RowsLoaded: 5, Watermark: "2025-01-30"},
		{SourcePTAX, "USD"}:              {Windows: 1, RowsLoaded: 3, Watermark: "2025-11-11"},
		{SourcePTAX, "EUR"}:              {Windows: 1, RowsLoaded: 1, Watermark: "2025-11-10"},
		{SourceSIDRA, "1737/63"}:         {Windows: 1, RowsLoaded: 4, Watermark: "2025-10-01"},
		{SourceSIDRA, "1736/44"}:         {Windows: 1, RowsLoaded: 3, RowsRejected: 1, Watermark: "2025-09-01"},
		{SourceOpenMeteo, "salvador_ba"}: {Windows: 1, RowsLoaded: 2, Watermark: "2025-03-02"},
	}
	if len(rs) != len(want) {
		t.Fatalf("results %+v", rs)
	}
	for _, r := range rs {
		w, ok := want[key{r.Source, r.Series}]
		if !ok || r.Status != StatusOK || r.Windows != w.Windows || r.RowsLoaded != w.RowsLoaded || r.RowsRejected != w.RowsRejected || r.Watermark != w.Watermark || r.Error != "" {
			t.Errorf("result %+v, want %+v", r, w)
		}
	}

	equal(t, "economic_series", rows(t, e, `SELECT source, series, date, coalesce(period_code, 'NULL'), value, _line
		FROM bronze.economic_series ORDER BY source, series, date`), []string{
		"bcb_sgs|432|2024-12-30|NULL|12.25|1",
		"bcb_sgs|432|2024-12-31|NULL|12.25|2",
		"bcb_sgs|432|2025-01-01|NULL|12.25|3",
		"bcb_sgs|432|2025-01-29|NULL|13.25|4",
		"bcb_sgs|432|2025-01-30|NULL|13.25|5",
		"ibge_sidra|1736/44|2025-07-01|202507|0.26|1",
		"ibge_sidra|1736/44|2025-08-01|202508|-0.21|2",
		"ibge_sidra|1736/44|2025-09-01|202509|NULL|3",
		"ibge_sidra|1737/63|2025-07-01|202507|0.24|1",
		"ibge_sidra|1737/63|2025-08-01|202508|-0.11|2",
		"ibge_sidra|1737/63|2025-09-01|202509|0.48|3",
		"ibge_sidra|1737/63|2025-10-01|202510|NULL|4",
	})
	equal(t, "fx_ptax", rows(t, e, `SELECT currency, quoted_at, date, bulletin_type, buy_rate, sell_rate, buy_parity, sell_parity, _line
		FROM bronze.fx_ptax ORDER BY currency, quoted_at`), []string{
		"EUR|2025-11-10 13:06:29.91|2025-11-10|Fechamento|6.1489|6.1511|1.1557|1.1559|1",
		"USD|2025-11-10 10:07:27.621|2025-11-10|Abertura|5.3366|5.3372|1|1|1",
		"USD|2025-11-10 13:06:29.91|2025-11-10|Fechamento|5.3204|5.321|1|1|2",
		"USD|2025-11-11 13:03:27.34|2025-11-11|Fechamento|5.2851|5.2857|1|1|3",
	})
	equal(t, "weather_daily", rows(t, e, `SELECT city, date, latitude, longitude, timezone, temp_min, temp_max, round(temp_mean::numeric, 6)::text,
		round(precipitation_sum::numeric, 6)::text, humidity_mean, wind_max, wind_mean, hours, _line FROM bronze.weather_daily ORDER BY date`), []string{
		"salvador_ba|2025-03-01|-13|-38.5|America/Bahia|22|33.5|27.750000|0.400000|71.5|19|14.125|24|1",
		"salvador_ba|2025-03-02|-13|-38.5|America/Bahia|20|31.5|25.652174|0.200000|71.5|19|14.6875|23|2",
	})
	equal(t, "rejected", rows(t, e, `SELECT l.source, r.line, r.column_name, r.reason FROM meta.rejected_rows r JOIN meta.loads l USING (load_id)`), []string{
		`ibge_sidra|4|V|element 5 (line 6, column 3): V "abc" is not a number`,
	})
	// One loaded meta.loads row per window, balanced, with the request URL.
	equal(t, "loads", rows(t, e, `SELECT source, status, rows_read, rows_loaded, rows_rejected, min_date, max_date, target_table,
		file_name LIKE 'http://127.0.0.1:%' FROM meta.loads ORDER BY source, file_name`), []string{
		"bcb_ptax|loaded|1|1|0|2025-11-10|2025-11-10|bronze.fx_ptax|true",
		"bcb_ptax|loaded|3|3|0|2025-11-10|2025-11-11|bronze.fx_ptax|true",
		"bcb_sgs|loaded|5|5|0|2024-12-30|2025-01-30|bronze.economic_series|true",
		"ibge_sidra|loaded|4|3|1|2025-07-01|2025-09-01|bronze.economic_series|true",
		"ibge_sidra|loaded|4|4|0|2025-07-01|2025-10-01|bronze.economic_series|true",
		"open_meteo|loaded|2|2|0|2025-03-01|2025-03-02|bronze.weather_daily|true",
	})
	// Raw responses: the exact bytes served, their sha256, traceable from
	// every bronze row through _load_id.
	type raw struct {
		url, sha, fileSHA string
		body              []byte
		status            int
	}
	rs2, err := e.db.Pool.Query(context.Background(), `SELECT r.url, r.sha256, l.file_sha256, r.body, r.status_code
		FROM bronze.raw_responses r JOIN meta.loads l ON l.load_id = r._load_id AND l.file_name = r.url`)
	if err != nil {
		t.Fatal(err)
	}
	raws, err := pgx.CollectRows(rs2, func(r pgx.CollectableRow) (raw, error) {
		var x raw
		return x, r.Scan(&x.url, &x.sha, &x.fileSHA, &x.body, &x.status)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != 6 {
		t.Fatalf("%d raw responses, want 6", len(raws))
	}
	for _, r := range raws {
		h := sha256.Sum256(r.body)
		if hex.EncodeToString(h[:]) != r.sha || r.sha != r.fileSHA || r.status != 200 {
			t.Errorf("raw response %s: sha256 %s, body hashes to %x, ledger %s", r.url, r.sha, h, r.fileSHA)
		}
		if served := e.api.served[r.url]; string(served) != string(r.body) {
			t.Errorf("raw response %s differs from the bytes served", r.url)
		}
	}
	equal(t, "orphan bronze rows", rows(t, e, `SELECT count(*) FROM (
		SELECT _load_id FROM bronze.economic_series UNION ALL SELECT _load_id FROM bronze.fx_ptax
		UNION ALL SELECT _load_id FROM bronze.weather_daily) b
		WHERE NOT EXISTS (SELECT 1 FROM bronze.raw_responses r WHERE r._load_id = b._load_id)`), []string{"0"})
	equal(t, "watermarks", rows(t, e, `SELECT source, series, watermark FROM meta.watermarks ORDER BY 1, 2`), []string{
		"bcb_ptax|EUR|2025-11-10", "bcb_ptax|USD|2025-11-11", "bcb_sgs|432|2025-01-30",
		"ibge_sidra|1736/44|2025-09-01", "ibge_sidra|1737/63|2025-10-01", "open_meteo|salvador_ba|2025-03-02",
	})
	for _, h := range e.api.log {
		if !strings.HasPrefix(h.ua, "novawh/") {
			t.Errorf("request %s sent User-Agent %q", h.url, h.ua)
		}
	}
	// The requests the APIs received.
	urls := e.api.urls()
	wantURLs := []string{
		"/dados/serie/bcdata.sgs.432/dados?dataFinal=11%2F11%2F2025&dataInicial=01%2F12%2F2024&formato=json",
		"/olinda/servico/PTAX/versao/v1/odata/CotacaoMoedaPeriodo(moeda=@moeda,dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)?@moeda=%27USD%27&@dataInicial=%2712-01-2024%27&@dataFinalCotacao=%2711-11-2025%27&$format=json",
		"/values/t/1737/n1/all/v/63/p/202412-202511",
		"/v1/archive?end_date=2025-11-09&hourly=temperature_2m%2Crelative_humidity_2m%2Cprecipitation%2Cwind_speed_10m&latitude=-12.9777&longitude=-38.5016&start_date=2024-12-01&timezone=America%2FBahia",
	}
	for _, w := range wantURLs {
		found := false
		for _, u := range urls {
			found = found || u == w
		}
		if !found {
			t.Errorf("no request %s in\n  %s", w, strings.Join(urls, "\n  "))
		}
	}
}

func TestSGSChunksLongSpans(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.SGS.Start = "2009-06-15"
	e.api.setSGS("432", fixture(t, "bcb_sgs_432.json"))
	var shown lockedBuffer
	rep := progress.New(&shown, progress.Options{Terminal: func(io.Writer) bool { return true }, Throttle: time.Nanosecond})
	r := one(t, e.pull(t, Options{Today: d("2025-11-11"), Progress: rep}, SourceSGS))
	if r.Status != StatusOK || r.Windows != 2 || r.RowsLoaded != 5 {
		t.Fatalf("result %+v", r)
	}
	// On a terminal the series' windows are shown as they complete.
	if out := shown.String(); !strings.Contains(out, "pull bcb_sgs 432") || !strings.Contains(out, "(1/2)") {
		t.Errorf("progress shown: %q", out)
	}
	equal(t, "requests", e.api.urls(), []string{
		"/dados/serie/bcdata.sgs.432/dados?dataFinal=14%2F06%2F2019&dataInicial=15%2F06%2F2009&formato=json",
		"/dados/serie/bcdata.sgs.432/dados?dataFinal=11%2F11%2F2025&dataInicial=15%2F06%2F2019&formato=json",
	})
	// Without chunking the fake (like the real API) refuses the span.
	e.cfg.SGS.Window = "20y"
	r = one(t, e.pull(t, Options{Today: d("2025-11-11"), From: d("2005-01-01")}, SourceSGS))
	if r.Status != StatusFailed || !strings.Contains(r.Error, "HTTP 406") || !strings.Contains(r.Error, "10 anos") {
		t.Fatalf("unchunked request: %+v", r)
	}
}

func TestWatermark(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.SGS.Start = "2024-12-01"
	e.cfg.SGS.LookbackDays = 10
	e.api.setSGS("432", fixture(t, "bcb_sgs_432.json"))
	wm := func() []string {
		return rows(t, e, `SELECT watermark FROM meta.watermarks WHERE source = 'bcb_sgs' AND series = '432'`)
	}

	// 1. First pull: from start to today.
	r := one(t, e.pull(t, Options{Today: d("2025-01-31")}, SourceSGS))
	if r.Status != StatusOK || r.RowsLoaded != 5 || r.Watermark != "2025-01-30" || r.From != "2024-12-01" || r.To != "2025-01-31" {
		t.Fatalf("first pull %+v", r)
	}
	// 2. Incremental: from watermark - lookback (2025-01-20) to today.
	r = one(t, e.pull(t, Options{Today: d("2025-02-10")}, SourceSGS))
	if r.Status != StatusOK || r.RowsLoaded != 2 || r.From != "2025-01-20" || r.To != "2025-02-10" || r.Watermark != "2025-01-30" {
		t.Fatalf("incremental pull %+v", r)
	}
	if u := e.api.urls()[1]; u != "/dados/serie/bcdata.sgs.432/dados?dataFinal=10%2F02%2F2025&dataInicial=20%2F01%2F2025&formato=json" {
		t.Fatalf("incremental request %s", u)
	}
	// 3. The same window again returns the same bytes: recorded as an
	// unchanged (skipped) load, no duplicate rows.
	r = one(t, e.pull(t, Options{Today: d("2025-02-10")}, SourceSGS))
	if r.Status != StatusOK || r.Windows != 1 || r.WindowsUnchanged != 1 || r.RowsLoaded != 0 {
		t.Fatalf("repeated pull %+v", r)
	}
	equal(t, "bronze rows", rows(t, e, `SELECT count(*) FROM bronze.economic_series`), []string{"7"})
	// 4. New data, but the window fails: the watermark does not move.
	e.api.setSGS("432", []byte(`[{"data":"30/01/2025","valor":"13.25"},{"data":"20/02/2025","valor":"13.25"}]`))
	e.api.fault = func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadGateway)
		return true
	}
	r = one(t, e.pull(t, Options{Today: d("2025-02-21")}, SourceSGS))
	if r.Status != StatusFailed || !strings.Contains(r.Error, "HTTP 502") || r.Watermark != "2025-01-30" {
		t.Fatalf("failed pull %+v", r)
	}
	equal(t, "watermark after failure", wm(), []string{"2025-01-30"})
	// 5. It recovers from the same watermark.
	e.api.fault = nil
	r = one(t, e.pull(t, Options{Today: d("2025-02-21")}, SourceSGS))
	if r.Status != StatusOK || r.From != "2025-01-20" || r.Watermark != "2025-02-20" || r.RowsLoaded != 2 {
		t.Fatalf("recovery pull %+v", r)
	}
	// 6. Backfill an old range: exactly the requested days; the watermark
	// never moves back.
	e.api.setSGS("432", []byte(`[{"data":"01/06/2020","valor":"3.00"},{"data":"30/06/2020","valor":"2.25"}]`))
	r = one(t, e.pull(t, Options{Today: d("2025-02-21"), From: d("2020-06-01"), To: d("2020-06-30")}, SourceSGS))
	if r.Status != StatusOK || r.RowsLoaded != 2 || r.From != "2020-06-01" || r.To != "2020-06-30" || r.Watermark != "2025-02-20" {
		t.Fatalf("backfill %+v", r)
	}
	urls := e.api.urls()
	if u := urls[len(urls)-1]; u != "/dados/serie/bcdata.sgs.432/dados?dataFinal=30%2F06%2F2020&dataInicial=01%2F06%2F2020&formato=json" {
		t.Fatalf("backfill request %s", u)
	}
	equal(t, "watermark after backfill", wm(), []string{"2025-02-20"})
	equal(t, "loads", rows(t, e, `SELECT status, rows_read, rows_loaded FROM meta.loads ORDER BY load_id`), []string{
		"loaded|5|5", "loaded|2|2", "skipped|0|0", "failed|0|0", "loaded|2|2", "loaded|2|2",
	})
}

func TestFaults(t *testing.T) {
	t.Parallel()
	const body = `[{"data":"02/01/2025","valor":"12.25"}]`
	tests := []struct {
		name     string
		timeout  time.Duration
		fault    func(n int, w http.ResponseWriter, r *http.Request) bool
		status   string
		hits     int
		rows     int64
		errParts []string
		minGap   time.Duration // between the first two requests
	}{
		{name: "500 then 200", fault: func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 1 {
				http.Error(w, "internal error", http.StatusInternalServerError)
				return true
			}
			return false
		}, status: StatusOK, hits: 2, rows: 1},
		{name: "429 with Retry-After seconds", fault: func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		}, status: StatusOK, hits: 2, rows: 1, minGap: time.Second},
		{name: "503 with Retry-After date", fault: func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 1 {
				w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		}, status: StatusOK, hits: 2, rows: 1, minGap: time.Second},
		{name: "5xx every time", fault: func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "down", http.StatusInternalServerError)
			return true
		}, status: StatusFailed, hits: 3, errParts: []string{"HTTP 500", `"down"`}},
		{name: "404 not retried", fault: func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, `{"error":"Série não encontrada"}`, http.StatusNotFound)
			return true
		}, status: StatusFailed, hits: 1, errParts: []string{"HTTP 404", "Série não encontrada"}},
		{name: "hanging connection", timeout: 200 * time.Millisecond, fault: func(_ int, w http.ResponseWriter, r *http.Request) bool {
			<-r.Context().Done()
			return true
		}, status: StatusFailed, hits: 3, errParts: []string{"giving up after 3 attempt(s)", "exceeded"}},
		{name: "body cut then whole", fault: func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 1 {
				w.Header().Set("Content-Length", "500")
				w.Write([]byte(body[:10]))
				return true // the handler returns: the connection is closed short
			}
			return false
		}, status: StatusOK, hits: 2, rows: 1},
		{name: "truncated JSON", fault: func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body[:25]))
			return true
		}, status: StatusFailed, hits: 1, errParts: []string{"invalid JSON at line 1, column 26", "truncated response?"}},
		{name: "HTML error page with 200", fault: func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Sistema indisponível</title></head><body>Manutenção</body></html>"))
			return true
		}, status: StatusFailed, hits: 1, errParts: []string{"HTML/XML page", `"Sistema indisponível"`}},
		{name: "empty array", fault: func(_ int, w http.ResponseWriter, _ *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("[]"))
			return true
		}, status: StatusOK, hits: 1, rows: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cfg.SGS.Start, e.cfg.SGS.LookbackDays = "2024-12-01", 10
			if tt.timeout > 0 {
				e.cfg.Timeout = tt.timeout
			}
			e.api.setSGS("432", []byte(body))
			e.api.fault = tt.fault
			if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO meta.watermarks VALUES ('bcb_sgs', '432', '2024-12-31')`); err != nil {
				t.Fatal(err)
			}
			r := one(t, e.pull(t, Options{Today: d("2025-01-10")}, SourceSGS))
			if r.Status != tt.status || r.RowsLoaded != tt.rows || e.api.hitCount() != tt.hits {
				t.Fatalf("result %+v after %d requests; want status %s, %d rows, %d requests", r, e.api.hitCount(), tt.status, tt.rows, tt.hits)
			}
			for _, p := range tt.errParts {
				if !strings.Contains(r.Error, p) {
					t.Errorf("error %q lacks %q", r.Error, p)
				}
			}
			if tt.status == StatusFailed && !strings.Contains(r.Error, "bcb_sgs 432 window 2024-12-21..2025-01-10") {
				t.Errorf("error does not name the window: %s", r.Error)
			}
			if tt.minGap > 0 {
				if gap := e.api.log[1].at.Sub(e.api.log[0].at); gap < tt.minGap {
					t.Errorf("retried after %v, before the server's Retry-After of %v", gap, tt.minGap)
				}
			}
			wantWM, wantStatus, wantBronze := "2024-12-31", "failed", "0"
			if tt.status == StatusOK {
				wantStatus = "loaded"
				if tt.rows > 0 {
					wantWM, wantBronze = "2025-01-02", "1"
				}
			}
			equal(t, "watermark", rows(t, e, `SELECT watermark FROM meta.watermarks`), []string{wantWM})
			equal(t, "loads", rows(t, e, `SELECT status, rows_read, rows_loaded, error IS NOT NULL FROM meta.loads`),
				[]string{fmt.Sprintf("%s|%d|%d|%v", wantStatus, tt.rows, tt.rows, tt.status == StatusFailed)})
			equal(t, "bronze", rows(t, e, `SELECT count(*) FROM bronze.economic_series`), []string{wantBronze})
			wantRaw := "0"
			if tt.status == StatusOK {
				wantRaw = "1"
			}
			equal(t, "raw responses", rows(t, e, `SELECT count(*) FROM bronze.raw_responses`), []string{wantRaw})
		})
	}
}

func TestOneFailureDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.SGS.Series = []SGSSeries{{Code: "432"}, {Code: "11"}, {Code: "1"}}
	e.cfg.SGS.Start, e.cfg.PTAX.Start = "2025-01-01", "2025-11-01"
	e.api.setSGS("432", fixture(t, "bcb_sgs_432.json"))
	e.api.setSGS("1", []byte(`[{"data":"02/01/2025","valor":"6.1923"}]`))
	e.api.setPTAX("USD", fixture(t, "bcb_ptax_usd.json"))
	rs := e.pull(t, Options{Today: d("2025-11-11")}, SourceSGS, SourcePTAX)
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s/%s %s %d", r.Source, r.Series, r.Status, r.RowsLoaded))
	}
	equal(t, "results", got, []string{"bcb_sgs/432 ok 3", "bcb_sgs/11 failed 0", "bcb_sgs/1 ok 1", "bcb_ptax/USD ok 3"})
	if Failed(rs) != 1 {
		t.Errorf("Failed = %d", Failed(rs))
	}
}

func TestOfflineSkipsEverything(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rs := e.pull(t, Options{Offline: true})
	if len(rs) != 4 { // sgs 432, ptax USD, sidra 1737/63, open_meteo salvador (anatel off without url)
		t.Fatalf("results %+v", rs)
	}
	for _, r := range rs {
		if r.Status != StatusSkipped {
			t.Errorf("%+v", r)
		}
	}
	if e.api.hitCount() != 0 {
		t.Errorf("%d requests while offline", e.api.hitCount())
	}
}

func TestUnknownSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.puller(t).Pull(context.Background(), []string{"bcb"}, Options{}); err == nil || !strings.Contains(err.Error(), `unknown source "bcb"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRateLimitPerHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.RatePerSecond, e.cfg.RateBurst = 10, 1
	e.cfg.SGS.Start, e.cfg.SGS.Window = "2025-01-01", "1d"
	e.api.setSGS("432", []byte(`[]`))
	r := one(t, e.pull(t, Options{Today: d("2025-01-05")}, SourceSGS))
	if r.Status != StatusOK || r.Windows != 5 {
		t.Fatalf("%+v", r)
	}
	// 5 requests at 10/s with a burst of 1: at least 400 ms from first to last.
	if span := e.api.log[4].at.Sub(e.api.log[0].at); span < 350*time.Millisecond {
		t.Errorf("5 requests within %v despite a 10/s limit", span)
	}
}

func TestAnatelCSVThroughLoader(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api.csv["/dados/acessos_5g.csv"] = fixture(t, "anatel_5g.csv")
	e.cfg.Anatel.URL = e.api.srv.URL + "/dados/acessos_5g.csv"
	f, err := config.Load(filepath.Join("..", "..", "novawh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lcfg, err := load.LoadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(e.db.Pool, reg, e.cfg, nil, WithCSVLoader(load.New(e.db.Pool, reg, lcfg, nil)))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := p.Pull(context.Background(), []string{SourceAnatel}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := one(t, rs)
	// 1 of 11 rows rejected: under the loader's 10% threshold.
	if r.Status != StatusOK || r.RowsLoaded != 10 || r.RowsRejected != 1 || r.Watermark != "2025-02-01" {
		t.Fatalf("result %+v", r)
	}
	equal(t, "telecom_5g", rows(t, e, `SELECT municipality, ibge_code, uf, date, operator, technology, count FROM bronze.telecom_5g
		WHERE uf IN ('BA', 'CE') ORDER BY date, count`), []string{
		"Camaçari|2905701|BA|2025-01-01|TIM S A|5G|12345",
		"Fortaleza|2304400|CE|2025-01-01|TIM S A|4G|300100",
		"Salvador|2927408|BA|2025-01-01|CLARO S.A.|4G|987654",
		"Salvador|2927408|BA|2025-01-01|TELEFÔNICA BRASIL S.A.|5G|1234567",
		"Feira de Santana|2910800|BA|2025-02-01|TIM S A|5G|8888",
		"Fortaleza|2304400|CE|2025-02-01|TIM S A|5G|45001",
	})
	equal(t, "rejected", rows(t, e, `SELECT line, column_name FROM meta.rejected_rows`), []string{"12|count"})
	equal(t, "raw", rows(t, e, `SELECT r.source, r.series, r.sha256 = l.file_sha256, length(r.body) FROM bronze.raw_responses r JOIN meta.loads l ON l.load_id = r._load_id`),
		[]string{fmt.Sprintf("anatel_5g|anatel_5g|true|%d", len(fixture(t, "anatel_5g.csv")))})
	// The same bytes again: the loader skips them.
	r = one(t, must(p.Pull(context.Background(), []string{SourceAnatel}, Options{})))
	if r.Status != StatusOK || r.WindowsUnchanged != 1 || r.RowsLoaded != 0 {
		t.Fatalf("second pull %+v", r)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A panic while a window's response is read fails that window only: a
// failed meta.loads row names the URL and the panic, the series stops, the
// other series and sources go on.
func TestPanicFailsOnlyItsWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.SGS.Series = []SGSSeries{{Code: "432"}, {Code: "1"}}
	e.cfg.SGS.Start, e.cfg.PTAX.Start = "2025-01-01", "2025-11-01"
	e.api.setSGS("432", fixture(t, "bcb_sgs_432.json"))
	e.api.setSGS("1", []byte(`[{"data":"02/01/2025","valor":"6.1923"}]`))
	e.api.setPTAX("USD", fixture(t, "bcb_ptax_usd.json"))
	p := e.puller(t)
	p.hooks = &testHooks{window: func(source, series string) {
		if source == SourceSGS && series == "432" {
			panic("injected test panic")
		}
	}}
	rs, err := p.Pull(context.Background(), []string{SourceSGS, SourcePTAX}, Options{Today: d("2025-11-11")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s/%s %s %d", r.Source, r.Series, r.Status, r.RowsLoaded))
	}
	equal(t, "results", got, []string{"bcb_sgs/432 failed 0", "bcb_sgs/1 ok 1", "bcb_ptax/USD ok 3"})
	if !strings.Contains(rs[0].Error, "internal error: panic in reading the bcb_sgs response: injected test panic") {
		t.Errorf("error %q", rs[0].Error)
	}
	equal(t, "failed loads", rows(t, e, `SELECT status, file_name LIKE '%bcdata.sgs.432%', error LIKE '%panic in reading the bcb_sgs response: injected test panic%'
		FROM meta.loads WHERE source = 'bcb_sgs' AND status = 'failed'`), []string{"failed|true|true"})
	equal(t, "rows of the failed series", rows(t, e, `SELECT count(*) FROM bronze.economic_series WHERE series = '432'`), []string{"0"})
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
