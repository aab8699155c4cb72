package export

// Config is the export section of novawh.yaml; every key is optional and
// flags beat it:
//
//	export:
//	  to: exports                # folder, or s3://bucket/prefix, or s3:// (one bucket per layer)
//	  layers: [gold]             # bronze, silver, gold
//	  tables: [fact_forecast]    # default: every table of the layers
//	  partition_by: auto         # auto (file-size rule), day, month or none
//	  min_rows_per_file: 10000   # the file-size rule's target
//	  compression: snappy        # snappy or zstd
//	  row_group_rows: 131072
//	  max_rows_per_file: 5000000
//	  workers: 2
//	  buckets: {bronze: nova-bronze, silver: nova-silver, gold: nova-gold}
//	  bronze_retention_days: 90  # negative: keep everything
type Config struct {
	To                  string            `yaml:"to"`
	Layers              []string          `yaml:"layers"`
	Tables              []string          `yaml:"tables"`
	PartitionBy         string            `yaml:"partition_by"`
	MinRowsPerFile      int64             `yaml:"min_rows_per_file"`
	Compression         string            `yaml:"compression"`
	RowGroupRows        int               `yaml:"row_group_rows"`
	MaxRowsPerFile      int64             `yaml:"max_rows_per_file"`
	Workers             int               `yaml:"workers"`
	Buckets             map[string]string `yaml:"buckets"`
	BronzeRetentionDays int               `yaml:"bronze_retention_days"`
}

// DefaultConfig is the section's defaults (those of Options).
func DefaultConfig() Config {
	return Config{To: DefaultTo, Layers: append([]string(nil), DefaultLayers...), PartitionBy: DefaultPartitionBy,
		MinRowsPerFile: DefaultMinRowsPerFile, Compression: DefaultCompression, RowGroupRows: DefaultRowGroupRows,
		MaxRowsPerFile: DefaultMaxRowsPerFile, Workers: DefaultWorkers, BronzeRetentionDays: DefaultBronzeRetentionDays}
}

// Options turns the section into run options (zero values take defaults).
func (c Config) Options() Options {
	return Options{To: c.To, Layers: c.Layers, Tables: c.Tables, PartitionBy: c.PartitionBy, MinRowsPerFile: c.MinRowsPerFile,
		Compression: c.Compression, RowGroupRows: c.RowGroupRows, MaxRowsPerFile: c.MaxRowsPerFile, Workers: c.Workers,
		Buckets: c.Buckets, BronzeRetentionDays: c.BronzeRetentionDays}
}
