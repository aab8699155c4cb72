package export

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/parquet-go/parquet-go"
)

// valueKind says how a column's non-NULL values in PostgreSQL's binary wire
// format become Parquet values.
type valueKind uint8

const (
	kindBytes     valueKind = iota // text, varchar, bpchar, bytea, ::text: the bytes as they are
	kindInt8                       // int8 -> INT64
	kindInt4                       // int4 -> INT32
	kindFloat8                     // float8 -> DOUBLE
	kindBool                       // bool -> BOOLEAN
	kindDate                       // date -> INT32 days since 1970-01-01
	kindTimestamp                  // timestamp(tz) -> INT64 microseconds since 1970-01-01
	kindTextArray                  // one-dimensional text[] -> LIST<STRING>
)

const (
	// PostgreSQL counts dates and timestamps from 2000-01-01; Parquet from
	// 1970-01-01.
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1_000_000
)

var errInfinity = errors.New("infinite date or timestamp has no Parquet representation")

func errLen(raw []byte, n int) error {
	return fmt.Errorf("binary value of %d bytes, want %d", len(raw), n)
}

// decodeValue writes one non-NULL scalar value (kind is not kindTextArray)
// into *p, without levels. Bytes are copied into *arena: pgx reuses its
// read buffer for the next row. The value is built in place: a
// parquet.Value returned and copied costs several times more per value.
func decodeValue(p *parquet.Value, kind valueKind, raw []byte, arena *[]byte) error {
	switch kind {
	case kindBytes:
		start := len(*arena)
		*arena = append(*arena, raw...)
		*p = parquet.ByteArrayValue((*arena)[start:len(*arena):len(*arena)])
	case kindInt8:
		if len(raw) != 8 {
			return errLen(raw, 8)
		}
		*p = parquet.Int64Value(int64(binary.BigEndian.Uint64(raw)))
	case kindInt4:
		if len(raw) != 4 {
			return errLen(raw, 4)
		}
		*p = parquet.Int32Value(int32(binary.BigEndian.Uint32(raw)))
	case kindFloat8:
		if len(raw) != 8 {
			return errLen(raw, 8)
		}
		*p = parquet.DoubleValue(math.Float64frombits(binary.BigEndian.Uint64(raw)))
	case kindBool:
		if len(raw) != 1 {
			return errLen(raw, 1)
		}
		*p = parquet.BooleanValue(raw[0] != 0)
	case kindDate:
		d, err := pgDate(raw)
		if err != nil {
			return err
		}
		*p = parquet.Int32Value(d)
	case kindTimestamp:
		if len(raw) != 8 {
			return errLen(raw, 8)
		}
		us := int64(binary.BigEndian.Uint64(raw))
		if us == math.MaxInt64 || us == math.MinInt64 {
			return errInfinity
		}
		*p = parquet.Int64Value(us + pgEpochMicros)
	default:
		return fmt.Errorf("value kind %d is not a scalar", kind)
	}
	return nil
}

// pgDate returns the days since 1970-01-01 of a binary date.
func pgDate(raw []byte) (int32, error) {
	if len(raw) != 4 {
		return 0, errLen(raw, 4)
	}
	d := int32(binary.BigEndian.Uint32(raw))
	if d == math.MaxInt32 || d == math.MinInt32 {
		return 0, errInfinity
	}
	return d + pgEpochDays, nil
}

// decodeTextArray reads a one-dimensional text[] value; nil elements are
// NULLs. The element bytes are copied into *arena.
func decodeTextArray(raw []byte, arena *[]byte, elems [][]byte) ([][]byte, error) {
	elems = elems[:0]
	if len(raw) < 12 {
		return nil, fmt.Errorf("array header of %d bytes", len(raw))
	}
	ndim := int32(binary.BigEndian.Uint32(raw[0:]))
	raw = raw[12:] // ndim, has-null flag, element type OID
	switch {
	case ndim == 0:
		return elems, nil
	case ndim != 1:
		return nil, fmt.Errorf("%d-dimensional array: only one-dimensional arrays can be exported", ndim)
	}
	if len(raw) < 8 {
		return nil, errors.New("truncated array dimension")
	}
	n := int(int32(binary.BigEndian.Uint32(raw)))
	raw = raw[8:] // length, lower bound
	for i := 0; i < n; i++ {
		if len(raw) < 4 {
			return nil, errors.New("truncated array element")
		}
		l := int(int32(binary.BigEndian.Uint32(raw)))
		raw = raw[4:]
		if l < 0 {
			elems = append(elems, nil)
			continue
		}
		if len(raw) < l {
			return nil, errors.New("truncated array element")
		}
		start := len(*arena)
		*arena = append(*arena, raw[:l]...)
		elems = append(elems, (*arena)[start:len(*arena):len(*arena)])
		raw = raw[l:]
	}
	return elems, nil
}
