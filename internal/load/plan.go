package load

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/novacorrente/novawh/internal/pgcopy"

	"github.com/novacorrente/novawh/internal/registry"
)

type kind int

const (
	kString kind = iota
	kFloat
	kInt
	kInt32
	kDate
	kTimestamp
	kTimestampLocal
	kBool
)

func kindOf(t string) (kind, bool) {
	switch t {
	case "string":
		return kString, true
	case "float":
		return kFloat, true
	case "int":
		return kInt, true
	case "int32":
		return kInt32, true
	case "date":
		return kDate, true
	case "timestamp":
		return kTimestamp, true
	case "timestamp_local":
		return kTimestampLocal, true
	case "bool":
		return kBool, true
	}
	return 0, false
}

// target is one column written by COPY.
type target struct {
	name     string
	kind     kind
	notNull  bool
	min, max *float64
	field    int // index in the record, -1 when not from the file
	// year/month composition (field indexes), -1 when unused
	yearField, monthField int
	// fallback value (file name group, ML metadata, as-of date): raw text
	// used for a missing column, or for an empty cell of an ML metadata
	// column.
	fallback    []byte
	hasFallback bool
	header      string // the file's header name (for messages)
	// last timestamp parsed (raw text and value): a cache
	lastTS     []byte
	lastMicros int64
}

// plan is how one input's records become binary COPY rows of one table.
type plan struct {
	table   *registry.Table
	targets []target
	columns []string // COPY column list (targets then _load_id, _line)
	nfields int      // fields per record (from the header)
	ignored []string // file columns not mapped to the table
	dateIdx int      // index in targets of the business date, -1 none
	loadID  int64
	// loadIDDefault: the COPY targets fill _load_id themselves (parallel
	// stream stages), so rows do not carry it.
	loadIDDefault bool
	file          string // the input's name, format csv or parquet (messages)
	format        string
	nulls         map[string]bool
	num           numParser
	dates         *dateParser
	tsLayout      []string
}

// Meta are the ML metadata and as-of values supplied at load time.
type resolvedMeta struct {
	values map[string]string // model_version, generated_at, source, dataset_id
	asOf   string            // yyyy-mm-dd or ""
}

