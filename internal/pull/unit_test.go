package pull

import (
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/config"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "pull", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestChunk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from, to string
		span     string
		want     []string
	}{
		{"sgs over 10 years", "2015-01-01", "2025-11-11", "10y", []string{"2015-01-01..2024-12-31", "2025-01-01..2025-11-11"}},
		{"sgs 25 years", "2000-03-15", "2025-03-15", "10y", []string{"2000-03-15..2010-03-14", "2010-03-15..2020-03-14", "2020-03-15..2025-03-15"}},
		{"exactly one window", "2020-01-01", "2020-12-31", "1y", []string{"2020-01-01..2020-12-31"}},
		{"one day", "2020-02-29", "2020-02-29", "366d", []string{"2020-02-29..2020-02-29"}},
		{"months", "2025-01-01", "2025-07-31", "3m", []string{"2025-01-01..2025-03-31", "2025-04-01..2025-06-30", "2025-07-01..2025-07-31"}},
		{"empty", "2025-02-01", "2025-01-01", "1y", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sp, err := parseSpan(tt.span)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range chunk(d(tt.from), d(tt.to), sp) {
				got = append(got, w.String())
				if tt.span == "10y" && w.To.After(w.From.AddDate(10, 0, 0)) {
					t.Errorf("window %s is longer than the SGS limit of 10 years", w)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("chunk = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseSpanErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "y", "0y", "-1m", "10w", "ten y"} {
		if _, err := parseSpan(s); err == nil {
			t.Errorf("parseSpan(%q) accepted", s)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 11, 11, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"Tue, 11 Nov 2025 12:00:07 GMT", 7 * time.Second, true},
		{"Tue, 11 Nov 2025 11:00:00 GMT", 0, true},
		{"-4", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := backoff(5 * time.Second)
	for attempt := range 6 {
		ceil := min(100*time.Millisecond<<attempt, time.Second)
		for range 50 {
			w := b(100*time.Millisecond, time.Second, attempt, nil)
			if w < ceil/2 || w > ceil {
				t.Fatalf("attempt %d: wait %v outside [%v, %v]", attempt, w, ceil/2, ceil)
			}
		}
	}
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"2"}}}
	if w := b(100*time.Millisecond, time.Second, 0, resp); w != 2*time.Second {
		t.Errorf("429 Retry-After 2: wait %v, want 2s (beyond backoff_max: the server decides)", w)
	}
	resp.Header.Set("Retry-After", "3600")
	if w := b(100*time.Millisecond, time.Second, 0, resp); w != 5*time.Second {
		t.Errorf("429 Retry-After 3600: wait %v, want the 5s cap", w)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad url", func(c *Config) { c.SGS.BaseURL = "ftp://x" }, "bcb_sgs.base_url"},
		{"bad window", func(c *Config) { c.PTAX.Window = "1w" }, "bcb_ptax.window"},
		{"bad zone", func(c *Config) { c.OpenMeteo.Cities[0].Timezone = "Mars/Olympus" }, "timezone"},
		{"bad code", func(c *Config) { c.SGS.Series = append(c.SGS.Series, SGSSeries{Code: "selic"}) }, "bcb_sgs.series[4].code"},
		{"bad currency", func(c *Config) { c.PTAX.Currencies = []string{"usd"} }, "bcb_ptax.currencies[0]"},
		{"bad start", func(c *Config) { c.SIDRA.Start = "01/01/2015" }, "ibge_sidra.start"},
		{"no attempts", func(c *Config) { c.Attempts = 0 }, "attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error about %s", err, tt.want)
			}
		})
	}
}

func TestLoadConfigProjectFile(t *testing.T) {
	t.Parallel()
	f, err := config.Load(filepath.Join("..", "..", "novawh.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SGS.Series) < 4 || len(c.PTAX.Currencies) < 2 || len(c.SIDRA.Tables) < 2 || len(c.OpenMeteo.Cities) < 5 {
		t.Fatalf("novawh.yaml pull section lacks the required series: %+v", c)
	}
	bad, err := config.Parse([]byte("pull:\n  bcb_sgs:\n    windw: 10y\n"), "bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "windw") {
		t.Fatalf("unknown key: err = %v", err)
	}
}

func TestSetBaseURL(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.Anatel.URL = "https://example.org/dados/5g.csv?x=1"
	if err := c.SetBaseURL(SourceAnatel, "http://127.0.0.1:9999"); err != nil {
		t.Fatal(err)
	}
	if c.Anatel.URL != "http://127.0.0.1:9999/dados/5g.csv?x=1" {
		t.Errorf("anatel url = %s", c.Anatel.URL)
	}
	if err := c.SetBaseURL("nope", "http://127.0.0.1:1"); err == nil {
		t.Error("unknown source accepted")
	}
	if err := c.SetBaseURL(SourceSGS, "127.0.0.1:1"); err == nil {
		t.Error("URL without scheme accepted")
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, ct, want string
	}{
		{`[{"a":1}]`, "application/json", ""},
		{"\xef\xbb\xbf  {\"value\":[]}", "application/json; charset=utf-8", ""},
		{"<!DOCTYPE html><html><head><title>Requisição inválida!</title></head></html>", "text/html", `HTML/XML page`},
		{`<?xml version="1.0"?><error/>`, "application/xml", "HTML/XML page"},
		{`{"a":1}`, "text/html; charset=utf-8", "HTML/XML page"},
		{"", "application/json", "empty body"},
		{"Service unavailable", "text/plain", "not JSON"},
	}
	for _, tt := range tests {
		err := checkJSON(&response{URL: "http://x/y", Status: 200, ContentType: tt.ct, Body: []byte(tt.body)})
		if tt.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.body, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.body, err, tt.want)
		}
	}
	err := checkJSON(&response{URL: "u", Status: 200, ContentType: "text/html", Body: []byte("<html><title>Requisição inválida!</title>")})
	if !strings.Contains(err.Error(), `"Requisição inválida!"`) {
		t.Errorf("HTML error does not quote the page title: %v", err)
	}
}

