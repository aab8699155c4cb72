package pull

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/novacorrente/novawh/internal/config"
)

// Source names.
const (
	SourceSGS       = "bcb_sgs"
	SourcePTAX      = "bcb_ptax"
	SourceSIDRA     = "ibge_sidra"
	SourceOpenMeteo = "open_meteo"
	SourceAnatel    = "anatel_5g"
)

// SourceNames lists every source in the order `pull --all` runs them.
var SourceNames = []string{SourceSGS, SourcePTAX, SourceSIDRA, SourceOpenMeteo, SourceAnatel}

// Common holds the settings every source has.
type Common struct {
	// Enabled sources are part of `pull --all` (a source named on the
	// command line is pulled even when disabled).
	Enabled *bool `yaml:"enabled"`
	// BaseURL of the API (the real public endpoint by default).
	BaseURL string `yaml:"base_url"`
	// Start is the first date pulled when a series has no watermark yet.
	Start string `yaml:"start"`
	// LookbackDays are re-read before the watermark to pick up revisions.
	LookbackDays int `yaml:"lookback_days"`
	// Window is the longest span of one request: "10y", "12m", "366d".
	Window string `yaml:"window"`
	// EndLagDays stops incremental pulls that many days before today (for
	// archives that publish with a delay).
	EndLagDays int `yaml:"end_lag_days"`
}

// SGSSeries is one BCB SGS series.
type SGSSeries struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
}

// SIDRATable is one IBGE SIDRA table and variable.
type SIDRATable struct {
	Table    int    `yaml:"table"`
	Variable int    `yaml:"variable"`
	Name     string `yaml:"name"`
	// Level is the territorial level and units, "n1/all" (Brazil) by default.
	Level string `yaml:"level"`
}

// City is one Open-Meteo location.
type City struct {
	Slug      string  `yaml:"slug"`
	Name      string  `yaml:"name"`
	Latitude  float64 `yaml:"latitude"`
	Longitude float64 `yaml:"longitude"`
	Timezone  string  `yaml:"timezone"`
}

// SGSConfig configures bcb_sgs.
type SGSConfig struct {
	Common `yaml:",inline"`
	Series []SGSSeries `yaml:"series"`
}

// PTAXConfig configures bcb_ptax.
type PTAXConfig struct {
	Common     `yaml:",inline"`
	Currencies []string `yaml:"currencies"`
}

// SIDRAConfig configures ibge_sidra.
type SIDRAConfig struct {
	Common `yaml:",inline"`
	Tables []SIDRATable `yaml:"tables"`
}

// OpenMeteoConfig configures open_meteo.
type OpenMeteoConfig struct {
	Common `yaml:",inline"`
	Cities []City `yaml:"cities"`
}

// AnatelConfig configures anatel_5g: a CSV downloaded over HTTP and loaded
// by the file loader's source LoadSource (defined in the `sources:` section).
type AnatelConfig struct {
	Common `yaml:",inline"`
	// URL of the CSV (base_url is ignored for this source; --base-url
	// replaces the scheme and host of URL). Empty: the source is off.
	URL string `yaml:"url"`
	// LoadSource names the `sources:` entry that maps the CSV (anatel_5g).
	LoadSource string `yaml:"load_source"`
}

// Config is the `pull:` section of novawh.yaml.
type Config struct {
	UserAgent string `yaml:"user_agent"`
	// Timeout of one HTTP request (one attempt), body included.
	Timeout time.Duration `yaml:"timeout"`
	// Attempts per request (first try included).
	Attempts int `yaml:"attempts"`
	// BackoffMin and BackoffMax bound the exponential backoff between attempts.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// RetryAfterMax caps a server's Retry-After.
	RetryAfterMax time.Duration `yaml:"retry_after_max"`
	// RatePerSecond and RateBurst limit requests per host.
	RatePerSecond float64 `yaml:"rate_per_second"`
	RateBurst     int     `yaml:"rate_burst"`
	// MaxBodyBytes refuses larger responses.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Concurrency is how many sources are pulled at the same time.
	Concurrency int `yaml:"concurrency"`

	SGS       SGSConfig       `yaml:"bcb_sgs"`
	PTAX      PTAXConfig      `yaml:"bcb_ptax"`
	SIDRA     SIDRAConfig     `yaml:"ibge_sidra"`
	OpenMeteo OpenMeteoConfig `yaml:"open_meteo"`
	Anatel    AnatelConfig    `yaml:"anatel_5g"`
}

// DefaultUserAgent names novawh, as polite API clients do.
const DefaultUserAgent = "novawh/1 (Nova Corrente analytics warehouse; +https://github.com/novacorrente/novawh)"