// buildPlan maps a file's header to the target table. Every problem is a
// file-level error naming the columns.
func buildPlan(src *Source, tbl *registry.Table, header []string, baseName string, meta resolvedMeta, mlRule bool) (*plan, error) {
	p := &plan{table: tbl, nfields: len(header), dateIdx: -1, nulls: map[string]bool{"": true}}
	for _, v := range src.Dialect.NullValues {
		p.nulls[v] = true
	}
	p.num.decimal = src.Dialect.Decimal[0]
	if src.Dialect.Thousands != "" {
		p.num.thousands = src.Dialect.Thousands[0]
	}
	p.dates = newDateParser(src.Dialect.DateLayouts)
	p.tsLayout = src.Dialect.TimestampLayouts

	// Header checks: empty names are ignored, duplicates fail the file.
	pos := map[string]int{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, &FileError{Line: 1, Column: int64(i + 1), Msg: fmt.Sprintf("header %d is not valid UTF-8: set dialect.encoding (latin-1, windows-1252) for this source", i+1)}
		}
		if strings.IndexByte(h, 0) >= 0 {
			return nil, &FileError{Line: 1, Column: int64(i + 1), Msg: "NUL byte in the header: not a text CSV file (a binary file?)"}
		}
		n := normHeader(h)
		if n == "" {
			continue
		}
		if j, dup := pos[n]; dup {
			return nil, &FileError{Line: 1, Column: int64(i + 1), Msg: fmt.Sprintf("duplicate header %q (also column %d)", h, j+1)}
		}
		pos[n] = i
	}
	// Accepted names are in priority order: the first present wins.
	find := func(names []string) int {
		for _, name := range names {
			if i, ok := pos[normHeader(name)]; ok {
				return i
			}
		}
		return -1
	}

	var groups map[string]string
	if src.filenameRe != nil {
		stem := strings.TrimSuffix(baseName, filepath.Ext(baseName))
		if m := src.filenameRe.FindStringSubmatch(stem); m != nil {
			groups = map[string]string{}
			for i, g := range src.filenameRe.SubexpNames() {
				if g != "" && i < len(m) {
					groups[g] = m[i]
				}
			}
		}
	}

	used := map[int]string{}
	var missing, missingML []string
	for _, c := range tbl.Columns {
		if c.Name == "_load_id" || c.Name == "_line" {
			continue
		}
		spec := src.Columns[c.Name]
		isML := mlRule && c.MLMetadata
		if spec == nil && !isML {
			if !c.Nullable {
				missing = append(missing, c.Name)
			}
			continue
		}
		if spec == nil {
			spec = &ColumnSpec{Headers: []string{c.Name}}
		}
		k, ok := kindOf(c.Type)
		if !ok {
			return nil, fmt.Errorf("source %s: column %s has registry type %s, which the loader cannot write", src.Name, c.Name, c.Type)
		}
		t := target{name: c.Name, kind: k, notNull: !c.Nullable || spec.Required || isML, min: c.Min, max: c.Max,
			field: -1, yearField: -1, monthField: -1}
		if len(spec.Year) > 0 {
			t.yearField, t.monthField = find(spec.Year), find(spec.Month)
			if (t.yearField < 0) != (t.monthField < 0) {
				return nil, &FileError{Line: 1, Msg: fmt.Sprintf("column %s needs both a year column (%s) and a month column (%s)", c.Name, strings.Join(spec.Year, "|"), strings.Join(spec.Month, "|"))}
			}
			if t.yearField >= 0 {
				used[t.yearField], used[t.monthField] = c.Name, c.Name
				t.header = header[t.yearField] + "+" + header[t.monthField]
			}
		}
		if len(spec.Headers) > 0 && t.yearField < 0 {
			t.field = find(spec.Headers)
			if t.field >= 0 {
				used[t.field] = c.Name
				t.header = header[t.field]
			}
		}
		if v, ok := groups[c.Name]; ok && v != "" {
			t.fallback, t.hasFallback = []byte(v), true
		}
		if isML {
			if v := meta.values[c.Name]; v != "" {
				t.fallback, t.hasFallback = []byte(v), true
			}
		}
		if spec.Fallback == "as_of" && !t.hasFallback && meta.asOf != "" {
			t.fallback, t.hasFallback = []byte(meta.asOf), true
		}
		fromFile := t.field >= 0 || t.yearField >= 0
		if !fromFile && !t.hasFallback {
			switch {
			case isML:
				missingML = append(missingML, c.Name)
			case t.notNull:
				missing = append(missing, c.Name+" (headers: "+strings.Join(append(spec.Headers, spec.Year...), ", ")+")")
			}
			continue
		}
		if c.Name == src.BusinessDate || (src.BusinessDate == "" && c.Name == "date" && k == kDate) {
			p.dateIdx = len(p.targets)
		}
		p.targets = append(p.targets, t)
	}
	if len(missingML) > 0 {
		return nil, &FileError{Msg: fmt.Sprintf("missing ML metadata columns %s: every ML result row needs model_version, generated_at, source and dataset_id (add the columns, pass --model-version/--generated-at/--ml-source/--dataset-id, or write a sidecar %s.meta.json)",
			strings.Join(missingML, ", "), baseName)}
	}
	if len(missing) > 0 {
		return nil, &FileError{Line: 1, Msg: "missing required columns: " + strings.Join(missing, "; ")}
	}
	for i, h := range header {
		if _, ok := used[i]; !ok && normHeader(h) != "" {
			p.ignored = append(p.ignored, h)
		}
	}
	for _, t := range p.targets {
		p.columns = append(p.columns, t.name)
	}
	p.columns = append(p.columns, "_load_id", "_line")
	return p, nil
}

// dropLoadIDColumn leaves _load_id out of the COPY: the targets (stages)
// default it to the load's id.
func (p *plan) dropLoadIDColumn() {
	p.loadIDDefault = true
	cols := p.columns[:0]
	for _, c := range p.columns {
		if c != "_load_id" {
			cols = append(cols, c)
		}
	}
	p.columns = cols
}

