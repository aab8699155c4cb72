package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// ManifestName is the file that describes a published export: in a layer's
// folder (or bucket) it is the layer manifest, which names the manifest of
// every table and is written last; in a table's folder it is that table's
// manifest. Readers that want a consistent view read the layer manifest
// first and then only the files it names.
const ManifestName = "_manifest.json"

// SuccessName is the empty marker written in a table's folder once the
// folder holds exactly one complete version of the table (Hadoop and Spark
// convention).
const SuccessName = "_SUCCESS"

// ManifestVersion is the manifest format version (1: one manifest per
// table, the partition date also inside the files; 2: a layer manifest and
// the date of day partitions only in the folder names).
const ManifestVersion = 2

// Manifest describes the published export of one table.
type Manifest struct {
	FormatVersion int       `json:"format_version"`
	Table         string    `json:"table"` // the relation read, e.g. gold.fact_forecast or meta.loads
	Layer         string    `json:"layer"` // the lake layer it is published in
	RunID         int64     `json:"run_id"`
	ExportedAt    time.Time `json:"exported_at"`
	// PartitionBy is day, month or none; PartitionRule says how it was
	// chosen; PartitionSource where the partition date comes from.
	PartitionBy   string `json:"partition_by"`
	PartitionRule string `json:"partition_rule"`
	// MinRowsPerFile is the file-size rule's target the grain was chosen
	// with (0: the grain was forced with --partition-by).
	MinRowsPerFile  int64  `json:"min_rows_per_file"`
	PartitionSource string `json:"partition_source,omitempty"`
	// PartitionColumn is the table column the partitions split (date); its
	// values are in the folder names (day partitions: only there).
	PartitionColumn string `json:"partition_column,omitempty"`
	// PartitionColumns are the columns a Hive-style reader infers from the
	// folder names.
	PartitionColumns []ManifestColumn `json:"partition_columns"`
	// Glob reads every file of the table, relative to the layer's root.
	Glob         string           `json:"glob"`
	Compression  string           `json:"compression"`
	LastChangeID int64            `json:"last_change_id"`
	LastLoadID   *int64           `json:"last_load_id"`
	Rows         int64            `json:"rows"`
	Bytes        int64            `json:"bytes"`
	SchemaSHA256 string           `json:"schema_sha256"`
	Schema       []ManifestColumn `json:"schema"` // the columns inside the files
	Files        []ManifestFile   `json:"files"`
	// Loads lists, for bronze, every load (meta.loads) whose rows the files
	// hold, with its row count and checksum.
	Loads []ManifestLoad `json:"loads,omitempty"`
	// RetentionCutoff is, for bronze, the first instant whose loads the
	// export holds: older ones have left the lake (bronze retention).
	RetentionCutoff *time.Time `json:"retention_cutoff,omitempty"`
}

// ManifestFile is one Parquet file of an export.
type ManifestFile struct {
	Path      string `json:"path"`                // relative to the table's folder
	Partition string `json:"partition,omitempty"` // YYYY-MM-DD, YYYY-MM or __HIVE_DEFAULT_PARTITION__
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
	MinDate   string `json:"min_date,omitempty"`
	MaxDate   string `json:"max_date,omitempty"`
	// Checksum is, for silver and bronze, the partition's content checksum
	// computed by PostgreSQL (rows:sum of the rows' 64-bit text hashes):
	// incremental exports compare it to find changed partitions.
	Checksum string `json:"checksum,omitempty"`
}

// ManifestLoad is one load whose rows a bronze export holds.
type ManifestLoad struct {
	LoadID    int64  `json:"load_id"`
	Day       string `json:"day"`       // the day it started, UTC
	Partition string `json:"partition"` // key of the partition holding its rows
	Rows      int64  `json:"rows"`
	Checksum  string `json:"checksum"`
}

// LayerManifest is the layer's manifest: the one file readers of a layer
// must trust. It is written last, after every table manifest it names.
type LayerManifest struct {
	FormatVersion int          `json:"format_version"`
	Layer         string       `json:"layer"`
	RunID         int64        `json:"run_id"`
	ExportedAt    time.Time    `json:"exported_at"`
	LastLoadID    *int64       `json:"last_load_id"`
	Tables        []LayerTable `json:"tables"`
}

