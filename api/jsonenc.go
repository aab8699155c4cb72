package api

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The daily series endpoints (timeseries, demand) answer up to a year of
// points per request and are the API's hottest paths: their bodies are
// appended by hand instead of through encoding/json's reflection, which
// cost about a tenth of a request's CPU and most of its garbage. The
// output is byte for byte what json.Marshal writes for the same value
// (TestAppendJSONMatchesEncodingJSON checks it on generated values), so
// the encoding/json struct tags stay the documentation of the keys.

// jsonAppender is a response value that appends its own JSON encoding.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// appendJSONString appends s as json.Marshal encodes a string: a plain
// ASCII string without characters to escape as it is, any other through
// encoding/json itself (HTML escaping, invalid UTF-8, U+2028...).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONOptString appends a *string as json.Marshal does (null for nil).
func appendJSONOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONString(b, *s)
}

// appendJSONFloat appends f as json.Marshal encodes a float64 (the caller
// has replaced NaN and infinities, which JSON cannot hold, by null or 0).
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	// encoding/json's floatEncoder: ES6 number formatting.
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONOptFloat appends a *float64 (null for nil).
func appendJSONOptFloat(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	return appendJSONFloat(b, *f)
}

// appendDigits appends v (0 <= v) zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:width]...)
}

// appendDate appends t as "2006-01-02" (what t.Format(dateLayout) gives
// for the years 0..9999 of the warehouse's dates; others go through Format).
func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, dateLayout)
	}
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(m), 2)
	b = append(b, '-')
	return appendDigits(b, d, 2)
}

// appendRFC3339UTC appends t in UTC as "2006-01-02T15:04:05Z" (fmtTime's
// layout: time.RFC3339 of a UTC time).
func appendRFC3339UTC(b []byte, t time.Time) []byte {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return t.AppendFormat(b, time.RFC3339)
	}
	b = appendDate(b, t)
	h, mi, s := t.Clock()
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	return append(b, 'Z')
}

// appendJSONArray appends xs as encoding/json does (nil: null), each
// element by elem.
func appendJSONArray[T any](b []byte, xs []T, elem func([]byte, T) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, x)
	}
	return append(b, ']')
}

func (p periodJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"start":`...)
	b = appendJSONString(b, p.Start)
	b = append(b, `,"end":`...)
	b = appendJSONString(b, p.End)
	return append(b, '}')
}

func (r demandResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"item_id":`...)
	b = appendJSONString(b, r.ItemID)
	b = append(b, `,"site_id":`...)
	b = appendJSONString(b, r.SiteID)
	b = append(b, `,"unit":`...)
	b = appendJSONOptString(b, r.Unit)
	b = append(b, `,"units":`...)
	b = appendJSONArray(b, r.Units, appendJSONString)
	b = append(b, `,"period":`...)
	b = r.Period.appendJSON(b)
	b = append(b, `,"points":`...)
	b = appendJSONArray(b, r.Points, func(b []byte, p demandPointJSON) []byte {
		b = append(b, `{"date":`...)
		b = appendJSONString(b, p.Date)
		b = append(b, `,"quantity":`...)
		b = appendJSONFloat(b, p.Quantity)
		b = append(b, `,"lines":`...)
		b = strconv.AppendInt(b, int64(p.Lines), 10)
		b = append(b, `,"total_7d":`...)
		b = appendJSONFloat(b, p.Total7d)
		b = append(b, `,"total_30d":`...)
		b = appendJSONFloat(b, p.Total30d)
		return append(b, '}')
	})
	return append(b, '}')
}

func (r timeseriesResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"item_id":`...)
	b = appendJSONString(b, r.ItemID)
	b = append(b, `,"period":`...)
	b = r.Period.appendJSON(b)
	b = append(b, `,"timeseries":`...)
	b = appendJSONArray(b, r.Timeseries, func(b []byte, p pointJSON) []byte {
		b = append(b, `{"date":`...)
		b = appendJSONString(b, p.Date)
		b = append(b, `,"forecast":`...)
		b = appendJSONOptFloat(b, p.Forecast)
		b = append(b, `,"actual":`...)
		b = appendJSONOptFloat(b, p.Actual)
		b = append(b, `,"lower":`...)
		b = appendJSONOptFloat(b, p.Lower)
		b = append(b, `,"upper":`...)
		b = appendJSONOptFloat(b, p.Upper)
		b = append(b, `,"mape":`...)
		b = appendJSONOptFloat(b, p.Mape)
		b = append(b, `,"source":`...)
		b = appendJSONString(b, p.Source)
		b = append(b, `,"model_version":`...)
		b = appendJSONString(b, p.ModelVersion)
		b = append(b, `,"dataset_id":`...)
		b = appendJSONString(b, p.DatasetID)
		b = append(b, `,"generated_at":`...)
		b = appendJSONString(b, p.GeneratedAt)
		return append(b, '}')
	})
	b = append(b, `,"metadata":{"model_version":`...)
	b = appendJSONOptString(b, r.Metadata.ModelVersion)
	b = append(b, `,"dataset_id":`...)
	b = appendJSONOptString(b, r.Metadata.DatasetID)
	b = append(b, `,"generated_at":`...)
	b = appendJSONOptString(b, r.Metadata.GeneratedAt)
	return append(b, "}}"...)
}
