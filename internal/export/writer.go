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
const batchRows = 128

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
// held column by column, and the arena the batch's strings are copied into.
type scratch struct {
	batch *colBatch
	arena []byte
}

func (w *partitionWriter) scratch() *scratch {
	if sc, ok := w.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{batch: newColBatch(len(w.p.fl.cols), batchRows), arena: make([]byte, 0, 1<<20)}
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
	cond, args, err := w.p.where(key)
	if err != nil {
		return nil, err
	}
	return w.queryWhere(ctx, q, cond, args...)
}

// queryWhere starts reading the rows that match cond (all when "").
func (w *partitionWriter) queryWhere(ctx context.Context, q pgx.Tx, cond string, args ...any) (pgx.Rows, error) {
	ts := w.ts
	sql := "SELECT " + ts.selectList() + " FROM " + ts.relation()
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
	sk := w.sink(tx, key)
	defer sk.release()
	for rows.Next() {
		if err := sk.add(ctx, rows.RawValues()); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: read: %w", sk.where, err)
	}
	files, err := sk.finish(ctx)
	if err != nil {
		return nil, err
	}
	w.log.Debug("partition exported", "table", w.ts.table.Qualified(), "partition", key, "files", len(files),
		"rows", sk.line, "duration_ms", time.Since(start).Milliseconds())
	return files, nil
}

// sink turns the rows of one partition into its part files: rows are
// encoded into a batch handed to the Parquet writer batchRows at a time,
// and a new part starts after MaxRowsPerFile rows.
type sink struct {
	w      *partitionWriter
	tx     tableTx
	key    string
	dir    string
	where  string
	enc    *rowEncoder
	sc     *scratch
	line   int64
	cur    *fileWriter
	files  []ManifestFile
	closed bool
}

func (w *partitionWriter) sink(tx tableTx, key string) *sink {
	where := w.ts.table.Qualified()
	if key != "" {
		where += " partition " + key
	}
	sc := w.scratch()
	sc.batch.reset()
	sc.arena = sc.arena[:0]
	return &sink{w: w, tx: tx, key: key, dir: w.p.dir(key), where: where, enc: &rowEncoder{ts: w.ts, fl: w.p.fl}, sc: sc}
}

// add encodes one row (PostgreSQL binary values, nil for NULL).
func (sk *sink) add(ctx context.Context, raw [][]byte) error {
	sk.line++
	if sk.cur == nil {
		var err error
		rel := sk.tx.PartPath(sk.dir, len(sk.files))
		if sk.cur, err = sk.w.newFile(ctx, sk.tx, rel, sk.key); err != nil {
			return fmt.Errorf("%s: %w", sk.where, err)
		}
	}
	b := sk.sc.batch
	day, hasDay, err := sk.enc.encode(b, raw, &sk.sc.arena)
	if err != nil {
		return fmt.Errorf("%s: row %d: %w", sk.where, sk.line, err)
	}
	f := sk.cur
	f.rows++
	if hasDay {
		f.seeDay(day)
	}
	if b.rows == batchRows || f.groupRows+int64(b.rows) == int64(sk.w.opts.RowGroupRows) {
		if err := sk.flush(); err != nil {
			return err
		}
	}
	if f.rows >= sk.w.opts.MaxRowsPerFile {
		return sk.closeFile(ctx)
	}
	return nil
}

// flush hands the batch to the Parquet writer, one column at a time, and
// ends the row group once it holds RowGroupRows rows.
func (sk *sink) flush() error {
	b, f := sk.sc.batch, sk.cur
	if b.rows == 0 {
		return nil
	}
	for li, cw := range f.pw.ColumnWriters() {
		if _, err := cw.WriteRowValues(b.vals[li]); err != nil {
			return fmt.Errorf("%s: write %s: %w", sk.where, f.rel, err)
		}
	}
	f.groupRows += int64(b.rows)
	b.reset()
	sk.sc.arena = sk.sc.arena[:0]
	if f.groupRows >= int64(sk.w.opts.RowGroupRows) {
		if err := f.pw.Flush(); err != nil {
			return fmt.Errorf("%s: write %s: %w", sk.where, f.rel, err)
		}
		f.groupRows = 0
	}
	return nil
}

func (sk *sink) closeFile(ctx context.Context) error {
	if sk.cur == nil {
		return nil
	}
	if err := sk.flush(); err != nil {
		return err
	}
	f, err := sk.cur.close(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", sk.where, err)
	}
	sk.files = append(sk.files, f)
	sk.cur = nil
	return nil
}

// finish closes the last part and returns the partition's files (none
// when it had no rows).
func (sk *sink) finish(ctx context.Context) ([]ManifestFile, error) {
	if err := sk.closeFile(ctx); err != nil {
		return nil, err
	}
	return sk.files, nil
}

// release aborts an unfinished part and returns the scratch memory.
func (sk *sink) release() {
	if sk.closed {
		return
	}
	sk.closed = true
	if sk.cur != nil {
		sk.cur.abort()
		sk.cur = nil
	}
	sk.w.pool.Put(sk.sc)
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
		// Per-page min/max go to the column index (the page index readers
		// skip pages with), not into every page header as well: parquet-go
		// would compute each page's bounds twice.
		parquet.DataPageStatistics(false),
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
	groupRows      int64 // rows in the open row group
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
