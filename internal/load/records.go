package load

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/novacorrente/novawh/internal/ledger"
)

// Records is an input whose rows are already split into named values: one
// window of an HTTP API (internal/pull). Its rows take the one validation
// path into bronze that files take (types, NOT NULL and ranges of the
// table's registry entry, the same encoder, rejects and ledger protocol).
type Records struct {
	Source  string // meta.loads.source
	Table   string // schema.table, in the registry
	Name    string // meta.loads.file_name: the URL of the response
	SHA256  string // of the response body
	Bytes   int64
	Columns []string // bronze columns, in the order of each row's values
	Rows    []RecordRow
	// SkipReason explains a skip: an earlier load of the same name and
	// content (the same URL answered the same bytes).
	SkipReason func(earlier int64) string
}

// RecordRow is one row: its values (nil is NULL; string, float64, int64,
// int32, bool, or time.Time written as the column's type: its date for a
// date, its wall clock for a timestamp without time zone), or the reason
// it was refused while the response was parsed.
type RecordRow struct {
	Line          int64
	Values        []any
	Problem       string // a row refused before validation
	ProblemColumn string
	Raw           string // the row as received, for meta.rejected_rows (problem rows)
}

// LoadRecords loads one Records input in one transaction (as LoadReader
// does a stream). The error is non-nil when the input failed.
func (l *Loader) LoadRecords(ctx context.Context, rs Records, opts Options) (Result, error) {
	src := &Source{Name: rs.Source, Table: rs.Table, Columns: map[string]*ColumnSpec{}}
	for _, c := range rs.Columns {
		src.Columns[c] = &ColumnSpec{Headers: []string{c}}
	}
	failed := func(err error) (Result, error) {
		return Result{File: rs.Name, Source: rs.Source, Status: ledger.StatusFailed, Error: err.Error()}, err
	}
	if err := src.normalize(); err != nil {
		return failed(fmt.Errorf("records of %s: %w", rs.Source, err))
	}
	tbl, ml, err := l.checkSource(src)
	if err != nil {
		return failed(err)
	}
	if err := checkOptions(opts); err != nil {
		return failed(err)
	}
	in := &input{name: rs.Name, base: baseOf(rs.Name), size: rs.Bytes, sha: rs.SHA256, format: "records",
		sameNameOnly: true, skipReason: rs.SkipReason, records: rs.Rows, columns: rs.Columns}
	for _, c := range rs.Columns {
		col, _ := tbl.Column(c)
		k, _ := kindOf(col.Type)
		in.kinds = append(in.kinds, k)
	}
	res := l.runInput(ctx, src, tbl, ml, in, opts)
	return res, resultErr(res)
}

// recordsReader renders RecordRows as text records for the row encoder.
type recordsReader struct {
	rows   []RecordRow
	cols   []string
	kinds  []kind
	i      int
	buf    []byte
	ends   []int
	fields [][]byte
	nulls  []bool
	rec    record
}

func newRecordsReader(rows []RecordRow, cols []string, kinds []kind) *recordsReader {
	return &recordsReader{rows: rows, cols: cols, kinds: kinds}
}

func (r *recordsReader) lines() int64 { return -1 }

func (r *recordsReader) read() (*record, error) {
	if r.i >= len(r.rows) {
		return nil, io.EOF
	}
	row := r.rows[r.i]
	r.i++
	if row.Problem != "" {
		r.rec = record{line: row.Line, raw: []byte(row.Raw), problem: row.Problem, problemColumn: row.ProblemColumn}
		return &r.rec, nil
	}
	if len(row.Values) != len(r.cols) {
		r.rec = record{line: row.Line, raw: []byte(fmt.Sprint(row.Values)),
			problem: fmt.Sprintf("%d values for %d columns", len(row.Values), len(r.cols))}
		return &r.rec, nil
	}
	r.buf, r.ends, r.fields, r.nulls = r.buf[:0], r.ends[:0], r.fields[:0], r.nulls[:0]
	r.rec = record{line: row.Line, names: r.cols}
	for i, v := range row.Values {
		var problem string
		r.buf, problem = appendValue(r.buf, v, r.kinds[i])
		if problem != "" && r.rec.problem == "" {
			r.rec.problem, r.rec.problemColumn = fmt.Sprintf("column %s: %s", r.cols[i], problem), r.cols[i]
		}
		r.ends = append(r.ends, len(r.buf))
		r.nulls = append(r.nulls, v == nil)
	}
	r.fields = splitEnds(r.fields, r.buf, r.ends)
	r.rec.fields, r.rec.nulls = r.fields, r.nulls
	return &r.rec, nil
}

// appendValue writes a Go value as the text the row encoder reads back
// exactly (floats in their shortest exact form).
func appendValue(dst []byte, v any, k kind) ([]byte, string) {
	switch x := v.(type) {
	case nil:
		return dst, ""
	case string:
		return append(dst, x...), ""
	case float64:
		return strconv.AppendFloat(dst, x, 'g', -1, 64), ""
	case int64:
		return strconv.AppendInt(dst, x, 10), ""
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), ""
	case int:
		return strconv.AppendInt(dst, int64(x), 10), ""
	case bool:
		return strconv.AppendBool(dst, x), ""
	case time.Time:
		switch k {
		case kDate:
			return x.AppendFormat(dst, time.DateOnly), ""
		case kTimestampLocal:
			return x.AppendFormat(dst, "2006-01-02T15:04:05.999999999"), ""
		}
		return x.AppendFormat(dst, time.RFC3339Nano), ""
	}
	return dst, fmt.Sprintf("a value of type %T cannot be loaded", v)
}
