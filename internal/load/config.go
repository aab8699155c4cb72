package load

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/registry"
)

// Config is the `sources:` section of novawh.yaml: one entry per file
// source, keyed by the name given to `novawh load --source`.
type Config struct {
	Sources map[string]*Source
}

// Source describes one file source. Types, nullability and ranges are not
// configured here: they come from the target table in the schema registry.
type Source struct {
	Name        string `yaml:"-"`
	Description string `yaml:"description"`
	// Table is the target, "bronze.ml_forecasts".
	Table string `yaml:"table"`
	// Format is csv, parquet or auto (by extension, then by content).
	Format string `yaml:"format"`
	// MLMetadata applies the ML metadata rule (model_version, generated_at,
	// source, dataset_id required on every row). nil: the registry's
	// ml_result flag of the table decides.
	MLMetadata *bool `yaml:"ml_metadata"`
	// BusinessDate is the column whose min/max go to meta.loads
	// (default: "date" when the table has it).
	BusinessDate string `yaml:"business_date"`
	// FilenamePattern is a regular expression matched against the file's
	// base name without extension; named groups fill the columns of the
	// same name when the file has no such column.
	FilenamePattern string  `yaml:"filename_pattern"`
	Dialect         Dialect `yaml:"dialect"`
	// Columns maps target columns to how the file supplies them.
	Columns map[string]*ColumnSpec `yaml:"columns"`

	filenameRe *regexp.Regexp
}

// Dialect is how a CSV file is written.
type Dialect struct {
	Delimiter string `yaml:"delimiter"` // "," (default), ";", "\t" or "|"
	Decimal   string `yaml:"decimal"`   // "." (default) or ","
	Thousands string `yaml:"thousands"` // "" (default), "." or "," or " "
	// Encoding is utf-8 (default; a BOM is tolerated), latin-1 or
	// windows-1252. A file starting with a UTF-8 BOM is read as UTF-8.
	Encoding string `yaml:"encoding"`
	// DateLayouts are Go time layouts tried in order (default 2006-01-02).
	// RFC 3339 timestamps are always accepted in date columns (their date).
	DateLayouts []string `yaml:"date_layouts"`
	// TimestampLayouts are tried before the built-in RFC 3339 forms; a
	// layout without a zone is read as UTC.
	TimestampLayouts []string `yaml:"timestamp_layouts"`
	// NullValues are cell values read as NULL besides the empty cell.
	NullValues []string `yaml:"null_values"`
	// MaxRecordBytes bounds one record (default 1 MiB); a longer record is
	// rejected, the file goes on.
	MaxRecordBytes int `yaml:"max_record_bytes"`
}

// ColumnSpec says where a target column comes from. In YAML either a list
// of accepted header names, or a mapping with the fields below.
type ColumnSpec struct {
	// Headers are the accepted header names, matched case-, accent- and
	// whitespace-insensitively. Default: the column's own name.
	Headers []string `yaml:"headers"`
	// Required fails the file when no header (nor the file name pattern,
	// nor a fallback) supplies the column.
	Required bool `yaml:"required"`
	// Year and Month compose a date (first day of the month) from two
	// columns, e.g. Anatel's Ano and Mês.
	Year  []string `yaml:"year"`
	Month []string `yaml:"month"`
	// Fallback supplies the column when the file lacks it: "as_of" (the
	// --as-of date, else the sidecar's as_of, else the date of
	// generated_at).
	Fallback string `yaml:"fallback"`
}

// UnmarshalYAML accepts a plain list of header names as a short form.
func (c *ColumnSpec) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		return n.Decode(&c.Headers)
	case yaml.ScalarNode:
		c.Headers = []string{n.Value}
		return nil
	}
	type plain ColumnSpec
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = ColumnSpec(p)
	return nil
}

