package export

// Config is the export section of novawh.yaml; every key is optional and
// flags beat it:
//
//	export:
//	  to: exports                # folder, or s3://bucket/prefix
//	  tables: [fact_forecast]    # default: every gold table
//	  partition_by: day          # day or month
//	  compression: snappy        # snappy or zstd
//	  row_group_rows: 131072
//	  max_rows_per_file: 5000000
//	  workers: 2
type Config struct {
	To             string   `yaml:"to"`
	Tables         []string `yaml:"tables"`
	PartitionBy    string   `yaml:"partition_by"`
	Compression    string   `yaml:"compression"`
	RowGroupRows   int      `yaml:"row_group_rows"`
	MaxRowsPerFile int64    `yaml:"max_rows_per_file"`
	Workers        int      `yaml:"workers"`
}

// DefaultConfig is the section's defaults (those of Options).
func DefaultConfig() Config {
	return Config{To: DefaultTo, PartitionBy: DefaultPartitionBy, Compression: DefaultCompression,
		RowGroupRows: DefaultRowGroupRows, MaxRowsPerFile: DefaultMaxRowsPerFile, Workers: DefaultWorkers}
}

// Options turns the section into run options (zero values take defaults).
func (c Config) Options() Options {
	return Options{To: c.To, Tables: c.Tables, PartitionBy: c.PartitionBy, Compression: c.Compression,
		RowGroupRows: c.RowGroupRows, MaxRowsPerFile: c.MaxRowsPerFile, Workers: c.Workers}
}