// rowError is a row-level validation failure.
type rowError struct {
	column string
	reason string
	fatal  bool // the whole file fails (bad encoding)
}

// encodeRow appends rec as one binary COPY tuple to dst. On a row-level
// problem it returns dst unchanged and the error.
func (p *plan) encodeRow(dst []byte, rec *record, minDate, maxDate *int32, hasDate *bool) ([]byte, *rowError) {
	if rec.problem != "" {
		return dst, &rowError{column: rec.problemColumn, reason: rec.problem}
	}
	if len(rec.fields) != p.nfields {
		return dst, &rowError{reason: fmt.Sprintf("ragged row: %d fields, the header has %d", len(rec.fields), p.nfields)}
	}
	start := len(dst)
	dst = pgcopy.AppendTuple(dst, len(p.columns))
	var rowDate int32
	rowHasDate := false
	for i := range p.targets {
		t := &p.targets[i]
		var v []byte
		var err *rowError
		if t.yearField >= 0 {
			var d int32
			var ok bool
			d, ok, err = p.yearMonth(t, rec)
			if err != nil {
				return dst[:start], err
			}
			if !ok {
				if t.notNull {
					return dst[:start], &rowError{column: t.name, reason: fmt.Sprintf("column %s: NULL not allowed (year/month empty)", t.name)}
				}
				dst = pgcopy.AppendNull(dst)
				continue
			}
			dst = pgcopy.AppendInt32(dst, d)
			if i == p.dateIdx {
				rowDate, rowHasDate = d, true
			}
			continue
		}
		if t.field >= 0 {
			v = rec.fields[t.field]
		}
		null := p.isNull(v)
		if null && t.hasFallback {
			v, null = t.fallback, p.isNull(t.fallback)
		}
		if null {
			if t.notNull {
				return dst[:start], &rowError{column: t.name, reason: fmt.Sprintf("column %s: NULL not allowed (empty cell)", t.name)}
			}
			dst = pgcopy.AppendNull(dst)
			continue
		}
		if !rec.noNUL && bytes.IndexByte(v, 0) >= 0 {
			return dst[:start], &rowError{column: t.name, reason: fmt.Sprintf("column %s: NUL byte in the value", t.name)}
		}
		switch t.kind {
		case kString:
			if !utf8.Valid(v) {
				return dst[:start], &rowError{column: t.name, fatal: true, reason: fmt.Sprintf("column %s (%s): invalid UTF-8: the file is not UTF-8, set dialect.encoding (latin-1, windows-1252) for this source", t.name, t.header)}
			}
			dst = pgcopy.AppendBytes(dst, v)
		case kFloat:
			f, perr := p.num.float(v)
			if perr != nil {
				return dst[:start], &rowError{column: t.name, reason: notNumber(t, v, perr)}
			}
			if err = checkRange(t, f); err != nil {
				return dst[:start], err
			}
			dst = pgcopy.AppendInt64(dst, int64(math.Float64bits(f)))
		case kInt, kInt32:
			n, perr := p.num.int(v)
			if perr != nil {
				return dst[:start], &rowError{column: t.name, reason: notNumber(t, v, perr)}
			}
			if t.kind == kInt32 && (n > math.MaxInt32 || n < math.MinInt32) {
				return dst[:start], &rowError{column: t.name, reason: fmt.Sprintf("column %s: %d is out of range for a 32-bit integer", t.name, n)}
			}
			if err = checkRange(t, float64(n)); err != nil {
				return dst[:start], err
			}
			if t.kind == kInt32 {
				dst = pgcopy.AppendInt32(dst, int32(n))
			} else {
				dst = pgcopy.AppendInt64(dst, n)
			}
		case kDate:
			d, perr := p.dates.parse(v)
			if perr != nil {
				return dst[:start], &rowError{column: t.name, reason: fmt.Sprintf("column %s: bad date %q (layouts %s)", t.name, clip(v), strings.Join(p.dates.layouts, ", "))}
			}
			dst = pgcopy.AppendInt32(dst, d)
			if i == p.dateIdx {
				rowDate, rowHasDate = d, true
			}
		case kTimestamp, kTimestampLocal:
			if t.lastTS != nil && bytes.Equal(v, t.lastTS) {
				// ML metadata repeats one timestamp on every row.
				dst = pgcopy.AppendInt64(dst, t.lastMicros)
				continue
			}
			ts, perr := parseTimestamp(p.tsLayout, v)
			if perr != nil {
				return dst[:start], &rowError{column: t.name, reason: fmt.Sprintf("column %s: bad timestamp %q (want RFC 3339, e.g. 2025-11-01T06:00:00Z)", t.name, clip(v))}
			}
			var us int64
			if t.kind == kTimestamp {
				us, perr = pgMicros(ts)
			} else {
				us, perr = pgWallMicros(ts)
			}
			if perr != nil {
				return dst[:start], &rowError{column: t.name, reason: fmt.Sprintf("column %s: timestamp %q %v", t.name, clip(v), perr)}
			}
			t.lastMicros = us
			t.lastTS = append(t.lastTS[:0], v...)
			dst = pgcopy.AppendInt64(dst, t.lastMicros)
		case kBool:
			b, ok := parseBool(v)
			if !ok {
				return dst[:start], &rowError{column: t.name, reason: fmt.Sprintf("column %s: not a boolean: %q", t.name, clip(v))}
			}
			dst = append(dst, 0, 0, 0, 1, b)
		}
	}
	if !p.loadIDDefault {
		dst = pgcopy.AppendInt64(dst, p.loadID)
	}
	dst = pgcopy.AppendInt64(dst, rec.line)
	if rowHasDate {
		if !*hasDate || rowDate < *minDate {
			*minDate = rowDate
		}
		if !*hasDate || rowDate > *maxDate {
			*maxDate = rowDate
		}
		*hasDate = true
	}
	return dst, nil
}

