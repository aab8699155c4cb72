package export

import (
	"fmt"

	"github.com/parquet-go/parquet-go"
)

// rowEncoder turns rows of PostgreSQL binary values into Parquet rows with
// the repetition and definition levels of the table's schema.
type rowEncoder struct {
	ts    *tableSchema
	fl    *fileLayout
	elems [][]byte
}

// encode appends the Parquet values of one row (raw[i] is column i, nil for
// NULL) to row. It returns the day number (since 1970-01-01) of the date
// column, and whether the row has one.
func (e *rowEncoder) encode(row parquet.Row, raw [][]byte, arena *[]byte) (_ parquet.Row, day int32, hasDay bool, err error) {
	for i := range e.ts.cols {
		c := &e.ts.cols[i]
		v := raw[i]
		li := e.fl.leaf[i]
		if li < 0 {
			// Not stored (the partition date of day partitions): only its
			// value for the manifest's statistics is read.
			if i == e.ts.statsCol && v != nil {
				if day, err = pgDate(v); err != nil {
					return row, 0, false, fmt.Errorf("column %s: %w", c.name, err)
				}
				hasDay = true
			}
			continue
		}
		if c.list {
			var err error
			row, err = e.encodeList(row, c, li, v, arena)
			if err != nil {
				return row, 0, false, fmt.Errorf("column %s: %w", c.name, err)
			}
			continue
		}
		if v == nil {
			if !c.nullable {
				return row, 0, false, fmt.Errorf("column %s: NULL in a column the registry declares NOT NULL", c.name)
			}
			row = append(row, parquet.Value{}.Level(0, 0, li))
			continue
		}
		pv, err := c.dec(v, arena)
		if err != nil {
			return row, 0, false, fmt.Errorf("column %s: %w", c.name, err)
		}
		def := 0
		if c.nullable {
			def = 1
		}
		row = append(row, pv.Level(0, def, li))
		if i == e.ts.statsCol {
			day, hasDay = pv.Int32(), true
		}
	}
	return row, day, hasDay, nil
}

// encodeList writes a LIST<optional STRING> column: a NULL list (definition
// level 0), an empty list (base), or one value per element with repetition
// level 0 for the first and 1 for the others.
func (e *rowEncoder) encodeList(row parquet.Row, c *column, leaf int, v []byte, arena *[]byte) (parquet.Row, error) {
	base := 0
	if c.nullable {
		base = 1
	}
	if v == nil {
		if !c.nullable {
			return row, fmt.Errorf("NULL in a column the registry declares NOT NULL")
		}
		return append(row, parquet.Value{}.Level(0, 0, leaf)), nil
	}
	elems, err := decodeTextArray(v, arena, e.elems)
	if err != nil {
		return row, err
	}
	e.elems = elems
	if len(elems) == 0 {
		return append(row, parquet.Value{}.Level(0, base, leaf)), nil
	}
	for j, el := range elems {
		rep := 1
		if j == 0 {
			rep = 0
		}
		if el == nil {
			row = append(row, parquet.Value{}.Level(rep, base+1, leaf))
			continue
		}
		row = append(row, parquet.ByteArrayValue(el).Level(rep, base+2, leaf))
	}
	return row, nil
}
