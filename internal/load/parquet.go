package load

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/novacorrente/novawh/internal/panics"
)

// parquetReader turns a flat Parquet file into records of text fields, so
// that Parquet and CSV inputs share one validation path. Every logical type
// is either rendered exactly (decimals as their decimal text, timestamps as
// RFC 3339 with every digit of their unit, unsigned integers, UUIDs) or
// refused: check fails the file, naming the column and its type, before any
// row is read when a column cannot load exactly into the column it maps to.
type parquetReader struct {
	file   *parquet.File
	header []string
	cols   []pqColumn
	mapped []string // target column of each file column ("" unmapped), set by check
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

// pqColumn is how one Parquet column becomes text.
type pqColumn struct {
	desc string // physical and logical type, for messages
	// render appends the value's text; a non-empty problem rejects the row
	// (a value the loader cannot store exactly).
	render func(v parquet.Value, dst []byte) ([]byte, string)
	// accepts reports whether the column's values load exactly into a
	// target of that kind (nil: the type is not supported at all).
	accepts func(kind) bool
}

func newParquetReader(r io.ReaderAt, size int64) (p *parquetReader, err error) {
	// parquet-go panics on some malformed schemas: that is a bad file.
	var perr error
	defer func() {
		if perr != nil {
			p, err = nil, &FileError{Msg: "not a readable Parquet file: " + perr.Error()}
		}
	}()
	defer panics.Recover(&perr, "the Parquet schema reader")
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, &FileError{Msg: "not a readable Parquet file: " + err.Error()}
	}
	p = &parquetReader{file: f, groups: f.RowGroups(), batch: make([]parquet.Row, 256)}
	for _, col := range f.Schema().Fields() {
		if !col.Leaf() || col.Repeated() {
			what := "a group (STRUCT)"
			switch {
			case col.Repeated():
				what = "repeated (a list)"
			case col.Type().LogicalType() != nil && col.Type().LogicalType().Value != nil:
				what = "a " + col.Type().LogicalType().String()
			}
			return nil, &FileError{Msg: fmt.Sprintf("Parquet column %q is %s, a nested column: the loader reads flat files only, so the file is refused whole", col.Name(), what)}
		}
		p.header = append(p.header, col.Name())
		p.cols = append(p.cols, pqColumnOf(col))
	}
	return p, nil
}

// check refuses the file when a mapped column cannot load exactly into its
// target, and records which file columns are mapped.
func (p *parquetReader) check(pl *plan) error {
	p.mapped = make([]string, len(p.header))
	for _, t := range pl.targets {
		for _, f := range []struct {
			idx  int
			want kind
		}{{t.field, t.kind}, {t.yearField, kInt}, {t.monthField, kInt}} {
			if f.idx < 0 {
				continue
			}
			c := p.cols[f.idx]
			if c.accepts == nil || !c.accepts(f.want) {
				reg := t.name
				if col, ok := pl.table.Column(t.name); ok {
					reg = col.Type
				}
				return &FileError{Msg: fmt.Sprintf("Parquet column %q is %s, which cannot load exactly into %s.%s (%s): the file is refused whole",
					p.header[f.idx], c.desc, pl.table.Qualified(), t.name, reg)}
			}
			p.mapped[f.idx] = t.name
		}
	}
	return nil
}

func anyKind(kind) bool { return true }

func kinds(ks ...kind) func(kind) bool {
	return func(k kind) bool {
		for _, x := range ks {
			if x == k {
				return true
			}
		}
		return false
	}
}

var (
	numberTargets  = kinds(kInt, kInt32, kFloat, kString)
	instantTargets = kinds(kTimestamp, kTimestampLocal, kDate, kString)
)