// LayerTable is one table of a layer manifest.
type LayerTable struct {
	Name  string `json:"name"`  // folder of the table
	Table string `json:"table"` // the relation read
	// Manifest is the table manifest's path relative to the layer's root.
	Manifest       string    `json:"manifest"`
	ManifestSHA256 string    `json:"manifest_sha256"`
	Glob           string    `json:"glob"`
	PartitionBy    string    `json:"partition_by"`
	Rows           int64     `json:"rows"`
	Files          int       `json:"files"`
	Bytes          int64     `json:"bytes"`
	RunID          int64     `json:"run_id"`
	ExportedAt     time.Time `json:"exported_at"`
}

// errUnreadableManifest marks a manifest that exists but cannot be parsed:
// the table is then exported in full, replacing it.
var errUnreadableManifest = errors.New("unreadable manifest")

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Encode renders the manifest (files sorted by path, totals recomputed).
func (m *Manifest) Encode() ([]byte, error) {
	if m.Files == nil {
		m.Files = []ManifestFile{}
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	sort.Slice(m.Loads, func(i, j int) bool { return m.Loads[i].LoadID < m.Loads[j].LoadID })
	m.Rows, m.Bytes = 0, 0
	for _, f := range m.Files {
		m.Rows += f.Rows
		m.Bytes += f.Bytes
	}
	return encodeJSON(m)
}

// Encode renders the layer manifest (tables sorted by name).
func (m *LayerManifest) Encode() ([]byte, error) {
	if m.Tables == nil {
		m.Tables = []LayerTable{}
	}
	sort.Slice(m.Tables, func(i, j int) bool { return m.Tables[i].Name < m.Tables[j].Name })
	return encodeJSON(m)
}

// ParseManifest decodes a table manifest; name is used in errors.
func ParseManifest(b []byte, name string) (*Manifest, error) {
	var m Manifest
	if err := parseVersioned(b, name, &m, &m.FormatVersion); err != nil {
		return nil, err
	}
	if m.Table == "" {
		return nil, fmt.Errorf("%s: not a table manifest (no \"table\")", name)
	}
	return &m, nil
}

// ParseLayerManifest decodes a layer manifest; name is used in errors.
func ParseLayerManifest(b []byte, name string) (*LayerManifest, error) {
	var m LayerManifest
	if err := parseVersioned(b, name, &m, &m.FormatVersion); err != nil {
		return nil, err
	}
	if m.Layer == "" {
		return nil, fmt.Errorf("%s: not a layer manifest (no \"layer\")", name)
	}
	return &m, nil
}

// IsLayerManifest reports whether b is a layer manifest (it has "tables").
func IsLayerManifest(b []byte) bool {
	var probe struct {
		Tables json.RawMessage `json:"tables"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.Tables != nil
}

func parseVersioned(b []byte, name string, v any, version *int) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if *version != ManifestVersion {
		return fmt.Errorf("%s: format_version %d, this novawh reads %d", name, *version, ManifestVersion)
	}
	return nil
}

// table finds a table of the layer manifest by folder name.
func (m *LayerManifest) table(name string) *LayerTable {
	if m == nil {
		return nil
	}
	for i := range m.Tables {
		if m.Tables[i].Name == name {
			return &m.Tables[i]
		}
	}
	return nil
}

// byPartition groups the manifest's files by partition key.
func (m *Manifest) byPartition() map[string][]ManifestFile {
	out := map[string][]ManifestFile{}
	if m == nil {
		return out
	}
	for _, f := range m.Files {
		out[f.Partition] = append(out[f.Partition], f)
	}
	return out
}

// ManifestColumn describes one column of an exported table in its manifest.
type ManifestColumn struct {
	Name     string `json:"name"`
	Type     string `json:"type"`    // registry type
	Parquet  string `json:"parquet"` // Parquet physical and logical type ("path": only in folder names)
	Nullable bool   `json:"nullable"`
}
