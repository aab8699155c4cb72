package export

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
)

// target is where exports are published: a local folder or an S3 bucket.
type target interface {
	// String names the target without credentials; it keys meta.export_tables.
	String() string
	// Prepare creates the target when needed and removes what interrupted
	// runs left behind. It runs under the target's export lock.
	Prepare(ctx context.Context) error
	// ReadManifest returns the published manifest of layer/table (nil when
	// there is none) and its raw bytes.
	ReadManifest(ctx context.Context, layer, table string) (*Manifest, []byte, error)
	// Begin starts building a new version of layer/table on top of base.
	Begin(ctx context.Context, layer, table string, base *Manifest) (tableTx, error)
	// Location is the user-visible place of layer/table's manifest.
	Location(layer, table string) string
	// TempDir holds scratch files (spilled rows) during a run.
	TempDir() string
	Close() error
}

// tableTx builds one new version of a table's file set; nothing is visible
// to readers before Commit.
type tableTx interface {
	// PartPath is the path, relative to the table folder, of the i-th file
	// written for partition folder dir ("" for an unpartitioned table).
	PartPath(dir string, i int) string
	// Create opens a new file at rel.
	Create(ctx context.Context, rel string) (partFile, error)
	// Keep carries a published file over unchanged.
	Keep(ctx context.Context, f ManifestFile) error
	// Commit publishes the files written and kept with the manifest, and
	// removes every other file of the table.
	Commit(ctx context.Context, manifest []byte) error
	// Abort discards everything written; the published version stays.
	Abort()
}

// partFile is a file being written; Close makes it durable (fsync or upload).
type partFile interface {
	io.Writer
	Close(ctx context.Context) error
	Abort()
}

// openTarget parses --to: a folder, or s3://bucket/prefix (s3:// alone uses
// the layer's default bucket nova-<layer>).
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

// partitionDir is the folder of a partition key: date=YYYY-MM-DD for day
// partitions, month=YYYY-MM for month partitions, "" for none.
func partitionDir(partitionBy, key string) string {
	switch {
	case key == "":
		return ""
	case partitionBy == "month":
		return "month=" + key
	default:
		return "date=" + key
	}
}

// partPath joins a partition folder and a part number.
func partPath(dir string, n int) string {
	name := fmt.Sprintf("part-%05d.parquet", n)
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