// pqColumnOf chooses the renderer of a leaf column from its logical type
// (parquet-go maps legacy converted types to logical ones).
func pqColumnOf(col parquet.Field) pqColumn {
	t := col.Type()
	phys := t.Kind()
	desc := phys.String()
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		desc += " " + lt.String()
	} else if s := t.String(); s != phys.String() {
		desc += " " + s
	}
	c := pqColumn{desc: desc}
	var lv format.LogicalTypeValue
	if lt := t.LogicalType(); lt != nil {
		lv = lt.Value
	}
	switch v := lv.(type) {
	case *format.DecimalType:
		c.accepts, c.render = numberTargets, decimalRenderer(phys, int(v.Scale))
	case *format.TimestampType:
		unit := time.Millisecond
		if u, ok := v.Unit.Value.(interface{ Duration() time.Duration }); ok {
			unit = u.Duration()
		}
		c.accepts = instantTargets
		c.render = func(val parquet.Value, dst []byte) ([]byte, string) {
			n := val.Int64()
			var ts time.Time
			switch unit {
			case time.Nanosecond:
				ts = time.Unix(0, n)
			case time.Microsecond:
				ts = time.UnixMicro(n)
			default:
				ts = time.UnixMilli(n)
			}
			return appendInstant(dst, ts, v.IsAdjustedToUTC)
		}
	case *format.DateType:
		c.accepts = instantTargets
		c.render = func(val parquet.Value, dst []byte) ([]byte, string) {
			d := time.Unix(int64(val.Int32())*86400, 0).UTC()
			if d.Year() < 1 || d.Year() > 9999 {
				return dst, fmt.Sprintf("date %d days from 1970-01-01 is outside the years 1 to 9999 the loader writes", val.Int32())
			}
			return d.AppendFormat(dst, time.DateOnly), ""
		}
	case *format.TimeType:
		unit := time.Millisecond
		if u, ok := v.Unit.Value.(interface{ Duration() time.Duration }); ok {
			unit = u.Duration()
		}
		c.accepts = kinds(kString)
		c.render = func(val parquet.Value, dst []byte) ([]byte, string) {
			var d time.Duration
			if phys == parquet.Int32 {
				d = time.Duration(val.Int32()) * unit
			} else {
				d = time.Duration(val.Int64()) * unit
			}
			dst = time.Unix(0, int64(d)).UTC().AppendFormat(dst, "15:04:05.999999999")
			if v.IsAdjustedToUTC {
				dst = append(dst, 'Z')
			}
			return dst, ""
		}
	case *format.IntType:
		c.accepts = numberTargets
		switch {
		case v.IsSigned && phys == parquet.Int32:
			c.render = func(val parquet.Value, dst []byte) ([]byte, string) {
				return strconv.AppendInt(dst, int64(val.Int32()), 10), ""
			}
		case v.IsSigned:
			c.render = func(val parquet.Value, dst []byte) ([]byte, string) {
				return strconv.AppendInt(dst, val.Int64(), 10), ""
			}
		case phys == parquet.Int32:
			c.render = func(val parquet.Value, dst []byte) ([]byte, string) {
				return strconv.AppendUint(dst, uint64(uint32(val.Int32())), 10), ""
			}
		default:
			c.render = func(val parquet.Value, dst []byte) ([]byte, string) {
				return strconv.AppendUint(dst, uint64(val.Int64()), 10), ""
			}
		}
	case *format.UUIDType:
		c.accepts = kinds(kString)
		c.render = func(val parquet.Value, dst []byte) ([]byte, string) {
			b := val.ByteArray()
			if len(b) != 16 {
				return dst, fmt.Sprintf("UUID of %d bytes", len(b))
			}
			for i, part := range [][]byte{b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]} {
				if i > 0 {
					dst = append(dst, '-')
				}
				dst = hex.AppendEncode(dst, part)
			}
			return dst, ""
		}
	case *format.StringType, *format.EnumType, *format.JsonType:
		c.accepts, c.render = anyKind, appendBytes
	case *format.NullType:
		c.accepts, c.render = anyKind, appendBytes
	case nil:
		c.accepts, c.render = physicalColumn(phys, t)
	default:
		// BSON, FLOAT16, GEOMETRY, GEOGRAPHY, VARIANT, ...: not supported.
		c.render = appendBytes
	}
	return c
}

func appendBytes(v parquet.Value, dst []byte) ([]byte, string) {
	return append(dst, v.ByteArray()...), ""
}

