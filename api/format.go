package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

type periodJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

func pgDate(t time.Time) pgtype.Date { return pgtype.Date{Time: t, Valid: true} }

func fmtDate(d pgtype.Date) string {
	switch {
	case !d.Valid:
		return ""
	case d.InfinityModifier == pgtype.Infinity:
		return "infinity"
	case d.InfinityModifier == pgtype.NegativeInfinity:
		return "-infinity"
	}
	var buf [16]byte
	return string(appendDate(buf[:0], d.Time))
}

// optDate is a nullable date: nil when d is NULL.
func optDate(d pgtype.Date) *string {
	if !d.Valid {
		return nil
	}
	s := fmtDate(d)
	return &s
}

func fmtTime(t pgtype.Timestamptz) string {
	if !t.Valid {
		return ""
	}
	var buf [32]byte
	return string(appendRFC3339UTC(buf[:0], t.Time))
}

func period(start, end time.Time) periodJSON {
	var a, b [16]byte
	return periodJSON{Start: string(appendDate(a[:0], start)), End: string(appendDate(b[:0], end))}
}

// num drops NaN and infinities (JSON has no such numbers) to null.
func num(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func quoteList(xs []string, max int) string {
	var b strings.Builder
	for i, x := range xs {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(xs)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(x))
	}
	return b.String()
}
