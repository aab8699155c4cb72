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
// the SQL expression that reads it and how its binary value is decoded.
type column struct {
	name     string
	regType  string
	nullable bool
	node     parquet.Node
	physical string // human-readable Parquet type for the manifest
	sqlExpr  string
	oids     []uint32 // PostgreSQL type OIDs the binary decoder accepts
	list     bool
	kind     valueKind
}

// tableSchema is the Parquet layout of one registry table.
type tableSchema struct {
	table *registry.Table
	// layer is the lake layer the table is published in (meta.loads and
	// meta.rejected_rows go to bronze), name its folder there.
	layer    string
	name     string
	cols     []column
	source   partSource
	dateCol  int // index in cols of the partition date column (partByDate), -1 when none
	loadCol  int // index in cols of the load id column (partByLoad), -1 when none
	statsCol int // index of the date column whose min/max the manifest records, -1 when none
	detect   changeDetect
	orderBy  string
	sha256   string
	// manifestCol lists every registry column (schema_sha256 covers them).
	manifestCol  []ManifestColumn
	full, noDate *fileLayout
}

// changeDetect says how an incremental export finds what changed.
type changeDetect int

const (
	// detectChanges: the date windows of meta.gold_changes (gold tables).
	detectChanges changeDetect = iota
	// detectAlways: exported in full every time (gold views, but those
	// exported by default, which the refresh logs).
	detectAlways
	// detectLoads: the set of loads whose rows each partition holds
	// (bronze rows never change once loaded).
	detectLoads
	// detectContent: a content checksum per partition computed by
	// PostgreSQL (silver, meta.loads).
	detectContent
)

// fileLayout is the set of columns stored in the files of one grain: day
// partitions by date leave the date out (it is in the folder name).
type fileLayout struct {
	schema *parquet.Schema
	leaf   []int // per column of cols: its leaf in the schema, -1 when not stored
	cols   []ManifestColumn
	nulls  []parquet.Value // per leaf: its NULL (definition level 0)
}

// allows reports whether the table can be exported at grain: the columns
// a reader infers from its folder names must not shadow columns of the
// table (the partition date itself excepted).
func (ts *tableSchema) allows(grain string) bool {
	for _, pc := range partitionColumns(ts.source, grain) {
		if c, ok := ts.table.Column(pc.Name); ok && (ts.dateCol < 0 || c.Name != ts.cols[ts.dateCol].name) {
			return false
		}
	}
	return true
}

