package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// batchRows is how many rows are handed to the Parquet writer at once.
const batchRows = 1024

// partitionWriter streams the rows of one partition from PostgreSQL into
// one or more Parquet files. Workers share it.
type partitionWriter struct {
	ts   *tableSchema
	p    *plan
	opts Options
	log  *slog.Logger
	pool sync.Pool // of *scratch
}

// scratch is the reusable memory of one writeRows call: a batch of rows
// (one backing array, a row's values stay in place from batch to batch) and
// the arena the batch's strings are copied into.
type scratch struct {
	batch []parquet.Row
	arena []byte
}

func (w *partitionWriter) scratch() *scratch {
	if sc, ok := w.pool.Get().(*scratch); ok {
		return sc
	}
	n := len(w.ts.cols)
	values := make([]parquet.Value, batchRows*n)
	sc := &scratch{batch: make([]parquet.Row, batchRows), arena: make([]byte, 0, 1<<20)}
	for i := range sc.batch {
		sc.batch[i] = values[i*n : i*n : (i+1)*n]
	}
	return sc
}

// rowSource yields rows of PostgreSQL binary values (nil for NULL) in the
// table's column order: a pgx result or a spill file.
type rowSource interface {
	Next() bool
	RawValues() [][]byte
	Err() error
}

// query starts reading the rows of partition key ("" for the whole table)
// in the file order: physical order for partitioned tables (the session
// disables index scans, so a range is read by a bitmap or sequential scan),
// key order for unpartitioned ones.
func (w *partitionWriter) query(ctx context.Context, q pgx.Tx, key string) (pgx.Rows, error) {
	ts := w.ts
	sql := "SELECT " + ts.selectList() + " FROM " + ts.relation()
	cond, args, err := w.p.where(key)
	if err != nil {
		return nil, err
	}
	if cond != "" {
		sql += " WHERE " + cond
	}
	if ts.orderBy != "" {
		sql += " ORDER BY " + ts.orderBy
	}
	rows, err := q.Query(ctx, sql, append([]any{pgx.QueryResultFormats{pgx.BinaryFormatCode}}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: query: %w", ts.table.Qualified(), err)
	}
	for i, fd := range rows.FieldDescriptions() {
		if !slices.Contains(ts.cols[i].oids, fd.DataTypeOID) {
			rows.Close()
			return nil, fmt.Errorf("%s.%s: the database returns type OID %d where the schema registry says %s (%s): run novawh registry check",
				ts.table.Qualified(), ts.cols[i].name, fd.DataTypeOID, ts.cols[i].regType, ts.cols[i].physical)
		}
	}
	return rows, nil
}

// write exports partition key ("" for an unpartitioned table) read from
// PostgreSQL and returns its files; none when it has no rows.
func (w *partitionWriter) write(ctx context.Context, q pgx.Tx, tx tableTx, key string) ([]ManifestFile, error) {
	rows, err := w.query(ctx, q, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return w.writeRows(ctx, tx, key, rows)
}

// writeRows writes the rows of partition key from src into part files.
func (w *partitionWriter) writeRows(ctx context.Context, tx tableTx, key string, rows rowSource) ([]ManifestFile, error) {
	start := time.Now()
	ts := w.ts
	where := ts.table.Qualified()
	if key != "" {
		where += " partition " + key
	}
	dir := w.p.dir(key)
	enc := &rowEncoder{ts: ts, fl: w.p.fl}
	sc := w.scratch()
	defer w.pool.Put(sc)
	batch, arena := sc.batch, sc.arena[:0]
	defer func() { sc.arena = arena[:0] }()
	var files []ManifestFile
	var cur *fileWriter
	n := 0
	var line int64
	flush := func() error {
		if n == 0 {
			return nil
		}
		if _, err := cur.pw.WriteRows(batch[:n]); err != nil {
			return fmt.Errorf("%s: write %s: %w", where, cur.rel, err)
		}
		n = 0
		arena = arena[:0]
		return nil
	}
	finish := func() error {
		if cur == nil {
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		f, err := cur.close(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		files = append(files, f)
		cur = nil
		return nil
	}
	defer func() {
		if cur != nil {
			cur.abort()
		}
	}()
	for rows.Next() {
		line++
		if cur == nil {
			var err error
			rel := tx.PartPath(dir, len(files))
			if cur, err = w.newFile(ctx, tx, rel, key); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		row, day, hasDay, err := enc.encode(batch[n][:0], rows.RawValues(), &arena)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", where, line, err)
		}
		batch[n] = row
		n++
		cur.rows++
		if hasDay {
			cur.seeDay(day)
		}
		if n == batchRows {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if cur.rows >= w.opts.MaxRowsPerFile {
			if err := finish(); err != nil {
				return nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: read: %w", where, err)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	w.log.Debug("partition exported", "table", ts.table.Qualified(), "partition", key, "files", len(files),
		"rows", line, "duration_ms", time.Since(start).Milliseconds())
	return files, nil
}

func (w *partitionWriter) newFile(ctx context.Context, tx tableTx, rel, key string) (*fileWriter, error) {
	pf, err := tx.Create(ctx, rel)
	if err != nil {
		return nil, err
	}
	var codec compress.Codec = &parquet.Snappy
	if w.opts.Compression == "zstd" {
		codec = &parquet.Zstd
	}
	fw := &fileWriter{pf: pf, h: sha256.New(), rel: rel, key: key}
	fw.pw = parquet.NewGenericWriter[any](fw, w.p.fl.schema,
		parquet.Compression(codec),
		parquet.MaxRowsPerRowGroup(int64(w.opts.RowGroupRows)),
		// Smaller than the 256 KiB default: a writer per file allocates one
		// buffer per column, and pages of 64 KiB suit readers as well.
		parquet.PageBufferSize(64<<10),
		parquet.DataPageStatistics(true),
		parquet.KeyValueMetadata("novawh.table", w.ts.table.Qualified()),
		parquet.KeyValueMetadata("novawh.schema_sha256", w.ts.sha256),
	)
	return fw, nil
}

// fileWriter is one Parquet file being written; it hashes and counts the
// bytes on their way to the target.
type fileWriter struct {
	pf             partFile
	pw             *parquet.GenericWriter[any]
	h              hash.Hash
	rel, key       string
	bytes, rows    int64
	minDay, maxDay int32
	hasDay         bool
}

func (f *fileWriter) Write(p []byte) (int, error) {
	n, err := f.pf.Write(p)
	f.h.Write(p[:n])
	f.bytes += int64(n)
	return n, err
}

func (f *fileWriter) seeDay(d int32) {
	if !f.hasDay || d < f.minDay {
		f.minDay = d
	}
	if !f.hasDay || d > f.maxDay {
		f.maxDay = d
	}
	f.hasDay = true
}

func (f *fileWriter) close(ctx context.Context) (ManifestFile, error) {
	if err := f.pw.Close(); err != nil {
		f.abort()
		return ManifestFile{}, fmt.Errorf("write %s: %w", f.rel, err)
	}
	if err := f.pf.Close(ctx); err != nil {
		return ManifestFile{}, fmt.Errorf("write %s: %w", f.rel, err)
	}
	mf := ManifestFile{Path: f.rel, Partition: f.key, Rows: f.rows, Bytes: f.bytes, SHA256: hex.EncodeToString(f.h.Sum(nil))}
	if f.hasDay {
		mf.MinDate, mf.MaxDate = dayString(f.minDay), dayString(f.maxDay)
	}
	f.pf = nil
	return mf, nil
}

func (f *fileWriter) abort() {
	if f.pf != nil {
		f.pf.Abort()
		f.pf = nil
	}
}

func dayString(d int32) string {
	return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
}