// DefaultConfig is used for every key the file leaves out. Base URLs are
// the real public endpoints.
func DefaultConfig() Config {
	return Config{
		UserAgent:     DefaultUserAgent,
		Timeout:       60 * time.Second,
		Attempts:      3,
		BackoffMin:    time.Second,
		BackoffMax:    30 * time.Second,
		RetryAfterMax: 2 * time.Minute,
		RatePerSecond: 2,
		RateBurst:     1,
		MaxBodyBytes:  256 << 20,
		Concurrency:   3,
		SGS: SGSConfig{
			Common: Common{BaseURL: "https://api.bcb.gov.br/dados/serie", Start: "2015-01-01", LookbackDays: 45, Window: "10y"},
			Series: []SGSSeries{
				{Code: "432", Name: "selic_target"},
				{Code: "11", Name: "selic_daily"},
				{Code: "1", Name: "usd_brl"},
				{Code: "433", Name: "ipca"},
			},
		},
		PTAX: PTAXConfig{
			Common:     Common{BaseURL: "https://olinda.bcb.gov.br/olinda/servico/PTAX/versao/v1/odata/", Start: "2015-01-01", LookbackDays: 7, Window: "1y"},
			Currencies: []string{"USD", "EUR"},
		},
		SIDRA: SIDRAConfig{
			Common: Common{BaseURL: "https://apisidra.ibge.gov.br/values", Start: "2015-01-01", LookbackDays: 92, Window: "10y"},
			Tables: []SIDRATable{
				{Table: 1737, Variable: 63, Name: "ipca_monthly", Level: "n1/all"},
				{Table: 1736, Variable: 44, Name: "inpc_monthly", Level: "n1/all"},
			},
		},
		OpenMeteo: OpenMeteoConfig{
			Common: Common{BaseURL: "https://archive-api.open-meteo.com/v1/archive", Start: "2021-01-01", LookbackDays: 7, Window: "1y", EndLagDays: 2},
			Cities: []City{
				{Slug: "salvador_ba", Name: "Salvador", Latitude: -12.9777, Longitude: -38.5016, Timezone: "America/Bahia"},
				{Slug: "fortaleza_ce", Name: "Fortaleza", Latitude: -3.7319, Longitude: -38.5267, Timezone: "America/Fortaleza"},
				{Slug: "recife_pe", Name: "Recife", Latitude: -8.0476, Longitude: -34.8770, Timezone: "America/Recife"},
				{Slug: "sao_paulo_sp", Name: "São Paulo", Latitude: -23.5505, Longitude: -46.6333, Timezone: "America/Sao_Paulo"},
				{Slug: "rio_de_janeiro_rj", Name: "Rio de Janeiro", Latitude: -22.9068, Longitude: -43.1729, Timezone: "America/Sao_Paulo"},
			},
		},
		Anatel: AnatelConfig{
			Common:     Common{Start: "2019-01-01", Window: "100y"},
			LoadSource: SourceAnatel,
		},
	}
}

// LoadConfig decodes the `pull:` section of f over DefaultConfig and
// validates it. f may be nil (defaults only).
func LoadConfig(f *config.File) (Config, error) {
	c := DefaultConfig()
	if f != nil {
		if err := f.Decode("pull", &c); err != nil {
			return Config{}, err
		}
	}
	if err := c.Validate(); err != nil {
		name := "defaults"
		if f != nil {
			name = f.Path
		}
		return Config{}, fmt.Errorf("%s: pull: %w", name, err)
	}
	return c, nil
}

// Validate checks every value.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Timeout <= 0 {
		add("timeout must be positive")
	}
	if c.Attempts < 1 {
		add("attempts must be at least 1")
	}
	if c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin {
		add("backoff_min must be positive and backoff_max >= backoff_min")
	}
	if c.RatePerSecond <= 0 || c.RateBurst < 1 {
		add("rate_per_second must be positive and rate_burst at least 1")
	}
	if c.Concurrency < 1 {
		add("concurrency must be at least 1")
	}
	if c.MaxBodyBytes < 1 {
		add("max_body_bytes must be positive")
	}
	if strings.TrimSpace(c.UserAgent) == "" {
		add("user_agent must not be empty")
	}
	for _, name := range SourceNames {
		cm := c.common(name)
		if name != SourceAnatel {
			if err := checkURL(cm.BaseURL); err != nil {
				add("%s.base_url: %v", name, err)
			}
		}
		if _, err := parseDate(cm.Start); err != nil {
			add("%s.start: %v", name, err)
		}
		if _, err := parseSpan(cm.Window); err != nil {
			add("%s.window: %v", name, err)
		}
		if cm.LookbackDays < 0 || cm.EndLagDays < 0 {
			add("%s: lookback_days and end_lag_days must not be negative", name)
		}
	}
	seen := map[string]bool{}
	for i, s := range c.SGS.Series {
		if _, err := strconv.Atoi(s.Code); err != nil || seen[s.Code] {
			add("bcb_sgs.series[%d].code %q must be a unique number", i, s.Code)
		}
		seen[s.Code] = true
	}
	for i, cur := range c.PTAX.Currencies {
		if len(cur) != 3 || strings.ToUpper(cur) != cur {
			add("bcb_ptax.currencies[%d] %q must be a 3-letter upper-case code", i, cur)
		}
	}
	for i, t := range c.SIDRA.Tables {
		if t.Table <= 0 || t.Variable <= 0 {
			add("ibge_sidra.tables[%d]: table and variable must be positive", i)
		}
		if t.Level == "" {
			c.SIDRA.Tables[i].Level = "n1/all"
		}
	}
	slugs := map[string]bool{}
	for i, ct := range c.OpenMeteo.Cities {
		if ct.Slug == "" || slugs[ct.Slug] {
			add("open_meteo.cities[%d]: slug must be set and unique", i)
		}
		slugs[ct.Slug] = true
		if _, err := time.LoadLocation(ct.Timezone); err != nil || ct.Timezone == "" {
			add("open_meteo.cities[%d] (%s): timezone %q: must be an IANA zone", i, ct.Slug, ct.Timezone)
		}
		if ct.Latitude < -90 || ct.Latitude > 90 || ct.Longitude < -180 || ct.Longitude > 180 {
			add("open_meteo.cities[%d] (%s): latitude/longitude out of range", i, ct.Slug)
		}
	}
	if c.Anatel.URL != "" {
		if err := checkURL(c.Anatel.URL); err != nil {
			add("anatel_5g.url: %v", err)
		}
	}
	if c.Anatel.LoadSource == "" {
		add("anatel_5g.load_source must name a sources: entry")
	}
	return errors.Join(errs...)
}

