package export

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/parquet-go/parquet-go"
)

// A decoder turns one non-NULL value in PostgreSQL's binary wire format into
// a Parquet value. Byte slices are copied into *arena because pgx reuses its
// read buffer for the next row.
type decoder func(raw []byte, arena *[]byte) (parquet.Value, error)

const (
	// PostgreSQL counts dates and timestamps from 2000-01-01; Parquet from
	// 1970-01-01.
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1_000_000
)

var errInfinity = errors.New("infinite date or timestamp has no Parquet representation")

func needLen(raw []byte, n int) error {
	if len(raw) != n {
		return fmt.Errorf("binary value of %d bytes, want %d", len(raw), n)
	}
	return nil
}

func decodeText(raw []byte, arena *[]byte) (parquet.Value, error) {
	start := len(*arena)
	*arena = append(*arena, raw...)
	return parquet.ByteArrayValue((*arena)[start:len(*arena):len(*arena)]), nil
}

func decodeInt8(raw []byte, _ *[]byte) (parquet.Value, error) {
	if err := needLen(raw, 8); err != nil {
		return parquet.Value{}, err
	}
	return parquet.Int64Value(int64(binary.BigEndian.Uint64(raw))), nil
}

func decodeInt4(raw []byte, _ *[]byte) (parquet.Value, error) {
	if err := needLen(raw, 4); err != nil {
		return parquet.Value{}, err
	}
	return parquet.Int32Value(int32(binary.BigEndian.Uint32(raw))), nil
}

func decodeFloat8(raw []byte, _ *[]byte) (parquet.Value, error) {
	if err := needLen(raw, 8); err != nil {
		return parquet.Value{}, err
	}
	return parquet.DoubleValue(math.Float64frombits(binary.BigEndian.Uint64(raw))), nil
}

func decodeBool(raw []byte, _ *[]byte) (parquet.Value, error) {
	if err := needLen(raw, 1); err != nil {
		return parquet.Value{}, err
	}
	return parquet.BooleanValue(raw[0] != 0), nil
}

// pgDate returns the days since 1970-01-01 of a binary date.
func pgDate(raw []byte) (int32, error) {
	if err := needLen(raw, 4); err != nil {
		return 0, err
	}
	d := int32(binary.BigEndian.Uint32(raw))
	if d == math.MaxInt32 || d == math.MinInt32 {
		return 0, errInfinity
	}
	return d + pgEpochDays, nil
}

func decodeDate(raw []byte, _ *[]byte) (parquet.Value, error) {
	d, err := pgDate(raw)
	if err != nil {
		return parquet.Value{}, err
	}
	return parquet.Int32Value(d), nil
}

func decodeTimestamp(raw []byte, _ *[]byte) (parquet.Value, error) {
	if err := needLen(raw, 8); err != nil {
		return parquet.Value{}, err
	}
	us := int64(binary.BigEndian.Uint64(raw))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return parquet.Value{}, errInfinity
	}
	return parquet.Int64Value(us + pgEpochMicros), nil
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