// physicalColumn handles columns without a logical type.
func physicalColumn(phys parquet.Kind, t parquet.Type) (func(kind) bool, func(parquet.Value, []byte) ([]byte, string)) {
	switch phys {
	case parquet.Boolean:
		return kinds(kBool, kString), func(v parquet.Value, dst []byte) ([]byte, string) { return strconv.AppendBool(dst, v.Boolean()), "" }
	case parquet.Int32:
		return numberTargets, func(v parquet.Value, dst []byte) ([]byte, string) {
			return strconv.AppendInt(dst, int64(v.Int32()), 10), ""
		}
	case parquet.Int64:
		return numberTargets, func(v parquet.Value, dst []byte) ([]byte, string) { return strconv.AppendInt(dst, v.Int64(), 10), "" }
	case parquet.Int96:
		// Legacy timestamps (Spark, Impala): nanoseconds of the day, then the
		// Julian day, as an instant in UTC.
		return instantTargets, func(v parquet.Value, dst []byte) ([]byte, string) {
			i := v.Int96()
			nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
			days := int64(i[2]) - 2440588 // Julian day of 1970-01-01
			return appendInstant(dst, time.Unix(days*86400, nanos), true)
		}
	case parquet.Float:
		return kinds(kFloat, kString), func(v parquet.Value, dst []byte) ([]byte, string) {
			return strconv.AppendFloat(dst, float64(v.Float()), 'g', -1, 32), ""
		}
	case parquet.Double:
		return kinds(kFloat, kString), func(v parquet.Value, dst []byte) ([]byte, string) {
			return strconv.AppendFloat(dst, v.Double(), 'g', -1, 64), ""
		}
	case parquet.ByteArray:
		if t.ConvertedType() == nil {
			return anyKind, appendBytes // text written without its annotation
		}
	}
	// FIXED_LEN_BYTE_ARRAY without a logical type, INTERVAL, ...
	return nil, appendBytes
}

// appendInstant renders a timestamp with every digit it has (the encoder
// refuses a fraction of a microsecond), or a problem when PostgreSQL
// cannot hold it.
func appendInstant(dst []byte, ts time.Time, utc bool) ([]byte, string) {
	ts = ts.UTC()
	if _, err := pgMicros(ts.Truncate(time.Microsecond)); errors.Is(err, errTimestampRange) {
		return dst, fmt.Sprintf("timestamp %s %v", ts.Format(time.RFC3339Nano), err)
	}
	if ts.Year() < 1 || ts.Year() > 9999 {
		return dst, fmt.Sprintf("timestamp %s is outside the years 1 to 9999 the loader writes", ts.Format(time.RFC3339Nano))
	}
	if !utc {
		// Wall-clock timestamp: no zone.
		return ts.AppendFormat(dst, "2006-01-02T15:04:05.999999999"), ""
	}
	return ts.AppendFormat(dst, time.RFC3339Nano), ""
}

// decimalRenderer renders DECIMAL(p, scale) values exactly, from any of
// the four physical types a decimal may use.
func decimalRenderer(phys parquet.Kind, scale int) func(parquet.Value, []byte) ([]byte, string) {
	var digits []byte
	return func(v parquet.Value, dst []byte) ([]byte, string) {
		var neg bool
		switch phys {
		case parquet.Int32, parquet.Int64:
			n := v.Int64()
			if phys == parquet.Int32 {
				n = int64(v.Int32())
			}
			u := uint64(n)
			if n < 0 {
				neg, u = true, uint64(^n)+1
			}
			digits = strconv.AppendUint(digits[:0], u, 10)
		default:
			b := v.ByteArray()
			x := new(big.Int).SetBytes(b)
			if len(b) > 0 && b[0]&0x80 != 0 { // two's complement
				x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
			}
			neg = x.Sign() < 0
			digits = x.Abs(x).Append(digits[:0], 10)
		}
		return appendScaled(dst, digits, neg, scale), ""
	}
}

// appendScaled writes the integer digits with the decimal point scale
// digits from the right.
func appendScaled(dst, digits []byte, neg bool, scale int) []byte {
	if neg {
		dst = append(dst, '-')
	}
	switch {
	case scale <= 0:
		dst = append(dst, digits...)
		for i := 0; i < -scale; i++ {
			dst = append(dst, '0')
		}
	case len(digits) <= scale:
		dst = append(dst, '0', '.')
		for i := len(digits); i < scale; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[:len(digits)-scale]...)
		dst = append(dst, '.')
		dst = append(dst, digits[len(digits)-scale:]...)
	}
	return dst
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
	p.rec = record{line: p.rowNum, names: p.header}
	for i, v := range row {
		if !v.IsNull() {
			var problem string
			p.buf, problem = p.cols[i].render(v, p.buf)
			if problem != "" && p.rec.problem == "" && p.mapped != nil && p.mapped[i] != "" {
				p.rec.problem = fmt.Sprintf("column %s (Parquet %s): %s", p.mapped[i], p.header[i], problem)
				p.rec.problemColumn = p.mapped[i]
			}
		}
		p.ends = append(p.ends, len(p.buf))
		p.nulls = append(p.nulls, v.IsNull())
	}
	p.fields = splitEnds(p.fields, p.buf, p.ends)
	p.rec.fields, p.rec.nulls = p.fields, p.nulls
	return &p.rec, nil
}