func (c *Config) common(source string) *Common {
	switch source {
	case SourceSGS:
		return &c.SGS.Common
	case SourcePTAX:
		return &c.PTAX.Common
	case SourceSIDRA:
		return &c.SIDRA.Common
	case SourceOpenMeteo:
		return &c.OpenMeteo.Common
	case SourceAnatel:
		return &c.Anatel.Common
	}
	return nil
}

// Enabled reports whether source is part of `pull --all` (anatel_5g only
// when its url is configured).
func (c *Config) Enabled(source string) bool {
	if source == SourceAnatel && c.Anatel.URL == "" {
		return false
	}
	cm := c.common(source)
	return cm != nil && (cm.Enabled == nil || *cm.Enabled)
}

// SetBaseURL overrides a source's base URL (--base-url). For anatel_5g the
// scheme, host and port of the CSV URL are replaced, keeping its path,
// unless u has a path of its own.
func (c *Config) SetBaseURL(source, u string) error {
	if err := checkURL(u); err != nil {
		return fmt.Errorf("--base-url %s: %w", source, err)
	}
	if source == SourceAnatel {
		nu, _ := url.Parse(u)
		if c.Anatel.URL == "" {
			c.Anatel.URL = nu.String()
			return nil
		}
		old, err := url.Parse(c.Anatel.URL)
		if err != nil {
			return fmt.Errorf("anatel_5g.url: %w", err)
		}
		if strings.Trim(nu.Path, "/") == "" {
			nu.Path, nu.RawQuery = old.Path, old.RawQuery
		}
		c.Anatel.URL = nu.String()
		return nil
	}
	cm := c.common(source)
	if cm == nil {
		return fmt.Errorf("--base-url: unknown source %q (known: %s)", source, strings.Join(SourceNames, ", "))
	}
	cm.BaseURL = u
	return nil
}

// KnownSource reports whether name is a source.
func KnownSource(name string) bool {
	for _, s := range SourceNames {
		if s == name {
			return true
		}
	}
	return false
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

// span is a window length: N years, months or days.
type span struct {
	n    int
	unit byte
}

func parseSpan(s string) (span, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return span{}, fmt.Errorf("%q: want a length like 10y, 12m or 366d", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	u := s[len(s)-1]
	if err != nil || n < 1 || (u != 'y' && u != 'm' && u != 'd') {
		return span{}, fmt.Errorf("%q: want a length like 10y, 12m or 366d", s)
	}
	return span{n: n, unit: u}, nil
}

// last is the last day of a window that starts on from.
func (s span) last(from time.Time) time.Time {
	switch s.unit {
	case 'y':
		return from.AddDate(s.n, 0, -1)
	case 'm':
		return from.AddDate(0, s.n, -1)
	default:
		return from.AddDate(0, 0, s.n-1)
	}
}

// window is an inclusive range of days.
type window struct{ From, To time.Time }

func (w window) String() string {
	return w.From.Format(time.DateOnly) + ".." + w.To.Format(time.DateOnly)
}

// chunk splits [from, to] into consecutive windows no longer than s.
func chunk(from, to time.Time, s span) []window {
	var out []window
	for !from.After(to) {
		end := s.last(from)
		if end.After(to) {
			end = to
		}
		out = append(out, window{From: from, To: end})
		from = end.AddDate(0, 0, 1)
	}
	return out
}

func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	return t, nil
}

// day truncates t to its calendar day (as a UTC midnight).
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EnvOffline names the variable that skips every pull (as --offline does):
// 1 or true (any case); 0 or false. Commands read it through the
// configuration resolver (internal/config), flags beating it.
const EnvOffline = "NOVAWH_OFFLINE"
