package export

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/novacorrente/novawh/internal/registry"
)

// PartitionColumn is the column fact and aggregate tables are partitioned by.
const PartitionColumn = "date"

// column is one exported column: its registry definition, its Parquet node,
// the SQL expression that reads it and the decoder of its binary value.
type column struct {
	name     string
	regType  string
	nullable bool
	node     parquet.Node
	physical string // human-readable Parquet type for the manifest
	sqlExpr  string
	oids     []uint32 // PostgreSQL type OIDs the binary decoder accepts
	leaf     int      // index of the (first) leaf column in the Parquet schema
	list     bool
	dec      decoder
}

// tableSchema is the Parquet layout of one registry table.
type tableSchema struct {
	table       *registry.Table
	cols        []column
	schema      *parquet.Schema
	partitioned bool
	dateCol     int // index in cols of the partition column, -1 when none
	statsCol    int // index of the date column whose min/max the manifest records, -1 when none
	orderBy     string
	sha256      string
	manifestCol []ManifestColumn
}

// ManifestColumn describes one column of an exported table in its manifest.
type ManifestColumn struct {
	Name     string `json:"name"`
	Type     string `json:"type"`    // registry type
	Parquet  string `json:"parquet"` // Parquet physical and logical type
	Nullable bool   `json:"nullable"`
}

// PostgreSQL type OIDs of the binary formats the decoders read.
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt4        = 23
	oidText        = 25
	oidFloat8      = 701
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestampTZ = 1184
	oidTextArray   = 1009
	oidVarcharArr  = 1015
)

// buildSchema maps a registry table to its Parquet schema. Dimension tables
// (dim_*) and tables without a non-null date column are not partitioned.
func buildSchema(t *registry.Table) (*tableSchema, error) {
	ts := &tableSchema{table: t, dateCol: -1, statsCol: -1}
	fields := make([]parquet.Field, 0, len(t.Columns))
	leaf := 0
	for i, c := range t.Columns {
		col := column{name: c.Name, regType: c.Type, nullable: c.Nullable, leaf: leaf, sqlExpr: quoteIdent(c.Name)}
		var n parquet.Node
		switch c.Type {
		case "string":
			n, col.physical, col.dec = dict(parquet.String()), "BYTE_ARRAY STRING", decodeText
			col.oids = []uint32{oidText, oidVarchar, oidBPChar}
		case "json":
			// jsonb is read as text so that the value is the JSON document.
			n, col.physical, col.dec = parquet.JSON(), "BYTE_ARRAY JSON", decodeText
			col.sqlExpr += "::text"
			col.oids = []uint32{oidText}
		case "numeric":
			// A DECIMAL needs a fixed precision and scale the registry does not
			// carry: numeric values are exported as their exact decimal text.
			n, col.physical, col.dec = parquet.String(), "BYTE_ARRAY STRING (decimal text)", decodeText
			col.sqlExpr += "::text"
			col.oids = []uint32{oidText}
		case "bytes":
			n, col.physical, col.dec = parquet.Leaf(parquet.ByteArrayType), "BYTE_ARRAY", decodeText
			col.oids = []uint32{oidBytea}
		case "int":
			n, col.physical, col.dec = dict(parquet.Int(64)), "INT64", decodeInt8
			col.oids = []uint32{oidInt8}
		case "int32":
			n, col.physical, col.dec = dict(parquet.Int(32)), "INT32", decodeInt4
			col.oids = []uint32{oidInt4}
		case "float":
			n, col.physical, col.dec = parquet.Leaf(parquet.DoubleType), "DOUBLE", decodeFloat8
			col.oids = []uint32{oidFloat8}
		case "bool":
			n, col.physical, col.dec = parquet.Leaf(parquet.BooleanType), "BOOLEAN", decodeBool
			col.oids = []uint32{oidBool}
		case "date":
			n, col.physical, col.dec = dict(parquet.Date()), "INT32 DATE", decodeDate
			col.oids = []uint32{oidDate}
		case "timestamp":
			n, col.physical, col.dec = dict(parquet.TimestampAdjusted(parquet.Microsecond, true)), "INT64 TIMESTAMP(MICROS, UTC)", decodeTimestamp
			col.oids = []uint32{oidTimestampTZ}
		case "timestamp_local":
			n, col.physical, col.dec = dict(parquet.TimestampAdjusted(parquet.Microsecond, false)), "INT64 TIMESTAMP(MICROS, local)", decodeTimestamp
			col.oids = []uint32{oidTimestamp}
		case "string[]":
			// LIST of nullable STRING elements (PostgreSQL arrays may hold NULLs).
			n = parquet.List(parquet.Optional(dict(parquet.String())))
			col.physical, col.list, col.dec = "LIST<BYTE_ARRAY STRING>", true, nil
			col.oids = []uint32{oidTextArray, oidVarcharArr}
		default:
			return nil, fmt.Errorf("%s.%s: registry type %q has no Parquet mapping", t.Qualified(), c.Name, c.Type)
		}
		if c.Nullable {
			n = parquet.Optional(n)
		} else if !col.list {
			n = parquet.Required(n)
		}
		col.node = n
		if c.Name == PartitionColumn && c.Type == "date" {
			ts.statsCol = i
			if !c.Nullable {
				ts.dateCol = i
			}
		}
		fields = append(fields, &namedField{Node: n, name: c.Name})
		ts.manifestCol = append(ts.manifestCol, ManifestColumn{Name: c.Name, Type: c.Type, Parquet: col.physical, Nullable: c.Nullable})
		ts.cols = append(ts.cols, col)
		leaf++
	}
	ts.partitioned = ts.dateCol >= 0 && !strings.HasPrefix(t.Name, "dim_")
	if !ts.partitioned {
		ts.dateCol = -1 // dimensions keep statsCol: their manifest still records min/max date
	}
	ts.schema = parquet.NewSchema(t.Name, &orderedGroup{fields: fields})
	ts.orderBy = orderBy(t, ts.cols, ts.partitioned)
	b, err := json.Marshal(ts.manifestCol)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	ts.sha256 = hex.EncodeToString(sum[:])
	return ts, nil
}

