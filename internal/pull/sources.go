package pull

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// series is one unit of watermarking: an SGS code, a currency, a SIDRA
// table/variable, a city or a CSV feed.
type series struct {
	key  string // meta.watermarks.series and bronze.raw_responses.series
	name string // a readable label for logs and results
	// Source-specific data.
	sgs   SGSSeries
	ptax  string
	sidra SIDRATable
	city  City
}

// seriesOf lists the series of a source's configured entries.
func seriesOf[T any](xs []T, f func(T) series) []series {
	out := make([]series, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// httpSource is a JSON API source: it builds window URLs and parses bodies.
type httpSource interface {
	name() string
	table() string     // schema.table of its bronze rows
	columns() []string // bronze columns filled by parse, without _load_id/_line
	list() []series
	// align adjusts a requested range to the source's granularity.
	align(from, to time.Time) (time.Time, time.Time)
	url(base string, s series, w window) string
	parse(url string, s series, body []byte) (*parsed, error)
}

// ---- BCB SGS ----------------------------------------------------------

type sgsSource struct{ cfg SGSConfig }

func (sgsSource) name() string  { return SourceSGS }
func (sgsSource) table() string { return "bronze.economic_series" }
func (sgsSource) columns() []string {
	return []string{"source", "series", "date", "period_code", "value"}
}
func (s sgsSource) list() []series {
	return seriesOf(s.cfg.Series, func(x SGSSeries) series { return series{key: x.Code, name: x.Name, sgs: x} })
}
func (sgsSource) align(from, to time.Time) (time.Time, time.Time) { return from, to }

// url: {base}/bcdata.sgs.{code}/dados?formato=json&dataInicial=dd/MM/yyyy&dataFinal=dd/MM/yyyy
func (sgsSource) url(base string, s series, w window) string {
	q := url.Values{}
	q.Set("formato", "json")
	q.Set("dataInicial", w.From.Format("02/01/2006"))
	q.Set("dataFinal", w.To.Format("02/01/2006"))
	return strings.TrimRight(base, "/") + "/bcdata.sgs." + url.PathEscape(s.sgs.Code) + "/dados?" + q.Encode()
}

// parse reads [{"data":"01/01/2015","valor":"11.75"}, ...].
func (sgsSource) parse(u string, s series, body []byte) (*parsed, error) {
	els, err := arrayElements(u, body, "")
	if err != nil {
		return nil, err
	}
	p := &parsed{rows: make([]row, 0, len(els))}
	for _, e := range els {
		var obj struct {
			Data  *string         `json:"data"`
			Valor json.RawMessage `json:"valor"`
		}
		if err := json.Unmarshal(e.raw, &obj); err != nil {
			p.reject(e.n, "", fmt.Sprintf("%s: not a {data, valor} object: %v", e.where(), err), string(e.raw))
			continue
		}
		if obj.Data == nil {
			p.reject(e.n, "data", e.where()+": data is missing", string(e.raw))
			continue
		}
		d, err := time.Parse("02/01/2006", strings.TrimSpace(*obj.Data))
		if err != nil {
			p.reject(e.n, "data", fmt.Sprintf("%s: data %q is not a dd/mm/yyyy date", e.where(), *obj.Data), string(e.raw))
			continue
		}
		v, ok, err := parseNumber(obj.Valor)
		if err != nil || !ok || math.IsInf(v, 0) || math.IsNaN(v) {
			reason := "valor is missing or empty"
			if err != nil {
				reason = "valor " + err.Error()
			}
			p.reject(e.n, "valor", e.where()+": "+reason, string(e.raw))
			continue
		}
		p.rows = append(p.rows, row{line: e.n, date: d, values: []any{SourceSGS, s.key, d, nil, v}})
	}
	return p, nil
}

// ---- BCB PTAX ---------------------------------------------------------

type ptaxSource struct{ cfg PTAXConfig }

func (ptaxSource) name() string  { return SourcePTAX }
func (ptaxSource) table() string { return "bronze.fx_ptax" }
func (ptaxSource) columns() []string {
	return []string{"currency", "quoted_at", "date", "bulletin_type", "buy_rate", "sell_rate", "buy_parity", "sell_parity"}
}
func (s ptaxSource) list() []series {
	return seriesOf(s.cfg.Currencies, func(c string) series { return series{key: c, name: c, ptax: c} })
}
func (ptaxSource) align(from, to time.Time) (time.Time, time.Time) { return from, to }

// url: {base}CotacaoMoedaPeriodo(moeda=@moeda,dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)?@moeda='USD'&@dataInicial='01-02-2015'&@dataFinalCotacao='12-31-2015'&$format=json
func (ptaxSource) url(base string, s series, w window) string {
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + "CotacaoMoedaPeriodo(moeda=@moeda,dataInicial=@dataInicial,dataFinalCotacao=@dataFinalCotacao)" +
		"?@moeda=%27" + url.QueryEscape(s.ptax) + "%27" +
		"&@dataInicial=%27" + w.From.Format("01-02-2006") + "%27" +
		"&@dataFinalCotacao=%27" + w.To.Format("01-02-2006") + "%27" +
		"&$format=json"
}

// parse reads {"value":[{"paridadeCompra":1.0,...,"dataHoraCotacao":"2015-01-02 10:06:25.045","tipoBoletim":"Abertura"}]}.
func (ptaxSource) parse(u string, s series, body []byte) (*parsed, error) {
	els, err := arrayElements(u, body, "value")
	if err != nil {
		return nil, err
	}
	p := &parsed{rows: make([]row, 0, len(els))}
	for _, e := range els {
		var obj struct {
			ParidadeCompra json.RawMessage `json:"paridadeCompra"`
			ParidadeVenda  json.RawMessage `json:"paridadeVenda"`
			CotacaoCompra  json.RawMessage `json:"cotacaoCompra"`
			CotacaoVenda   json.RawMessage `json:"cotacaoVenda"`
			DataHora       *string         `json:"dataHoraCotacao"`
			TipoBoletim    *string         `json:"tipoBoletim"`
		}
		if err := json.Unmarshal(e.raw, &obj); err != nil {
			p.reject(e.n, "", fmt.Sprintf("%s: not a quotation object: %v", e.where(), err), string(e.raw))
			continue
		}
		if obj.DataHora == nil {
			p.reject(e.n, "dataHoraCotacao", e.where()+": dataHoraCotacao is missing", string(e.raw))
			continue
		}
		at, err := time.Parse("2006-01-02 15:04:05.999999999", strings.TrimSpace(*obj.DataHora))
		if err != nil {
			p.reject(e.n, "dataHoraCotacao", fmt.Sprintf("%s: dataHoraCotacao %q is not yyyy-mm-dd hh:mm:ss[.fff]", e.where(), *obj.DataHora), string(e.raw))
			continue
		}
		vals := make([]any, 4)
		bad := false
		for i, f := range []struct {
			name string
			raw  json.RawMessage
		}{{"cotacaoCompra", obj.CotacaoCompra}, {"cotacaoVenda", obj.CotacaoVenda}, {"paridadeCompra", obj.ParidadeCompra}, {"paridadeVenda", obj.ParidadeVenda}} {
			v, ok, err := parseNumber(f.raw)
			if err != nil {
				p.reject(e.n, f.name, fmt.Sprintf("%s: %s %v", e.where(), f.name, err), string(e.raw))
				bad = true
				break
			}
			if ok {
				vals[i] = v
			}
		}
		if bad {
			continue
		}
		if vals[0] == nil && vals[1] == nil {
			p.reject(e.n, "cotacaoCompra", e.where()+": cotacaoCompra and cotacaoVenda are both missing", string(e.raw))
			continue
		}
		var tipo any
		if obj.TipoBoletim != nil {
			tipo = *obj.TipoBoletim
		}
		d := day(at)
		p.rows = append(p.rows, row{line: e.n, date: d, values: []any{s.ptax, at, d, tipo, vals[0], vals[1], vals[2], vals[3]}})
	}
	return p, nil
}

// ---- IBGE SIDRA -------------------------------------------------------

type sidraSource struct{ cfg SIDRAConfig }

func (sidraSource) name() string  { return SourceSIDRA }
func (sidraSource) table() string { return "bronze.economic_series" }
func (sidraSource) columns() []string {
	return []string{"source", "series", "date", "period_code", "value"}
}
func (s sidraSource) list() []series {
	return seriesOf(s.cfg.Tables, func(t SIDRATable) series {
		return series{key: fmt.Sprintf("%d/%d", t.Table, t.Variable), name: t.Name, sidra: t}
	})
}

// align widens the range to whole months (SIDRA periods are months).
func (sidraSource) align(from, to time.Time) (time.Time, time.Time) {
	f := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	t := time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, -1)
	return f, t
}

// url: {base}/t/{table}/{level}/v/{variable}/p/{yyyymm}-{yyyymm}
func (sidraSource) url(base string, s series, w window) string {
	return fmt.Sprintf("%s/t/%d/%s/v/%d/p/%s-%s", strings.TrimRight(base, "/"), s.sidra.Table, strings.Trim(s.sidra.Level, "/"),
		s.sidra.Variable, w.From.Format("200601"), w.To.Format("200601"))
}

// sidraMissing are SIDRA's markers of a value that does not exist or is
// withheld; they load as NULL.
var sidraMissing = map[string]bool{"": true, "...": true, "..": true, "-": true, "X": true, "x": true}

// parse reads an array whose first element is the header-label row; the
// period code is in whichever DnC column the header labels "Mês (Código)".
func (sidraSource) parse(u string, s series, body []byte) (*parsed, error) {
	els, err := arrayElements(u, body, "")
	if err != nil {
		return nil, err
	}
	p := &parsed{}
	if len(els) == 0 {
		return p, nil
	}
	var header map[string]string
	if err := json.Unmarshal(els[0].raw, &header); err != nil {
		return nil, fmt.Errorf("%s: header row (%s) is not an object of labels: %v", u, els[0].where(), err)
	}
	monthKey, valueKey := "", ""
	for _, k := range sortedKeys(header) {
		label := strings.TrimSpace(header[k])
		switch {
		case strings.EqualFold(label, "Mês (Código)"):
			monthKey = k
		case strings.EqualFold(label, "Valor"):
			valueKey = k
		}
	}
	if monthKey == "" || valueKey == "" {
		labels := make([]string, 0, len(header))
		for _, k := range sortedKeys(header) {
			labels = append(labels, k+"="+strconv.Quote(header[k]))
		}
		return nil, fmt.Errorf("%s: header row (%s) has no %q and %q columns (labels: %s)", u, els[0].where(), "Mês (Código)", "Valor", strings.Join(labels, ", "))
	}
	for _, e := range els[1:] {
		line := e.n - 1 // data rows are numbered from 1, after the header
		var obj map[string]*string
		if err := json.Unmarshal(e.raw, &obj); err != nil {
			p.reject(line, "", fmt.Sprintf("%s: not an object of strings: %v", e.where(), err), string(e.raw))
			continue
		}
		code := obj[monthKey]
		if code == nil {
			p.reject(line, monthKey, fmt.Sprintf("%s: %s (Mês (Código)) is missing", e.where(), monthKey), string(e.raw))
			continue
		}
		d, err := time.Parse("200601", strings.TrimSpace(*code))
		if err != nil {
			p.reject(line, monthKey, fmt.Sprintf("%s: %s %q is not a yyyymm month code", e.where(), monthKey, *code), string(e.raw))
			continue
		}
		var value any
		if v := obj[valueKey]; v != nil && !sidraMissing[strings.TrimSpace(*v)] {
			f, err := strconv.ParseFloat(strings.TrimSpace(*v), 64)
			if err != nil {
				p.reject(line, valueKey, fmt.Sprintf("%s: %s %q is not a number", e.where(), valueKey, *v), string(e.raw))
				continue
			}
			value = f
		}
		p.rows = append(p.rows, row{line: line, date: d, values: []any{SourceSIDRA, s.key, d, strings.TrimSpace(*code), value}})
	}
	return p, nil
}

// ---- Open-Meteo -------------------------------------------------------

type openMeteoSource struct{ cfg OpenMeteoConfig }

// openMeteoHourly are the hourly variables requested and aggregated.
var openMeteoHourly = []string{"temperature_2m", "relative_humidity_2m", "precipitation", "wind_speed_10m"}

func (openMeteoSource) name() string  { return SourceOpenMeteo }
func (openMeteoSource) table() string { return "bronze.weather_daily" }
func (openMeteoSource) columns() []string {
	return []string{"city", "date", "latitude", "longitude", "timezone", "temp_min", "temp_max", "temp_mean",
		"precipitation_sum", "humidity_mean", "wind_max", "wind_mean", "hours"}
}
func (s openMeteoSource) list() []series {
	return seriesOf(s.cfg.Cities, func(c City) series { return series{key: c.Slug, name: c.Name, city: c} })
}
func (openMeteoSource) align(from, to time.Time) (time.Time, time.Time) { return from, to }

// url: {base}?latitude&longitude&start_date&end_date&hourly=...&timezone=<IANA>
// (start and end dates are local days of that time zone).
func (openMeteoSource) url(base string, s series, w window) string {
	q := url.Values{}
	q.Set("latitude", strconv.FormatFloat(s.city.Latitude, 'f', -1, 64))
	q.Set("longitude", strconv.FormatFloat(s.city.Longitude, 'f', -1, 64))
	q.Set("start_date", w.From.Format(time.DateOnly))
	q.Set("end_date", w.To.Format(time.DateOnly))
	q.Set("hourly", strings.Join(openMeteoHourly, ","))
	q.Set("timezone", s.city.Timezone)
	return base + "?" + q.Encode()
}

// parse aggregates {"hourly":{"time":[...],"temperature_2m":[...],...}} to
// days of the city's time zone. Times are wall-clock times of the
// response's "timezone" (the requested one when the API honoured it, GMT
// otherwise) and are converted to the city's zone before grouping. A day
// with fewer hours in the response than the local day has (a window edge
// after conversion) or without any temperature is rejected, not guessed.
func (openMeteoSource) parse(u string, s series, body []byte) (*parsed, error) {
	var r struct {
		Latitude  *float64                   `json:"latitude"`
		Longitude *float64                   `json:"longitude"`
		Timezone  string                     `json:"timezone"`
		Offset    int                        `json:"utc_offset_seconds"`
		Hourly    map[string]json.RawMessage `json:"hourly"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, jsonError(u, body, err)
	}
	if r.Hourly == nil {
		return nil, fmt.Errorf("%s: JSON has no \"hourly\" object: %s", u, snippet(body))
	}
	var times []string
	if err := json.Unmarshal(r.Hourly["time"], &times); err != nil || r.Hourly["time"] == nil {
		return nil, fmt.Errorf("%s: hourly.time is missing or not an array of strings", u)
	}
	vars := make([][]*float64, len(openMeteoHourly))
	for i, name := range openMeteoHourly {
		raw, ok := r.Hourly[name]
		if !ok {
			return nil, fmt.Errorf("%s: hourly.%s is missing (have %s)", u, name, strings.Join(sortedKeys(r.Hourly), ", "))
		}
		if err := json.Unmarshal(raw, &vars[i]); err != nil {
			return nil, fmt.Errorf("%s: hourly.%s is not an array of numbers: %v", u, name, err)
		}
		if len(vars[i]) != len(times) {
			return nil, fmt.Errorf("%s: hourly.%s has %d values for %d times (truncated response?)", u, name, len(vars[i]), len(times))
		}
	}
	cityLoc, err := time.LoadLocation(s.city.Timezone)
	if err != nil {
		return nil, fmt.Errorf("open_meteo %s: timezone %q: %w", s.key, s.city.Timezone, err)
	}
	respLoc := time.FixedZone(r.Timezone, r.Offset)
	switch r.Timezone {
	case "", "GMT", "UTC":
		respLoc = time.FixedZone("UTC", r.Offset)
	default:
		if l, err := time.LoadLocation(r.Timezone); err == nil {
			respLoc = l
		}
	}
	type agg struct {
		first                  int // index of the first hour, for ordering and error positions
		n, nt, nh, nw, np      int
		tmin, tmax, tsum       float64
		hsum, psum, wmax, wsum float64
	}
	days := map[time.Time]*agg{}
	for i, ts := range times {
		t, err := time.ParseInLocation("2006-01-02T15:04", ts, respLoc)
		if err != nil {
			return nil, fmt.Errorf("%s: hourly.time[%d] %q is not yyyy-mm-ddThh:mm", u, i, ts)
		}
		d := day(t.In(cityLoc))
		a := days[d]
		if a == nil {
			a = &agg{first: i, tmin: math.Inf(1), tmax: math.Inf(-1), wmax: math.Inf(-1)}
			days[d] = a
		}
		a.n++
		if v := vars[0][i]; v != nil {
			a.nt++
			a.tmin, a.tmax, a.tsum = math.Min(a.tmin, *v), math.Max(a.tmax, *v), a.tsum+*v
		}
		if v := vars[1][i]; v != nil {
			a.nh++
			a.hsum += *v
		}
		if v := vars[2][i]; v != nil {
			a.np++
			a.psum += *v
		}
		if v := vars[3][i]; v != nil {
			a.nw++
			a.wmax, a.wsum = math.Max(a.wmax, *v), a.wsum+*v
		}
	}
	order := make([]time.Time, 0, len(days))
	for d := range days {
		order = append(order, d)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Before(order[j]) })
	p := &parsed{rows: make([]row, 0, len(order))}
	var lat, lon any
	if r.Latitude != nil {
		lat = *r.Latitude
	}
	if r.Longitude != nil {
		lon = *r.Longitude
	}
	for i, d := range order {
		a := days[d]
		line := int64(i + 1)
		start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, cityLoc)
		want := int(start.AddDate(0, 0, 1).Sub(start).Hours())
		raw := fmt.Sprintf(`{"city":%q,"date":%q,"hours_in_response":%d,"hours_in_local_day":%d,"hours_with_temperature":%d,"first_time":%q}`,
			s.key, d.Format(time.DateOnly), a.n, want, a.nt, times[a.first])
		if a.n < want {
			p.reject(line, "time", fmt.Sprintf("day %s (%s): only %d of its %d local hours are in the response (window edge): not aggregated", d.Format(time.DateOnly), s.city.Timezone, a.n, want), raw)
			continue
		}
		if a.nt == 0 {
			p.reject(line, "temperature_2m", fmt.Sprintf("day %s: no hourly temperature (the archive has not published this day yet?)", d.Format(time.DateOnly)), raw)
			continue
		}
		vals := []any{s.key, d, lat, lon, s.city.Timezone, a.tmin, a.tmax, a.tsum / float64(a.nt), nil, nil, nil, nil, int32(a.nt)}
		if a.np > 0 {
			vals[8] = a.psum
		}
		if a.nh > 0 {
			vals[9] = a.hsum / float64(a.nh)
		}
		if a.nw > 0 {
			vals[10], vals[11] = a.wmax, a.wsum/float64(a.nw)
		}
		p.rows = append(p.rows, row{line: line, date: d, values: vals})
	}
	return p, nil
}
