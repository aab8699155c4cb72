package export

import (
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// colBatch holds the Parquet values of a batch of rows column by column:
// vals[leaf] are the values of one leaf column, with their repetition and
// definition levels, ready for that column's writer.
type colBatch struct {
	vals [][]parquet.Value
	rows int
}

func newColBatch(leaves, rows int) *colBatch {
	b := &colBatch{vals: make([][]parquet.Value, leaves)}
	for i := range b.vals {
		b.vals[i] = make([]parquet.Value, 0, rows)
	}
	return b
}

func (b *colBatch) reset() {
	for i := range b.vals {
		b.vals[i] = b.vals[i][:0]
	}
	b.rows = 0
}

// rowEncoder turns rows of PostgreSQL binary values into the Parquet values
// of a colBatch, with the repetition and definition levels of the table's
// schema.
type rowEncoder struct {
	ts    *tableSchema
	fl    *fileLayout
	elems [][]byte
}

// encode appends the Parquet values of one row (raw[i] is column i, nil for
// NULL) to b. It returns the day number (since 1970-01-01) of the date
// column, and whether the row has one. Bytes are copied into *arena. After
// an error b holds part of the row: the partition is abandoned.
func (e *rowEncoder) encode(b *colBatch, raw [][]byte, arena *[]byte) (day int32, hasDay bool, err error) {
	cols := e.ts.cols
	if len(raw) != len(cols) { // e.fl.leaf has len(cols) entries by construction (buildSchema)
		return 0, false, fmt.Errorf("row of %d values, want %d", len(raw), len(cols))
	}
	for i := range cols {
		c := &cols[i]
		v := raw[i]
		li := e.fl.leaf[i]
		if li < 0 {
			// Not stored (the partition date of day partitions): only its
			// value for the manifest's statistics is read.
			if i == e.ts.statsCol && v != nil {
				if day, err = pgDate(v); err != nil {
					return 0, false, fmt.Errorf("column %s: %w", c.name, err)
				}
				hasDay = true
			}
			continue
		}
		if c.list {
			if b.vals[li], err = e.encodeList(b.vals[li], c, li, v, arena); err != nil {
				return 0, false, fmt.Errorf("column %s: %w", c.name, err)
			}
			continue
		}
		// Each value is built in its slot (see decodeValue).
		vals := b.vals[li]
		n := len(vals)
		if n == cap(vals) {
			vals = slices.Grow(vals, 1)
		}
		vals = vals[:n+1]
		b.vals[li] = vals
		p := &vals[n]
		if v == nil {
			if !c.nullable {
				return 0, false, fmt.Errorf("column %s: NULL in a column the registry declares NOT NULL", c.name)
			}
			*p = e.fl.nulls[li]
			continue
		}
		if err := decodeValue(p, c.kind, v, arena); err != nil {
			return 0, false, fmt.Errorf("column %s: %w", c.name, err)
		}
		if i == e.ts.statsCol {
			day, hasDay = p.Int32(), true
		}
		if c.nullable {
			// Levels matter for optional columns only: a required leaf has
			// repetition and definition level 0, the zero value's, and
			// column writers do not read a value's column index.
			*p = p.Level(0, 1, li)
		}
	}
	b.rows++
	return day, hasDay, nil
}

// encodeList writes a LIST<optional STRING> column: a NULL list (definition
// level 0), an empty list (base), or one value per element with repetition
// level 0 for the first and 1 for the others.
func (e *rowEncoder) encodeList(vals []parquet.Value, c *column, leaf int, v []byte, arena *[]byte) ([]parquet.Value, error) {
	base := 0
	if c.nullable {
		base = 1
	}
	if v == nil {
		if !c.nullable {
			return vals, fmt.Errorf("NULL in a column the registry declares NOT NULL")
		}
		return append(vals, parquet.Value{}.Level(0, 0, leaf)), nil
	}
	elems, err := decodeTextArray(v, arena, e.elems)
	if err != nil {
		return vals, err
	}
	e.elems = elems
	if len(elems) == 0 {
		return append(vals, parquet.Value{}.Level(0, base, leaf)), nil
	}
	for j, el := range elems {
		rep := 1
		if j == 0 {
			rep = 0
		}
		if el == nil {
			vals = append(vals, parquet.Value{}.Level(rep, base+1, leaf))
			continue
		}
		vals = append(vals, parquet.ByteArrayValue(el).Level(rep, base+2, leaf))
	}
	return vals, nil
}