func TestSGSParse(t *testing.T) {
	t.Parallel()
	src := sgsSource{}
	s := series{key: "433"}
	p, err := src.parse("u", s, fixture(t, "bcb_sgs_433_rejects.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.rows) != 2 || len(p.rejects) != 3 {
		t.Fatalf("rows %d rejects %d, want 2 and 3: %+v", len(p.rows), len(p.rejects), p.rejects)
	}
	if p.rows[0].values[4] != 0.09 || p.rows[1].values[4] != 0.33 || !p.rows[1].date.Equal(d("2026-02-01")) || p.rows[1].line != 5 {
		t.Errorf("rows = %+v", p.rows)
	}
	want := []struct {
		line   int64
		column string
		reason string
	}{
		{2, "data", `element 2 (line 3, column 3): data "31/11/2025" is not a dd/mm/yyyy date`},
		{3, "valor", `element 3 (line 4, column 3): valor "n/d" is not a number`},
		{4, "valor", `element 4 (line 5, column 3): valor is missing or empty`},
	}
	for i, w := range want {
		r := p.rejects[i]
		if r.Line != w.line || r.Column != w.column || r.Reason != w.reason || !strings.HasPrefix(r.Raw, "{") {
			t.Errorf("reject %d = %+v, want %+v", i, r, w)
		}
	}
	c := p.counts()
	if c.Read != 5 || c.Loaded != 2 || c.Rejected != 3 || !c.MinDate.Equal(d("2025-10-01")) || !c.MaxDate.Equal(d("2026-02-01")) {
		t.Errorf("counts = %+v", c)
	}
}

func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	full := fixture(t, "bcb_sgs_433_rejects.json")
	tests := []struct {
		name string
		src  httpSource
		body string
		want string
	}{
		{"truncated array", sgsSource{}, string(full[:60]), "invalid JSON at line 3, column 16"},
		{"truncated object", ptaxSource{}, `{"value":[{"cotacaoCompra":5.1,`, "truncated response?"},
		{"garbage inside", sgsSource{}, "[\n{\"data\":\"01/01/2025\",\"valor\":\"1\"},\n{oops}\n]", "invalid JSON at line 3, column 2"},
		{"sgs error object", sgsSource{}, `{"error":"O sistema aceita uma janela de consulta de, no máximo, 10 anos em séries de periodicidade diária"}`, "expected a JSON array"},
		{"ptax without value", ptaxSource{}, `{"@odata.context":"x","error":{"code":"1"}}`, `no "value" array (keys: @odata.context, error)`},
		{"sidra no header", sidraSource{}, `[{"NC":"1","V":"1.2","D3C":"202501"}]`, `no "Mês (Código)" and "Valor" columns`},
		{"open-meteo lengths", openMeteoSource{}, `{"timezone":"GMT","hourly":{"time":["2025-01-01T00:00","2025-01-01T01:00"],"temperature_2m":[1],"relative_humidity_2m":[1,2],"precipitation":[0,0],"wind_speed_10m":[1,1]}}`, "hourly.temperature_2m has 1 values for 2 times"},
		{"open-meteo missing var", openMeteoSource{}, `{"timezone":"GMT","hourly":{"time":[]}}`, "hourly.temperature_2m is missing"},
		{"open-meteo error", openMeteoSource{}, `{"error":true,"reason":"Parameter 'start_date' is out of allowed range"}`, `no "hourly" object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := series{key: "k", city: City{Slug: "k", Timezone: "America/Bahia"}}
			_, err := tt.src.parse("http://api/x", s, []byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "http://api/x") {
				t.Fatalf("err = %v, want it to name the URL and contain %q", err, tt.want)
			}
		})
	}
}

func TestSIDRAHeaderColumns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, key string
		want      []any // period_code, value pairs
		rejects   int
	}{
		{"ibge_sidra_1737_63.json", "1737/63", []any{"202507", 0.24, "202508", -0.11, "202509", 0.48, "202510", nil}, 0},
		// Month code in D4C: D3C holds the index item code (7169), which
		// must not be read as a period.
		{"ibge_sidra_1736_44_d4c.json", "1736/44", []any{"202507", 0.26, "202508", -0.21, "202509", nil}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			p, err := sidraSource{}.parse("u", series{key: tt.key}, fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []any
			for _, r := range p.rows {
				got = append(got, r.values[3], r.values[4])
				if r.values[0] != SourceSIDRA || r.values[1] != tt.key {
					t.Errorf("row %v", r.values)
				}
				code := r.values[3].(string)
				if r.date.Format("200601") != code || r.date.Day() != 1 {
					t.Errorf("date %v for period %s", r.date, code)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
			if len(p.rejects) != tt.rejects {
				t.Fatalf("rejects %+v", p.rejects)
			}
			if tt.rejects > 0 {
				r := p.rejects[0]
				if r.Line != 4 || r.Column != "V" || !strings.Contains(r.Reason, `V "abc" is not a number`) {
					t.Errorf("reject %+v", r)
				}
			}
		})
	}
}

func TestOpenMeteoDailyLocal(t *testing.T) {
	t.Parallel()
	salvador := series{key: "salvador_ba", city: City{Slug: "salvador_ba", Timezone: "America/Bahia"}}
	utc := series{key: "salvador_ba", city: City{Slug: "salvador_ba", Timezone: "UTC"}}
	day1 := []any{"salvador_ba", d("2025-03-01"), -13.0, -38.5, "America/Bahia", 22.0, 33.5, 27.75, 0.4, 71.5, 19.0, 14.125, int32(24)}
	day2 := []any{"salvador_ba", d("2025-03-02"), -13.0, -38.5, "America/Bahia", 20.0, 31.5, 590.0 / 23, 0.2, 71.5, 19.0, 14.6875, int32(23)}
	tests := []struct {
		name    string
		file    string
		s       series
		want    [][]any
		rejects []string
	}{
		// The API honoured timezone=America/Bahia: local wall times.
		{"local times", "open_meteo_salvador_local.json", salvador, [][]any{day1, day2}, nil},
		// The same instants sent in GMT are converted to Bahia days.
		{"gmt converted", "open_meteo_salvador_gmt.json", salvador, [][]any{day1, day2}, nil},
		// Grouped by UTC days, both edge days are partial and rejected.
		{"utc edges", "open_meteo_salvador_gmt.json", utc, nil, []string{"2025-03-01", "2025-03-03"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := openMeteoSource{}.parse("u", tt.s, fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "utc edges" {
				if len(p.rows) != 1 || !p.rows[0].date.Equal(d("2025-03-02")) || p.rows[0].values[12] != int32(23) {
					t.Fatalf("rows %+v", p.rows)
				}
			} else {
				if len(p.rows) != len(tt.want) {
					t.Fatalf("%d rows, want %d", len(p.rows), len(tt.want))
				}
				for i, r := range p.rows {
					for j, v := range r.values {
						w := tt.want[i][j]
						if f, ok := v.(float64); ok {
							if math.Abs(f-w.(float64)) > 1e-9 {
								t.Errorf("day %d column %s = %v, want %v", i, openMeteoSource{}.columns()[j], v, w)
							}
							continue
						}
						if tv, ok := v.(time.Time); ok {
							if !tv.Equal(w.(time.Time)) {
								t.Errorf("day %d date %v want %v", i, tv, w)
							}
							continue
						}
						if v != w {
							t.Errorf("day %d column %s = %v (%T), want %v (%T)", i, openMeteoSource{}.columns()[j], v, v, w, w)
						}
					}
				}
			}
			if len(p.rejects) != len(tt.rejects) {
				t.Fatalf("rejects %+v", p.rejects)
			}
			for i, r := range p.rejects {
				if !strings.Contains(r.Reason, "day "+tt.rejects[i]) || !strings.Contains(r.Reason, "window edge") {
					t.Errorf("reject %+v", r)
				}
			}
		})
	}
}

func TestJSONErrorPosition(t *testing.T) {
	t.Parallel()
	body := []byte("[\n  {\"a\": 1},\n  {\"a\": ")
	_, err := arrayElements("http://h/p", body, "")
	if err == nil || !strings.Contains(err.Error(), "line 3, column 9") || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("err = %v", err)
	}
	if errors.Unwrap(err) == nil && !strings.Contains(err.Error(), "http://h/p") {
		t.Fatalf("err does not name the URL: %v", err)
	}
}
