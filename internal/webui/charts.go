package webui

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// chart is an SVG chart drawn on the server: days on x, values on y from 0.
type chart struct {
	ID, Title                string
	W, H                     int
	Left, Right, Top, Bottom float64
	XFirst, XLast, YMax      string
	Legend                   []legend
	Bands, Lines             []shape
	Dots                     []dot
	Bars                     []bar
	Labels                   []label // x-axis labels of categories (e.g. the inventory's sites)
	Table                    table
	start                    time.Time
	days                     int
	ymax                     float64
}

type legend struct{ Name, Color string }
type shape struct{ Class, Points string }
type dot struct {
	Class string
	X, Y  float64
}
type bar struct {
	Class      string
	X, Y, W, H float64
}
type label struct {
	X    float64
	Text string
}
type table struct {
	Head []string
	Rows [][]string
}

// newChart sizes a chart over start..end whose values reach ymax.
func newChart(id, title string, start, end time.Time, ymax float64) *chart {
	if ymax <= 0 || math.IsNaN(ymax) || math.IsInf(ymax, 0) {
		ymax = 1
	}
	ymax *= 1.05
	c := &chart{ID: id, Title: title, W: 900, H: 240, Left: 48, Right: 890, Top: 12, Bottom: 220,
		XFirst: start.Format(time.DateOnly), XLast: end.Format(time.DateOnly), YMax: fmtNum(ymax),
		start: start, days: max(int(end.Sub(start).Hours()/24), 1), ymax: ymax}
	return c
}

func (c *chart) x(d time.Time) float64 {
	return c.Left + (c.Right-c.Left)*d.Sub(c.start).Hours()/24/float64(c.days)
}

func (c *chart) y(v float64) float64 { return c.Bottom - (c.Bottom-c.Top)*v/c.ymax }

// xy is one value of a series (ok false: no value that day).
type xy struct {
	d  time.Time
	v  float64
	ok bool
}

// line adds a polyline through the values (gaps break it into pieces).
func (c *chart) line(class string, pts []xy) {
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			c.Lines = append(c.Lines, shape{Class: class, Points: strings.TrimSpace(b.String())})
			b.Reset()
		}
	}
	for _, p := range pts {
		if !p.ok {
			flush()
			continue
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", c.x(p.d), c.y(p.v))
	}
	flush()
}

func (c *chart) dots(class string, pts []xy) {
	for _, p := range pts {
		if p.ok {
			c.Dots = append(c.Dots, dot{Class: class, X: round1(c.x(p.d)), Y: round1(c.y(p.v))})
		}
	}
}

// band adds the polygon between lower and upper (days with both).
func (c *chart) band(class string, lower, upper []xy) {
	var top, bottom []string
	for i := range lower {
		if lower[i].ok && upper[i].ok {
			top = append(top, fmt.Sprintf("%.1f,%.1f", c.x(upper[i].d), c.y(upper[i].v)))
			bottom = append(bottom, fmt.Sprintf("%.1f,%.1f", c.x(lower[i].d), c.y(lower[i].v)))
		}
	}
	// The polygon goes along the top left to right and back along the
	// bottom right to left.
	slices.Reverse(bottom)
	if len(top) > 0 {
		c.Bands = append(c.Bands, shape{Class: class, Points: strings.Join(append(top, bottom...), " ")})
	}
}

// bars adds one bar per day.
func (c *chart) bars(class string, pts []xy) {
	w := math.Max((c.Right-c.Left)/float64(c.days+1)*0.8, 1)
	for _, p := range pts {
		if p.ok && p.v > 0 {
			y := c.y(p.v)
			c.Bars = append(c.Bars, bar{Class: class, X: round1(c.x(p.d) - w/2), Y: round1(y), W: round1(w), H: round1(c.Bottom - y)})
		}
	}
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func fmtNum(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

func fmtPtr(p *float64) string {
	if p == nil {
		return ""
	}
	return fmtNum(*p)
}

func maxOf(vs ...[]xy) float64 {
	m := 0.0
	for _, s := range vs {
		for _, p := range s {
			if p.ok && p.v > m && !math.IsInf(p.v, 0) {
				m = p.v
			}
		}
	}
	return m
}
