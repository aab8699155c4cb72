package load

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// parquetReader turns a flat Parquet file into records of text fields, so
// that Parquet and CSV inputs share one validation path. Timestamps become
// RFC 3339 text (a timestamp not adjusted to UTC keeps its wall clock),
// dates 2006-01-02, float32 values their shortest decimal form.
type parquetReader struct {
	file   *parquet.File
	header []string
	render []func(parquet.Value, []byte) []byte
	groups []parquet.RowGroup
	gi     int
	rows   parquet.Rows
	batch  []parquet.Row
	bi, bn int
	rowNum int64
	buf    []byte
	ends   []int
	fields [][]byte
	nulls  []bool
	rec    record
}

func newParquetReader(r io.ReaderAt, size int64) (*parquetReader, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, &FileError{Msg: "not a readable Parquet file: " + err.Error()}
	}
	p := &parquetReader{file: f, groups: f.RowGroups(), batch: make([]parquet.Row, 256)}
	for _, col := range f.Schema().Fields() {
		if !col.Leaf() {
			return nil, &FileError{Msg: fmt.Sprintf("Parquet column %q is nested: only flat files are supported", col.Name())}
		}
		p.header = append(p.header, col.Name())
		p.render = append(p.render, renderer(col))
	}
	return p, nil
}

func renderer(col parquet.Field) func(parquet.Value, []byte) []byte {
	var lv format.LogicalTypeValue
	if lt := col.Type().LogicalType(); lt != nil {
		lv = lt.Value
	}
	switch v := lv.(type) {
	case *format.TimestampType:
		unit := time.Millisecond
		if u, ok := v.Unit.Value.(interface{ Duration() time.Duration }); ok {
			unit = u.Duration()
		}
		utc := v.IsAdjustedToUTC
		return func(val parquet.Value, dst []byte) []byte {
			n := val.Int64()
			var t time.Time
			switch unit {
			case time.Nanosecond:
				t = time.Unix(0, n)
			case time.Microsecond:
				t = time.UnixMicro(n)
			default:
				t = time.UnixMilli(n)
			}
			t = t.UTC()
			if !utc {
				// Wall-clock timestamp: no zone.
				return t.AppendFormat(dst, "2006-01-02T15:04:05.999999999")
			}
			return t.AppendFormat(dst, time.RFC3339Nano)
		}
	case *format.DateType:
		return func(val parquet.Value, dst []byte) []byte {
			return daysToTime(val.Int32()-pgEpochUnixDays).AppendFormat(dst, time.DateOnly)
		}
	}
	switch col.Type().Kind() {
	case parquet.Boolean:
		return func(v parquet.Value, dst []byte) []byte { return strconv.AppendBool(dst, v.Boolean()) }
	case parquet.Int32:
		return func(v parquet.Value, dst []byte) []byte { return strconv.AppendInt(dst, int64(v.Int32()), 10) }
	case parquet.Int64:
		return func(v parquet.Value, dst []byte) []byte { return strconv.AppendInt(dst, v.Int64(), 10) }
	case parquet.Float:
		return func(v parquet.Value, dst []byte) []byte {
			return strconv.AppendFloat(dst, float64(v.Float()), 'g', -1, 32)
		}
	case parquet.Double:
		return func(v parquet.Value, dst []byte) []byte { return strconv.AppendFloat(dst, v.Double(), 'g', -1, 64) }
	default:
		return func(v parquet.Value, dst []byte) []byte { return append(dst, v.ByteArray()...) }
	}
}

func (p *parquetReader) lines() int64 { return -1 }

func (p *parquetReader) read() (*record, error) {
	for p.bi >= p.bn {
		if p.rows == nil {
			if p.gi >= len(p.groups) {
				return nil, io.EOF
			}
			p.rows = p.groups[p.gi].Rows()
			p.gi++
		}
		n, err := p.rows.ReadRows(p.batch)
		p.bi, p.bn = 0, n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return nil, &FileError{Line: p.rowNum + 1, Msg: "read Parquet row: " + err.Error()}
			}
			_ = p.rows.Close()
			p.rows = nil
		}
	}
	row := p.batch[p.bi]
	p.bi++
	p.rowNum++
	p.buf, p.ends, p.fields, p.nulls = p.buf[:0], p.ends[:0], p.fields[:0], p.nulls[:0]
	// A flat row holds one value per leaf column in column order.
	if len(row) != len(p.header) {
		return nil, &FileError{Line: p.rowNum, Msg: fmt.Sprintf("Parquet row has %d values for %d columns (repeated fields are not supported)", len(row), len(p.header))}
	}
	for i, v := range row {
		if !v.IsNull() {
			p.buf = p.render[i](v, p.buf)
		}
		p.ends = append(p.ends, len(p.buf))
		p.nulls = append(p.nulls, v.IsNull())
	}
	prev := 0
	for _, e := range p.ends {
		p.fields = append(p.fields, p.buf[prev:e:e])
		prev = e
	}
	p.rec = record{line: p.rowNum, fields: p.fields, names: p.header, nulls: p.nulls}
	return &p.rec, nil
}
