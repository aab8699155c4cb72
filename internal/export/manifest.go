package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// ManifestName is the file, in each table's folder, that lists the files of
// the published export. Readers that want a consistent view read it first.
const ManifestName = "_manifest.json"

// ManifestVersion is the manifest format version.
const ManifestVersion = 1

// Manifest describes the published export of one table.
type Manifest struct {
	FormatVersion   int              `json:"format_version"`
	Table           string           `json:"table"`
	ExportedAt      time.Time        `json:"exported_at"`
	PartitionBy     string           `json:"partition_by"` // day, month or none
	PartitionColumn string           `json:"partition_column,omitempty"`
	Compression     string           `json:"compression"`
	LastChangeID    int64            `json:"last_change_id"`
	LastLoadID      *int64           `json:"last_load_id"`
	Rows            int64            `json:"rows"`
	Bytes           int64            `json:"bytes"`
	SchemaSHA256    string           `json:"schema_sha256"`
	Schema          []ManifestColumn `json:"schema"`
	Files           []ManifestFile   `json:"files"`
}

// ManifestFile is one Parquet file of an export.
type ManifestFile struct {
	Path      string `json:"path"`                // relative to the table's folder
	Partition string `json:"partition,omitempty"` // YYYY-MM-DD or YYYY-MM
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
	MinDate   string `json:"min_date,omitempty"`
	MaxDate   string `json:"max_date,omitempty"`
}

// errUnreadableManifest marks a manifest that exists but cannot be parsed:
// the table is then exported in full, replacing it.
var errUnreadableManifest = errors.New("unreadable manifest")

// Encode renders the manifest (files sorted by path, totals recomputed).
func (m *Manifest) Encode() ([]byte, error) {
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	m.Rows, m.Bytes = 0, 0
	for _, f := range m.Files {
		m.Rows += f.Rows
		m.Bytes += f.Bytes
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseManifest decodes a manifest; name is used in errors.
func ParseManifest(b []byte, name string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if m.FormatVersion != ManifestVersion {
		return nil, fmt.Errorf("%s: format_version %d, this novawh reads %d", name, m.FormatVersion, ManifestVersion)
	}
	return &m, nil
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
