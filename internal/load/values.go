package load

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// pgEpoch is PostgreSQL's binary date/timestamp epoch.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const pgEpochUnixDays = 10957 // days from 1970-01-01 to 2000-01-01

// normHeader folds a header name for matching: accents removed, lower
// case, inner whitespace collapsed, outer whitespace and a BOM trimmed.
func normHeader(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	out = strings.TrimPrefix(out, "\uFEFF")
	return strings.ToLower(strings.Join(strings.Fields(out), " "))
}

// numParser parses numbers in one dialect without allocating.
type numParser struct {
	decimal   byte
	thousands byte // 0: none
	scratch   []byte
}

var errNotNumber = errors.New("not a number")

// clean rewrites a number of the dialect in Go syntax: thousands
// separators removed, the decimal separator made a dot. A thousands
// separator must separate groups of exactly three digits in the integer
// part (1.234.567,89); anything else, or a dot that is neither separator
// of the dialect, makes it nil with the reason.
func (p *numParser) clean(b []byte) ([]byte, string) {
	b = bytes.TrimSpace(b)
	if p.decimal == '.' && p.thousands == 0 {
		return b, ""
	}
	p.scratch = p.scratch[:0]
	lead, group := 0, -1 // digits before the first separator; digits since the last one (-1: none yet)
	leadZero, intPart := false, true
	badGroup := func() ([]byte, string) {
		return nil, fmt.Sprintf("thousands separator %q must separate groups of three digits", p.thousands)
	}
	for _, c := range b {
		switch {
		case p.thousands != 0 && c == p.thousands:
			firstGroupOK := group < 0 && lead >= 1 && lead <= 3 && !leadZero
			if !intPart || !(firstGroupOK || group == 3) {
				return badGroup()
			}
			group = 0
		case c == p.decimal:
			if group >= 0 && group != 3 {
				return badGroup()
			}
			intPart = false
			p.scratch = append(p.scratch, '.')
		case c == '.':
			return nil, fmt.Sprintf("a dot is not the decimal separator %q of this source, nor its thousands separator", p.decimal)
		case c >= '0' && c <= '9':
			if intPart {
				if group >= 0 {
					group++
				} else {
					if lead == 0 && c == '0' {
						leadZero = true
					}
					lead++
				}
			}
			p.scratch = append(p.scratch, c)
		default:
			if c == 'e' || c == 'E' {
				if group >= 0 && group != 3 {
					return badGroup()
				}
				intPart = false
			}
			p.scratch = append(p.scratch, c)
		}
	}
	if intPart && group >= 0 && group != 3 {
		return badGroup()
	}
	return p.scratch, ""
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat parses [-+]digits[.digits] with at most 15 significant digits
// exactly (Clinger's fast path: an exact integer divided by an exact power
// of ten is correctly rounded). ok is false for anything else.
func fastFloat(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	var m uint64
	nd, digits, frac := 0, 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			nd++
			if digits > 0 || c != '0' {
				digits++
			}
			m = m*10 + uint64(c-'0')
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false
		}
	}
	if nd == 0 || digits > 15 || frac > 22 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

func (p *numParser) float(b []byte) (float64, error) {
	c, why := p.clean(b)
	if why != "" {
		return 0, errors.New(why)
	}
	if len(c) == 0 {
		return 0, errNotNumber
	}
	if f, ok := fastFloat(c); ok {
		return f, nil
	}
	f, err := strconv.ParseFloat(string(c), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errNotNumber
	}
	return f, nil
}

func (p *numParser) int(b []byte) (int64, error) {
	c, why := p.clean(b)
	if why != "" {
		return 0, errors.New(why)
	}
	if len(c) == 0 {
		return 0, errNotNumber
	}
	n, err := strconv.ParseInt(string(c), 10, 64)
	if err == nil {
		return n, nil
	}
	// Exports often write integers as 12.0.
	f, ferr := strconv.ParseFloat(string(c), 64)
	if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, errNotNumber
	}
	return int64(f), nil
}