// layout is the file layout of the table exported at grain.
func (ts *tableSchema) layout(grain string) *fileLayout {
	if ts.source == partByDate && grain == grainDay {
		return ts.noDate
	}
	return ts.full
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

// buildSchema maps a registry table, published in layer, to its Parquet
// schemas. Bronze tables are partitioned by the day of their load (column
// _load_id, or load_id for meta tables); silver and gold tables by their
// date column, except dimensions (dim_*).
func buildSchema(t *registry.Table, layer string) (*tableSchema, error) {
	ts := &tableSchema{table: t, layer: layer, name: t.Name, dateCol: -1, loadCol: -1, statsCol: -1}
	for _, c := range t.Columns {
		if !c.Exported() {
			continue
		}
		i := len(ts.cols)
		col := column{name: c.Name, regType: c.Type, nullable: c.Nullable, sqlExpr: quoteIdent(c.Name)}
		var n parquet.Node
		switch c.Type {
		case "string":
			n, col.physical, col.kind = dict(parquet.String()), "BYTE_ARRAY STRING", kindBytes
			col.oids = []uint32{oidText, oidVarchar, oidBPChar}
		case "json":
			// jsonb is read as text so that the value is the JSON document.
			n, col.physical, col.kind = parquet.JSON(), "BYTE_ARRAY JSON", kindBytes
			col.sqlExpr += "::text"
			col.oids = []uint32{oidText}
		case "numeric":
			// A DECIMAL needs a fixed precision and scale the registry does not
			// carry: numeric values are exported as their exact decimal text.
			n, col.physical, col.kind = parquet.String(), "BYTE_ARRAY STRING (decimal text)", kindBytes
			col.sqlExpr += "::text"
			col.oids = []uint32{oidText}
		case "bytes":
			n, col.physical, col.kind = parquet.Leaf(parquet.ByteArrayType), "BYTE_ARRAY", kindBytes
			col.oids = []uint32{oidBytea}
		case "int":
			n, col.physical, col.kind = dict(parquet.Int(64)), "INT64", kindInt8
			col.oids = []uint32{oidInt8}
		case "int32":
			n, col.physical, col.kind = dict(parquet.Int(32)), "INT32", kindInt4
			col.oids = []uint32{oidInt4}
		case "float":
			n, col.physical, col.kind = parquet.Leaf(parquet.DoubleType), "DOUBLE", kindFloat8
			col.oids = []uint32{oidFloat8}
		case "bool":
			n, col.physical, col.kind = parquet.Leaf(parquet.BooleanType), "BOOLEAN", kindBool
			col.oids = []uint32{oidBool}
		case "date":
			n, col.physical, col.kind = dict(parquet.Date()), "INT32 DATE", kindDate
			col.oids = []uint32{oidDate}
		case "timestamp":
			n, col.physical, col.kind = dict(parquet.TimestampAdjusted(parquet.Microsecond, true)), "INT64 TIMESTAMP(MICROS, UTC)", kindTimestamp
			col.oids = []uint32{oidTimestampTZ}
		case "timestamp_local":
			n, col.physical, col.kind = dict(parquet.TimestampAdjusted(parquet.Microsecond, false)), "INT64 TIMESTAMP(MICROS, local)", kindTimestamp
			col.oids = []uint32{oidTimestamp}
		case "string[]":
			// LIST of nullable STRING elements (PostgreSQL arrays may hold NULLs).
			n = parquet.List(parquet.Optional(dict(parquet.String())))
			col.physical, col.list, col.kind = "LIST<BYTE_ARRAY STRING>", true, kindTextArray
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
		}
		if (c.Name == "_load_id" || c.Name == "load_id") && c.Type == "int" && !c.Nullable && ts.loadCol < 0 {
			ts.loadCol = i
		}
		ts.manifestCol = append(ts.manifestCol, ManifestColumn{Name: c.Name, Type: c.Type, Parquet: col.physical, Nullable: c.Nullable})
		ts.cols = append(ts.cols, col)
	}
	switch {
	case layer == "bronze" && ts.loadCol >= 0:
		ts.source = partByLoad
	case layer != "bronze" && ts.statsCol >= 0 && !strings.HasPrefix(t.Name, "dim_"):
		ts.source, ts.dateCol = partByDate, ts.statsCol
	}
	switch {
	case layer == "gold" && t.Kind != "" && t.Kind != "table" && !t.Export:
		// A view exported by default (registry "export") is one the
		// refresh logs in meta.gold_changes (gold.agg_forecast_rolling).
		ts.detect = detectAlways
	case layer == "gold":
		ts.detect = detectChanges
	case ts.source == partByLoad && t.Layer == "bronze" || t.Qualified() == "meta.rejected_rows":
		ts.detect = detectLoads
	default:
		ts.detect = detectContent
	}
	ts.full = ts.fileLayout(-1)
	ts.noDate = ts.full
	if ts.source == partByDate {
		ts.noDate = ts.fileLayout(ts.dateCol)
	}
	ts.orderBy = orderBy(t, ts.cols, ts.source != partNone)
	b, err := json.Marshal(ts.manifestCol)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	ts.sha256 = hex.EncodeToString(sum[:])
	return ts, nil
}

// fileLayout builds the Parquet schema of every column but skip (-1: all).
func (ts *tableSchema) fileLayout(skip int) *fileLayout {
	fl := &fileLayout{leaf: make([]int, len(ts.cols)), cols: []ManifestColumn{}}
	fields := make([]parquet.Field, 0, len(ts.cols))
	for i, c := range ts.cols {
		if i == skip {
			fl.leaf[i] = -1
			continue
		}
		fl.leaf[i] = len(fields)
		fl.nulls = append(fl.nulls, parquet.Value{}.Level(0, 0, len(fields)))
		fields = append(fields, &namedField{Node: c.node, name: c.name})
		fl.cols = append(fl.cols, ts.manifestCol[i])
	}
	fl.schema = parquet.NewSchema(ts.table.Name, &orderedGroup{fields: fields})
	return fl
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