// notNumber is the reason for a value that is not a number of its kind.
func notNumber(t *target, v []byte, err error) string {
	what := "a number"
	if t.kind == kInt || t.kind == kInt32 {
		what = "an integer"
	}
	if errors.Is(err, errNotNumber) {
		return fmt.Sprintf("column %s: not %s: %q", t.name, what, clip(v))
	}
	return fmt.Sprintf("column %s: not %s: %q (%v)", t.name, what, clip(v), err)
}

func (p *plan) isNull(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	if len(p.nulls) == 1 {
		return false
	}
	return p.nulls[string(v)]
}

func (p *plan) yearMonth(t *target, rec *record) (int32, bool, *rowError) {
	yv, mv := bytes.TrimSpace(rec.fields[t.yearField]), bytes.TrimSpace(rec.fields[t.monthField])
	if len(yv) == 0 && len(mv) == 0 {
		return 0, false, nil
	}
	y, ok1 := atoiFixed(yv)
	m, ok2 := atoiFixed(mv)
	if !ok1 || !ok2 || len(yv) == 0 || len(mv) == 0 || y < 1900 || y > 2200 || m < 1 || m > 12 {
		return 0, false, &rowError{column: t.name, reason: fmt.Sprintf("column %s: bad year/month %q/%q", t.name, clip(yv), clip(mv))}
	}
	return civilDays(y, m, 1), true, nil
}

func checkRange(t *target, f float64) *rowError {
	if t.min != nil && f < *t.min {
		return &rowError{column: t.name, reason: fmt.Sprintf("column %s: %s violates %s >= %s", t.name, fmtFloat(f), t.name, fmtFloat(*t.min))}
	}
	if t.max != nil && f > *t.max {
		return &rowError{column: t.name, reason: fmt.Sprintf("column %s: %s violates %s <= %s", t.name, fmtFloat(f), t.name, fmtFloat(*t.max))}
	}
	return nil
}

func parseBool(v []byte) (byte, bool) {
	switch strings.ToLower(string(bytes.TrimSpace(v))) {
	case "true", "t", "1", "yes", "y", "sim", "s":
		return 1, true
	case "false", "f", "0", "no", "n", "nao", "não":
		return 0, true
	}
	return 0, false
}

// clip shortens a value quoted in an error message.
func clip(v []byte) string {
	const n = 60
	if len(v) <= n {
		return string(v)
	}
	return string(v[:n]) + "…"
}
