package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/novacorrente/novawh/data"
)

// MLMetadataColumns must be present on every ML result row.
var MLMetadataColumns = []string{"model_version", "generated_at", "source", "dataset_id"}

// Layers in data-flow order.
var Layers = []string{"bronze", "silver", "gold", "meta"}

// Types maps registry type names to PostgreSQL's format_type() spelling.
var Types = map[string]string{
	"string":          "text",
	"int":             "bigint",
	"int32":           "integer",
	"float":           "double precision",
	"numeric":         "numeric",
	"date":            "date",
	"timestamp":       "timestamp with time zone",
	"timestamp_local": "timestamp without time zone",
	"bool":            "boolean",
	"bytes":           "bytea",
	"string[]":        "text[]",
	"json":            "jsonb",
}

// Registry is the parsed schema registry.
type Registry struct {
	Version           int                          `json:"version"`
	Description       string                       `json:"description,omitempty"`
	MLMetadataColumns []string                     `json:"ml_metadata_columns"`
	Layers            map[string]map[string]*Table `json:"layers"`
	Extra             map[string]json.RawMessage   `json:"-"`
	order             []*Table
}

// Table describes one table, view or materialized view.
type Table struct {
	Layer       string   `json:"-"`
	Name        string   `json:"-"`
	Kind        string   `json:"kind,omitempty"` // table (default), view, materialized_view
	Description string   `json:"description,omitempty"`
	PrimaryKey  []string `json:"primary_key,omitempty"`
	NaturalKey  []string `json:"natural_key,omitempty"`
	MLResult    bool     `json:"ml_result,omitempty"`
	// Export: a view that novawh export writes by default, like the
	// tables of its layer (gold.agg_forecast_rolling).
	Export  bool     `json:"export,omitempty"`
	Columns []Column `json:"columns"`
}

// Column describes one column.
type Column struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Nullable    bool     `json:"nullable"`
	Key         bool     `json:"key,omitempty"`
	MLMetadata  bool     `json:"ml_metadata,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description,omitempty"`
	// Export false: novawh export leaves the column out (the rolling
	// columns of gold.fact_forecast, which gold.agg_forecast_rolling
	// exports, so that they are not written twice).
	Export *bool `json:"export,omitempty"`
}

// Exported says whether novawh export writes the column.
func (c *Column) Exported() bool { return c.Export == nil || *c.Export }

// Qualified is layer.name.
func (t *Table) Qualified() string { return t.Layer + "." + t.Name }

// Column finds a column by name.
func (t *Table) Column(name string) (*Column, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// PGType is the column's PostgreSQL type.
func (c *Column) PGType() string { return Types[c.Type] }

// Default returns the registry embedded in the binary.
func Default() (*Registry, error) { return Parse(data.SchemaRegistry, "data/schema_registry.json") }

// Load reads a registry file; "" means the embedded one.
func Load(path string) (*Registry, error) {
	if path == "" {
		return Default()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	return Parse(b, path)
}

// Parse decodes and validates a registry document. name is used in errors.
func Parse(b []byte, name string) (*Registry, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Registry
	if err := dec.Decode(&r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(b, se.Offset)
			return nil, fmt.Errorf("%s:%d:%d: invalid JSON: %w", name, line, col, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			line, col := position(b, te.Offset)
			return nil, fmt.Errorf("%s:%d:%d: %w", name, line, col, err)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, layer := range Layers {
		names := make([]string, 0, len(r.Layers[layer]))
		for n, t := range r.Layers[layer] {
			if t == nil {
				return nil, fmt.Errorf("%s: %s.%s: empty table definition", name, layer, n)
			}
			t.Layer, t.Name = layer, n
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			r.order = append(r.order, r.Layers[layer][n])
		}
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &r, nil
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Validate checks the registry's internal consistency.
func (r *Registry) Validate() error {
	var errs []error
	if r.Version < 1 {
		errs = append(errs, errors.New("version must be >= 1"))
	}
	for layer := range r.Layers {
		if !contains(Layers, layer) {
			errs = append(errs, fmt.Errorf("unknown layer %q (want one of %s)", layer, strings.Join(Layers, ", ")))
		}
	}
	if strings.Join(r.MLMetadataColumns, ",") != strings.Join(MLMetadataColumns, ",") {
		errs = append(errs, fmt.Errorf("ml_metadata_columns must be %v", MLMetadataColumns))
	}
	for _, t := range r.order {
		q := t.Qualified()
		if !identRe.MatchString(t.Name) {
			errs = append(errs, fmt.Errorf("%s: table name must be a lower-case identifier", q))
		}
		switch t.Kind {
		case "", "table", "view", "materialized_view":
		default:
			errs = append(errs, fmt.Errorf("%s: kind %q must be table, view or materialized_view", q, t.Kind))
		}
		if t.Export && t.Kind != "view" && t.Kind != "materialized_view" {
			errs = append(errs, fmt.Errorf("%s: export applies to views only (tables are exported anyway)", q))
		}
		if len(t.Columns) == 0 {
			errs = append(errs, fmt.Errorf("%s: no columns", q))
		}
		seen := map[string]bool{}
		for _, c := range t.Columns {
			if !identRe.MatchString(c.Name) {
				errs = append(errs, fmt.Errorf("%s.%s: column name must be a lower-case identifier", q, c.Name))
			}
			if seen[c.Name] {
				errs = append(errs, fmt.Errorf("%s.%s: duplicate column", q, c.Name))
			}
			seen[c.Name] = true
			if _, ok := Types[c.Type]; !ok {
				errs = append(errs, fmt.Errorf("%s.%s: unknown type %q (known: %s)", q, c.Name, c.Type, strings.Join(typeNames(), ", ")))
			}
			if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
				errs = append(errs, fmt.Errorf("%s.%s: min %v > max %v", q, c.Name, *c.Min, *c.Max))
			}
			if (c.Min != nil || c.Max != nil) && c.Type != "float" && c.Type != "int" && c.Type != "int32" && c.Type != "numeric" {
				errs = append(errs, fmt.Errorf("%s.%s: min/max only apply to numeric columns", q, c.Name))
			}
			if c.MLMetadata && !contains(MLMetadataColumns, c.Name) {
				errs = append(errs, fmt.Errorf("%s.%s: flagged ml_metadata but is not one of %v", q, c.Name, MLMetadataColumns))
			}
		}
		for _, k := range append(append([]string{}, t.PrimaryKey...), t.NaturalKey...) {
			if !seen[k] {
				errs = append(errs, fmt.Errorf("%s: key column %q is not a column", q, k))
			}
		}
		if t.MLResult {
			for _, m := range MLMetadataColumns {
				c, ok := t.Column(m)
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("%s: ML result table lacks ML metadata column %q", q, m))
				case !c.MLMetadata:
					errs = append(errs, fmt.Errorf("%s.%s: ML metadata column must be flagged \"ml_metadata\": true", q, m))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Tables lists every table in layer order, then by name.
func (r *Registry) Tables() []*Table { return r.order }

// Table finds layer.name.
func (r *Registry) Table(layer, name string) (*Table, bool) {
	t, ok := r.Layers[layer][name]
	return t, ok
}

// Lookup finds a table by its qualified name "layer.name".
func (r *Registry) Lookup(qualified string) (*Table, bool) {
	layer, name, ok := strings.Cut(qualified, ".")
	if !ok {
		return nil, false
	}
	return r.Table(layer, name)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func typeNames() []string {
	out := make([]string, 0, len(Types))
	for k := range Types {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func position(b []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