// LoadConfig decodes the `sources:` section of the configuration file.
func LoadConfig(f *config.File) (Config, error) {
	var m map[string]*Source
	if err := f.Decode("sources", &m); err != nil {
		return Config{}, err
	}
	cfg := Config{Sources: map[string]*Source{}}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		s := m[name]
		if s == nil {
			return Config{}, fmt.Errorf("%s: sources.%s: empty definition", f.Path, name)
		}
		s.Name = name
		if err := s.normalize(); err != nil {
			return Config{}, fmt.Errorf("%s: sources.%s: %w", f.Path, name, err)
		}
		cfg.Sources[name] = s
	}
	return cfg, nil
}

// Names lists the configured sources.
func (c Config) Names() []string {
	out := make([]string, 0, len(c.Sources))
	for k := range c.Sources {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Source) normalize() error {
	if !strings.Contains(s.Table, ".") {
		return fmt.Errorf("table %q must be schema.name (e.g. bronze.ml_forecasts)", s.Table)
	}
	switch s.Format {
	case "":
		s.Format = "auto"
	case "auto", "csv", "parquet":
	default:
		return fmt.Errorf("format %q must be csv, parquet or auto", s.Format)
	}
	d := &s.Dialect
	switch d.Delimiter {
	case "":
		d.Delimiter = ","
	case ",", ";", "\t", "|":
	default:
		return fmt.Errorf("dialect.delimiter %q must be one of , ; | or a tab", d.Delimiter)
	}
	switch d.Decimal {
	case "":
		d.Decimal = "."
	case ".", ",":
	default:
		return fmt.Errorf("dialect.decimal %q must be . or ,", d.Decimal)
	}
	switch d.Thousands {
	case "", ".", ",", " ":
	default:
		return fmt.Errorf("dialect.thousands %q must be empty, '.', ',' or ' '", d.Thousands)
	}
	if d.Thousands != "" && d.Thousands == d.Decimal {
		return fmt.Errorf("dialect.thousands and dialect.decimal are both %q", d.Decimal)
	}
	if d.Decimal == d.Delimiter {
		return fmt.Errorf("dialect.decimal %q equals the delimiter", d.Decimal)
	}
	switch strings.ToLower(d.Encoding) {
	case "", "utf-8", "utf8":
		d.Encoding = "utf-8"
	case "latin-1", "latin1", "iso-8859-1":
		d.Encoding = "latin-1"
	case "windows-1252", "cp1252":
		d.Encoding = "windows-1252"
	default:
		return fmt.Errorf("dialect.encoding %q must be utf-8, latin-1 or windows-1252", d.Encoding)
	}
	if len(d.DateLayouts) == 0 {
		d.DateLayouts = []string{"2006-01-02"}
	}
	if d.MaxRecordBytes <= 0 {
		d.MaxRecordBytes = 1 << 20
	}
	if s.FilenamePattern != "" {
		re, err := regexp.Compile(s.FilenamePattern)
		if err != nil {
			return fmt.Errorf("filename_pattern: %w", err)
		}
		s.filenameRe = re
	}
	if len(s.Columns) == 0 {
		return fmt.Errorf("columns: at least one column mapping is needed")
	}
	for col, spec := range s.Columns {
		if spec == nil {
			spec = &ColumnSpec{}
			s.Columns[col] = spec
		}
		if (len(spec.Year) == 0) != (len(spec.Month) == 0) {
			return fmt.Errorf("columns.%s: year and month go together", col)
		}
		if len(spec.Headers) == 0 && len(spec.Year) == 0 {
			spec.Headers = []string{col}
		}
		switch spec.Fallback {
		case "", "as_of":
		default:
			return fmt.Errorf("columns.%s: fallback %q must be as_of", col, spec.Fallback)
		}
	}
	return nil
}

// Check validates every source against the schema registry: target table,
// mapped columns, business date and the ML metadata columns.
func (c Config) Check(reg *registry.Registry) error {
	l := &Loader{reg: reg, cfg: c}
	var errs []error
	for _, name := range c.Names() {
		if _, _, _, err := l.source(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