// dateParser parses dates to days since 2000-01-01.
type dateParser struct {
	layouts []string
	iso     bool // layouts include 2006-01-02: use the fast path
}

func newDateParser(layouts []string) *dateParser {
	d := &dateParser{layouts: layouts}
	for _, l := range layouts {
		if l == "2006-01-02" {
			d.iso = true
		}
	}
	return d
}

var errBadDate = errors.New("bad date")

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// daysIn is the number of days of a month (1-12) of the proleptic
// Gregorian calendar.
func daysIn(year, month int) int {
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return monthDays[month]
}

func atoiFixed(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// civilDays is the number of days from 2000-01-01 to y-m-d.
func civilDays(y, m, d int) int32 {
	// Howard Hinnant's days_from_civil.
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468 - pgEpochUnixDays)
}

func (d *dateParser) parse(b []byte) (int32, error) {
	b = bytes.TrimSpace(b)
	if d.iso && len(b) == 10 && b[4] == '-' && b[7] == '-' {
		y, ok1 := atoiFixed(b[0:4])
		m, ok2 := atoiFixed(b[5:7])
		dd, ok3 := atoiFixed(b[8:10])
		if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || dd < 1 || dd > daysIn(y, m) {
			return 0, errBadDate
		}
		return civilDays(y, m, dd), nil
	}
	s := string(b)
	for _, l := range d.layouts {
		if t, err := time.Parse(l, s); err == nil {
			return civilDays(t.Year(), int(t.Month()), t.Day()), nil
		}
	}
	// A timestamp in a date column (Parquet timestamps, ISO exports): its date.
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(l, s); err == nil {
			return civilDays(t.Year(), int(t.Month()), t.Day()), nil
		}
	}
	return 0, errBadDate
}

var builtinTimestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// parseTimestamp reads a timestamp; a value without a zone is UTC.
func parseTimestamp(layouts []string, b []byte) (time.Time, error) {
	s := strings.TrimSpace(string(b))
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	for _, l := range builtinTimestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad timestamp")
}

// PostgreSQL's timestamp range, in microseconds since 2000-01-01:
// 4713-11-24 BC (its first Julian day) to the end of 294276 AD.
const (
	pgMinMicros = -211813488000000000
	pgMaxMicros = 9223371331200000000 - 1
	pgEpochUnix = 946684800 // 2000-01-01T00:00:00Z in Unix seconds
)

var errTimestampPrecision = errors.New("has a fraction of a microsecond: PostgreSQL keeps microseconds")

// pgMicros is microseconds since 2000-01-01 UTC, exactly: an instant with a
// fraction of a microsecond, or outside PostgreSQL's range, is an error
// (never rounded or clamped).
func pgMicros(t time.Time) (int64, error) {
	if t.Nanosecond()%1000 != 0 {
		return 0, errTimestampPrecision
	}
	s := t.Unix() - pgEpochUnix
	// PostgreSQL's range is far inside what int64 microseconds can hold, so
	// a value outside it is refused before the multiplication can overflow.
	if s < pgMinMicros/1_000_000-1 || s > pgMaxMicros/1_000_000+1 {
		return 0, errTimestampRange
	}
	m := s*1_000_000 + int64(t.Nanosecond()/1000)
	if m < pgMinMicros || m > pgMaxMicros {
		return 0, errTimestampRange
	}
	return m, nil
}

var errTimestampRange = errors.New("is outside PostgreSQL's timestamp range (4713 BC to 294276 AD)")

// pgWallMicros is microseconds of the wall clock since 2000-01-01 (for
// timestamp without time zone), with pgMicros' checks.
func pgWallMicros(t time.Time) (int64, error) {
	w := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	return pgMicros(w)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// daysToTime converts days since 2000-01-01 back to a date.
func daysToTime(d int32) time.Time { return pgEpoch.AddDate(0, 0, int(d)) }
