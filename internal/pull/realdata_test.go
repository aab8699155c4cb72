package pull

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/realdata"
)

// Replays of the real responses in ../shared/data/nova (skipped when
// absent), cross-checked with the company's processed series.

const raw = "data/landing/external_factors-raw/"

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]string, 0, len(recs)-1)
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func TestRealSGSSelic(t *testing.T) {
	t.Parallel()
	file := realdata.Path(t, raw+"macro/bacen/selic/20251111/selic.json")
	company := readCSV(t, realdata.Path(t, "data/silver/external_factors/macro/selic_rates.csv"))
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The landing file wraps the API's array as {"data": [...]}.
	var wrapped struct{ Data json.RawMessage }
	if err := json.Unmarshal(b, &wrapped); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.cfg.SGS.Start = "2015-01-01"
	e.api.setSGS("432", wrapped.Data)
	r := one(t, e.pull(t, Options{Today: d("2025-11-11")}, SourceSGS))
	// 2015-01-01..2025-11-11 is longer than the API's 10 years: 2 windows.
	if r.Status != StatusOK || r.Windows != 2 || r.RowsLoaded != 3968 || r.RowsRejected != 0 || r.Watermark != "2025-11-11" {
		t.Fatalf("result %+v", r)
	}
	got := map[string]float64{}
	rs, _ := e.db.Pool.Query(context.Background(), `SELECT date, value FROM bronze.economic_series WHERE series = '432'`)
	for rs.Next() {
		var dt time.Time
		var v float64
		if err := rs.Scan(&dt, &v); err != nil {
			t.Fatal(err)
		}
		got[dt.Format(time.DateOnly)] = v
	}
	if rs.Err() != nil || len(got) != 3968 {
		t.Fatalf("%d distinct days, err %v", len(got), rs.Err())
	}
	for _, c := range company {
		want, _ := strconv.ParseFloat(c["selic_rate"], 64)
		if v, ok := got[c["date"]]; !ok || v != want {
			t.Fatalf("%s: bronze %v (present %v), company %v", c["date"], v, ok, want)
		}
	}
}

func TestRealPTAXUSD(t *testing.T) {
	t.Parallel()
	file := realdata.Path(t, raw+"macro/bacen/ptax/usd/20251111/ptax.json")
	company := readCSV(t, realdata.Path(t, "data/silver/external_factors/macro/ptax_rates.csv"))
	e := newEnv(t)
	e.cfg.PTAX.Start = "2015-01-01"
	e.api.setPTAX("USD", must(os.ReadFile(file)))
	r := one(t, e.pull(t, Options{Today: d("2025-11-11")}, SourcePTAX))
	if r.Status != StatusOK || r.Windows != 11 || r.RowsLoaded != 13573 || r.RowsRejected != 0 {
		t.Fatalf("result %+v", r)
	}
	type q struct {
		at         string
		buy, sell  float64
		tipo, date string
	}
	got := map[q]bool{}
	rs, _ := e.db.Pool.Query(context.Background(), `SELECT quoted_at, buy_rate, sell_rate, bulletin_type, date FROM bronze.fx_ptax`)
	for rs.Next() {
		var at, dt time.Time
		var x q
		if err := rs.Scan(&at, &x.buy, &x.sell, &x.tipo, &dt); err != nil {
			t.Fatal(err)
		}
		x.at, x.date = at.Format("2006-01-02T15:04:05"), dt.Format(time.DateOnly)
		got[x] = true
	}
	n := 0
	for _, c := range company {
		if c["currency"] != "USD" {
			continue
		}
		n++
		x := q{at: c["timestamp"], tipo: c["bulletin_type"], date: c["date"]}
		x.buy, _ = strconv.ParseFloat(c["buy_rate"], 64)
		x.sell, _ = strconv.ParseFloat(c["sell_rate"], 64)
		if !got[x] {
			t.Fatalf("company row %v not in bronze", c)
		}
	}
	if n == 0 {
		t.Fatal("no USD rows in the company's file")
	}
}