// dict makes a leaf dictionary-encoded: gold has few distinct strings, dates
// and timestamps per row group.
func dict(n parquet.Node) parquet.Node { return parquet.Encoded(n, &parquet.RLEDictionary) }

// orderBy is the row order of the files. Partitioned tables are not
// sorted: a partition is read by a bitmap or sequential scan of its date
// range, in physical order, so the same table state always gives the same
// bytes without PostgreSQL sorting anything. Unpartitioned tables (small
// dimensions) are sorted by their key.
func orderBy(t *registry.Table, cols []column, partitioned bool) string {
	if partitioned {
		return ""
	}
	keys := t.PrimaryKey
	if len(keys) == 0 {
		keys = t.NaturalKey
	}
	if len(keys) == 0 {
		for _, c := range cols {
			keys = append(keys, c.name)
		}
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		c, _ := t.Column(k)
		e := quoteIdent(k)
		if c != nil && (c.Type == "string" || c.Type == "string[]") {
			e += ` COLLATE "C"`
		}
		parts = append(parts, e)
	}
	return strings.Join(parts, ", ")
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// orderedGroup is a Parquet group whose fields keep the registry's column
// order (parquet.Group sorts its fields by name).
type orderedGroup struct{ fields []parquet.Field }

func (g *orderedGroup) ID() int                              { return 0 }
func (g *orderedGroup) String() string                       { return printNode(g) }
func (g *orderedGroup) Type() parquet.Type                   { return parquet.Group{}.Type() }
func (g *orderedGroup) Optional() bool                       { return false }
func (g *orderedGroup) Repeated() bool                       { return false }
func (g *orderedGroup) Required() bool                       { return true }
func (g *orderedGroup) Leaf() bool                           { return false }
func (g *orderedGroup) Fields() []parquet.Field              { return g.fields }
func (g *orderedGroup) Encoding() encoding.Encoding          { return nil }
func (g *orderedGroup) Compression() compress.Codec          { return nil }
func (g *orderedGroup) GoType() reflect.Type                 { return goStructOf(g.fields) }
func (f *namedField) Name() string                           { return f.name }
func (f *namedField) Value(base reflect.Value) reflect.Value { return fieldValue(base, f.name) }

type namedField struct {
	parquet.Node
	name string
}

func printNode(n parquet.Node) string {
	var b strings.Builder
	_ = parquet.PrintSchema(&b, "", n)
	return b.String()
}

// goStructOf mirrors parquet-go's Go type of a group: a struct with one
// field per column, tagged with the column name.
func goStructOf(fields []parquet.Field) reflect.Type {
	sf := make([]reflect.StructField, len(fields))
	for i, f := range fields {
		name := []rune(f.Name())
		name[0] = unicode.ToUpper(name[0])
		sf[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i) + "_" + sanitize(string(name)),
			Type: f.GoType(),
			Tag:  reflect.StructTag(`parquet:` + strconv.Quote(f.Name())),
		}
	}
	return reflect.StructOf(sf)
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// fieldValue finds a field of a struct (by parquet tag) or map (by key); the
// exporter writes parquet.Row values and never goes through it, but the
// parquet.Field interface requires it.
func fieldValue(base reflect.Value, name string) reflect.Value {
	for base.Kind() == reflect.Interface || base.Kind() == reflect.Pointer {
		if base.IsNil() {
			return reflect.Value{}
		}
		base = base.Elem()
	}
	switch base.Kind() {
	case reflect.Struct:
		t := base.Type()
		for i := 0; i < t.NumField(); i++ {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("parquet"), ","); tag == name {
				return base.Field(i)
			}
		}
	case reflect.Map:
		return base.MapIndex(reflect.ValueOf(name))
	}
	return reflect.Value{}
}
