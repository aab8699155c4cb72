package export

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
)

// target is where exports are published: a local folder or S3 (one bucket
// with a prefix, or one bucket per layer).
type target interface {
	// String names the target without credentials; it keys
	// meta.export_runs and the export lock.
	String() string
	// Prepare creates what the target needs and removes what interrupted
	// runs left behind. It runs under the target's export lock.
	Prepare(ctx context.Context) error
	// Layer is the root of one layer (bronze, silver, gold).
	Layer(ctx context.Context, layer string) (layerRoot, error)
	// TempDir holds scratch files (spilled rows) during a run.
	TempDir() string
	// Finish removes the run's scratch folders.
	Finish() error
	Close() error
}

// layerRoot is the folder or bucket (prefix) of one layer.
type layerRoot interface {
	// String is the layer root's location; it keys meta.export_tables.
	String() string
	// Location is the user-visible location of rel under the root.
	Location(rel string) string
	// Read returns the bytes at rel (nil, nil when there is nothing).
	Read(ctx context.Context, rel string) ([]byte, error)
	// Open reads the file at rel (verification).
	Open(ctx context.Context, rel string) (io.ReadCloser, error)
	// Begin starts a new version of the layer on top of the published one.
	Begin(ctx context.Context) (layerTx, error)
	// Repair brings the published table folders in line with the layer
	// manifest: objects it does not name are deleted, each table's
	// _manifest.json is the one the layer manifest names, _SUCCESS is
	// present. Only S3 needs it (a local layer is published whole).
	Repair(ctx context.Context, tables []publishedTable) error
}

// publishedTable is one table of a published layer manifest.
type publishedTable struct {
	entry    LayerTable
	manifest *Manifest
	raw      []byte
}

// layerTx builds a new version of a layer; nothing is visible to readers
// before Commit.
type layerTx interface {
	// Table starts writing a new version of the table in folder name on
	// top of base (nil: from scratch).
	Table(ctx context.Context, name string, base *Manifest) (tableTx, error)
	// Commit publishes the layer manifest, which names every table's
	// manifest, in one atomic step; the previous version stays readable up
	// to that moment. rewritten lists the tables written by Table.
	Commit(ctx context.Context, layerManifest []byte, rewritten []publishedTable) error
	// Abort discards everything written; the published version stays.
	Abort()
}

// tableTx builds one new version of a table's file set.
type tableTx interface {
	// PartPath is the path, relative to the table folder, of the i-th file
	// written for partition folder dir ("" for an unpartitioned table).
	PartPath(dir string, i int) string
	// Create opens a new file at rel.
	Create(ctx context.Context, rel string) (partFile, error)
	// Keep carries a published file over unchanged.
	Keep(ctx context.Context, f ManifestFile) error
	// Finish makes the files durable and writes the table's manifest under
	// a name of version; it returns the manifest's path relative to the
	// layer root. Nothing is visible before the layer's Commit.
	Finish(ctx context.Context, manifest []byte, version string) (string, error)
}

// partFile is a file being written; Close makes it durable (fsync or upload).
type partFile interface {
	io.Writer
	Close(ctx context.Context) error
	Abort()
}

// openTarget parses --to: a folder, or s3://bucket/prefix (s3:// alone: one
// bucket per layer, named by buckets or nova-<layer>).
func openTarget(ctx context.Context, to string, opt s3Options) (target, error) {
	if strings.HasPrefix(to, "s3://") || to == "s3:" {
		rest := strings.TrimPrefix(strings.TrimPrefix(to, "s3:"), "//")
		bucket, prefix, _ := strings.Cut(rest, "/")
		prefix = strings.Trim(path.Clean("/"+prefix), "/")
		return newS3Target(ctx, bucket, prefix, opt)
	}
	if err := checkTarget(to); err != nil {
		return nil, err
	}
	return newLocalTarget(to)
}

// checkTarget rejects URLs other than s3://.
func checkTarget(to string) error {
	if strings.Contains(to, "://") && !strings.HasPrefix(to, "s3://") {
		return fmt.Errorf("export target %q: want a folder or s3://bucket/prefix", to)
	}
	return nil
}

// partPath joins a partition folder and a part number.
func partPath(dir string, n int) string {
	name := fmt.Sprintf("part-%05d.parquet", n)
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// tableGlob is the glob, relative to the layer root, that reads every
// Parquet file of table name.
func tableGlob(name string) string { return name + "/**/*.parquet" }