func TestRealSIDRAIPCA(t *testing.T) {
	t.Parallel()
	file := realdata.Path(t, raw+"macro/ibge/ipca/20251111/ipca.json")
	company := readCSV(t, realdata.Path(t, "data/silver/external_factors/macro/ipca_inflation.csv"))
	e := newEnv(t)
	e.cfg.SIDRA.Start, e.cfg.SIDRA.Window = "2015-01-01", "20y" // the replay ignores the period range
	e.api.sidra["1737/63"] = must(os.ReadFile(file))
	r := one(t, e.pull(t, Options{Today: d("2025-11-11")}, SourceSIDRA))
	if r.Status != StatusOK || r.RowsLoaded != 130 || r.RowsRejected != 0 {
		t.Fatalf("result %+v", r)
	}
	got := map[string]string{}
	for _, row := range rows(t, e, `SELECT date, period_code, value FROM bronze.economic_series`) {
		got[row[:10]] = row
	}
	for _, c := range company {
		v, _ := strconv.ParseFloat(c["ipca_index"], 64)
		want := fmt.Sprintf("%s|%s|%v", c["date"], c["period_code"], v)
		if got[c["date"]] != want {
			t.Fatalf("bronze %q, company %q", got[c["date"]], want)
		}
	}
}

// The company aggregated Salvador's hourly history by UTC day (the file was
// fetched with timezone=GMT). Grouped the same way, the daily means match;
// the company's precipitation is exactly twice the hourly sum (a defect of
// its earlier pipeline, reported), so that column is checked as such.
func TestRealOpenMeteoSalvador(t *testing.T) {
	t.Parallel()
	file := realdata.Path(t, raw+"openweather/salvador_ba/20251111/openmeteo_history.json")
	company := readCSV(t, realdata.Path(t, "data/silver/external_factors/climatic/openmeteo_daily.csv"))
	body := must(os.ReadFile(file))
	for _, tz := range []string{"UTC", "America/Bahia"} {
		t.Run(tz, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cfg.OpenMeteo.Window = "10y"
			e.cfg.OpenMeteo.Cities[0].Timezone = tz
			e.api.meteo[""] = body
			r := one(t, e.pull(t, Options{From: d("2021-11-12"), To: d("2025-11-11")}, SourceOpenMeteo))
			if tz == "America/Bahia" {
				// GMT hours converted to Bahia days: the first and last local
				// days are partial (3 and 21 hours) and rejected, not guessed.
				if r.Status != StatusOK || r.RowsLoaded != 1460 || r.RowsRejected != 2 {
					t.Fatalf("result %+v", r)
				}
				equal(t, "partial days", rows(t, e, `SELECT line, column_name FROM meta.rejected_rows ORDER BY line`), []string{"1|time", "1462|time"})
				return
			}
			if r.Status != StatusOK || r.RowsLoaded != 1461 || r.RowsRejected != 0 {
				t.Fatalf("result %+v", r)
			}
			type agg struct{ t, h, p, w float64 }
			got := map[string]agg{}
			rs, _ := e.db.Pool.Query(context.Background(), `SELECT date, temp_mean, humidity_mean, precipitation_sum, wind_mean FROM bronze.weather_daily`)
			for rs.Next() {
				var dt time.Time
				var a agg
				if err := rs.Scan(&dt, &a.t, &a.h, &a.p, &a.w); err != nil {
					t.Fatal(err)
				}
				got[dt.Format(time.DateOnly)] = a
			}
			matched, differ := 0, []string{}
			for _, c := range company {
				a, ok := got[c["date"]]
				if c["city"] != "salvador_ba" || !ok {
					continue
				}
				f := func(k string) float64 { v, _ := strconv.ParseFloat(c[k], 64); return v }
				close := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
				if close(a.t, f("temperature_2m_daily")) && close(a.h, f("relative_humidity_2m_daily")) && close(a.w, f("wind_speed_10m_daily")) && close(2*a.p, f("precipitation_daily")) {
					matched++
				} else {
					differ = append(differ, c["date"])
				}
			}
			// The last two days (provisional archive data when the company
			// computed them) differ.
			if matched < 1459 || len(differ) > 2 || (len(differ) > 0 && differ[0] < "2025-11-01") {
				t.Fatalf("matched %d days; differ %v", matched, differ)
			}
		})
	}
}
