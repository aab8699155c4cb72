package export

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/progress"
)

// A full export of a partitioned table whose rows are not stored in date
// order reads the table once, sequentially (what psql \copy does), and
// routes each row, still in PostgreSQL's binary format, to its partition's
// buffer; full buffers are appended to one spill file per reader, as
// segments, and each partition is then encoded from its segments, read back
// in order. Reading every partition with its own range query would visit
// most of the table's pages once per partition. Rows keep their physical
// order, as a range query would return them, so both ways produce the same
// files.
//
// One file, not one per partition: a table of three years in day
// partitions had 1,095 spill files per reader, and creating that many
// files (ext4 searches its inode tables for each, the more so after the
// last table's spill files were deleted) cost more CPU than the export's
// encoding of those partitions. A partition's segments are scattered
// through the file; they are read back from the page cache (a spill is a
// fraction of the table, written moments before).

// spillMemory bounds the buffers of all partitions of a spill together.
const spillMemory = 32 << 20

// spillRowRoom is the room a spill buffer has beyond its flush size, so
// that the row that crosses it is appended without reallocating (a longer
// row reallocates once).
const spillRowRoom = 2 << 10

// Spill buffers are between spillMinBuffer and spillMaxBuffer long.
const (
	spillMinBuffer = 8 << 10
	spillMaxBuffer = 256 << 10
)

// spill holds the rows of one table (or of one chunk of it) in one spill
// file, by partition.
type spill struct {
	dir    string
	f      *os.File // the spill file (path()), created by the first flush
	size   int64    // its length
	memory int      // the budget of all buffers together
	bufCap int      // the flush size of a buffer: memory shared by the partitions, within [spillMinBuffer, spillMaxBuffer]
	parts  map[string]*spillPart
	// rebalanced is the number of partitions when the buffers were last
	// shrunk to bufCap.
	rebalanced int
}

type spillPart struct {
	buf  []byte
	rows int64
	segs []segment // where its flushed rows are in the spill file, in order
}

// segment is a byte range of the spill file.
type segment struct {
	off int64
	n   int64
}

// spillTable reads the table (the blocks [lo, hi) of it when hi > 0: one
// chunk of a parallel read) once and writes every row to the spill file of
// its partition under tempDir; read counts the rows read (progress).
// Spill files share the memory budget with the other chunks read at the
// same time (share of them).
func (w *partitionWriter) spillTable(ctx context.Context, q pgx.Tx, tempDir string, read *progress.Task, lo, hi int64, share int) (*spill, error) {
	start := time.Now()
	if err := os.MkdirAll(tempDir, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempDir, "spill-"+w.ts.table.Name+"-")
	if err != nil {
		return nil, err
	}
	sp := newSpill(dir, spillMemory/max(1, share))
	cond, args := "", []any{}
	if hi > 0 {
		cond, args = "ctid >= $1::tid AND ctid < $2::tid", []any{fmt.Sprintf("(%d,0)", lo), fmt.Sprintf("(%d,0)", hi)}
	} else if lo > 0 {
		cond, args = "ctid >= $1::tid", []any{fmt.Sprintf("(%d,0)", lo)}
	}
	rows, err := w.queryWhere(ctx, q, cond, args...)
	if err != nil {
		sp.remove()
		return nil, err
	}
	defer rows.Close()
	route := newDayRouter(w, func(key string) (*spillPart, error) {
		if p := sp.parts[key]; p != nil {
			return p, nil
		}
		return sp.newPart(key)
	})
	var n int64
	for rows.Next() {
		n++
		if n%65536 == 0 {
			read.Add(65536)
		}
		raw := rows.RawValues()
		p, err := route.of(raw, n)
		if err == nil {
			err = sp.add(p, raw)
		}
		if err != nil {
			sp.remove()
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		sp.remove()
		return nil, fmt.Errorf("%s: read: %w", w.ts.table.Qualified(), err)
	}
	for _, p := range sp.parts {
		if err := sp.flush(p); err != nil {
			sp.remove()
			return nil, err
		}
		p.buf = nil // the encoders, next, need the memory
	}
	w.log.Debug("table read into spill files", "table", w.ts.table.Qualified(), "blocks_from", lo, "blocks_to", hi, "rows", n,
		"partitions", len(sp.parts), "duration_ms", time.Since(start).Milliseconds())
	return sp, nil
}

// newSpill returns the spill of a table read into dir, its buffers within
// memory bytes (see newPart).
func newSpill(dir string, memory int) *spill {
	return &spill{dir: dir, memory: memory, bufCap: spillMaxBuffer, parts: map[string]*spillPart{}}
}

// newPart adds the partition key. Each buffer is flushed once it reaches
// bufCap and is allocated with room for a row beyond it, so that appends do
// not reallocate it; bufCap is the memory shared by the partitions, so it
// shrinks as partitions appear. Buffers allocated earlier keep their larger
// size until they flush (rows that come day by day never come back to the
// first days), so each time the partitions have grown by a quarter
// since the last time, every buffer larger than bufCap is flushed and
// replaced. All buffers together then stay within a quarter more than
// memory (or than spillMinBuffer a partition, when there are more partitions
// than memory has room for) plus spillRowRoom a buffer, however many
// partitions the table has, for a few flushes per buffer; a row longer than
// spillRowRoom grows its buffer until the next flush.
func (sp *spill) newPart(key string) (*spillPart, error) {
	n := len(sp.parts) + 1
	sp.bufCap = max(spillMinBuffer, min(spillMaxBuffer, sp.memory/n))
	if n*4 >= sp.rebalanced*5 {
		sp.rebalanced = n
		for _, p := range sp.parts {
			if cap(p.buf) > sp.bufCap+spillRowRoom {
				if err := sp.flush(p); err != nil {
					return nil, err
				}
				p.buf = make([]byte, 0, sp.bufCap+spillRowRoom)
			}
		}
	}
	p := &spillPart{buf: make([]byte, 0, sp.bufCap+spillRowRoom)}
	sp.parts[key] = p
	return p, nil
}

// add appends one row to the partition's buffer, flushing it when full.
func (sp *spill) add(p *spillPart, raw [][]byte) error {
	p.rows++
	p.buf = appendRaw(p.buf, raw)
	if len(p.buf) < sp.bufCap {
		return nil
	}
	if err := sp.flush(p); err != nil {
		return err
	}
	if cap(p.buf) > sp.bufCap+spillRowRoom {
		p.buf = make([]byte, 0, sp.bufCap+spillRowRoom)
	}
	return nil
}

// flush appends the buffer to the spill file, as the partition's next
// segment (merged with its last one when that ends the file).
func (sp *spill) flush(p *spillPart) error {
	if len(p.buf) == 0 {
		return nil
	}
	if sp.f == nil {
		f, err := os.OpenFile(sp.path(), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err != nil {
			return err
		}
		sp.f = f
	}
	if _, err := sp.f.Write(p.buf); err != nil {
		return fmt.Errorf("spill file %s: %w", sp.f.Name(), err)
	}
	n := int64(len(p.buf))
	if k := len(p.segs) - 1; k >= 0 && p.segs[k].off+p.segs[k].n == sp.size {
		p.segs[k].n += n
	} else {
		p.segs = append(p.segs, segment{off: sp.size, n: n})
	}
	sp.size += n
	p.buf = p.buf[:0]
	return nil
}

// open reads back the rows of one partition. Readers of different
// partitions may run at once (they read the file at their own offsets).
func (sp *spill) open(key string, ncols int) (*spillReader, error) {
	p := sp.parts[key]
	if p == nil {
		return nil, fmt.Errorf("no spill data for partition %s", key)
	}
	// One section of the file per segment; a partition whose rows were
	// never flushed has none (and then neither may the file exist).
	parts := make([]io.Reader, len(p.segs))
	var size int64
	for i, sg := range p.segs {
		parts[i] = io.NewSectionReader(sp.f, sg.off, sg.n)
		size += sg.n
	}
	// A buffer of up to 1 MiB, no larger than the partition's rows (a small
	// partition of many should not allocate a megabyte); the reader grows
	// it when a row does not fit. A file shorter than its segments ends the
	// rows early, which Next reports (it counts them).
	buf := make([]byte, 0, max(4<<10, min(1<<20, size)))
	return &spillReader{r: io.MultiReader(parts...), name: sp.path(), data: buf, vals: make([][]byte, ncols), rows: p.rows}, nil
}

// path is the spill file's.
func (sp *spill) path() string { return filepath.Join(sp.dir, "rows") }

// remove closes and deletes the spill file.
func (sp *spill) remove() {
	if sp.f != nil {
		_ = sp.f.Close()
		sp.f = nil
	}
	_ = os.RemoveAll(sp.dir)
}

// chunks are the spills of a table read in block ranges, in block
// order: a partition's rows are its chunks' rows one after the other,
// which is the table's physical order.
type chunks []*spill

// keys lists the partitions of every chunk in order.
func (c chunks) keys() []string {
	set := map[string]bool{}
	for _, sp := range c {
		for k := range sp.parts {
			set[k] = true
		}
	}
	return sortedKeys(set)
}

func (c chunks) remove() {
	for _, sp := range c {
		if sp != nil {
			sp.remove()
		}
	}
}

// open reads back the rows of one partition, chunk after chunk.
func (c chunks) open(key string, ncols int) (*chainReader, error) {
	cr := &chainReader{}
	for _, sp := range c {
		if sp.parts[key] == nil {
			continue
		}
		r, err := sp.open(key, ncols)
		if err != nil {
			cr.Close()
			return nil, err
		}
		cr.readers = append(cr.readers, r)
	}
	return cr, nil
}

// chainReader reads several spills' rows of a partition one after the other.
type chainReader struct {
	readers []*spillReader
	i       int
}

func (c *chainReader) Next() bool {
	for c.i < len(c.readers) {
		if c.readers[c.i].Next() {
			return true
		}
		if c.readers[c.i].Err() != nil {
			return false
		}
		c.i++
	}
	return false
}

func (c *chainReader) RawValues() [][]byte { return c.readers[c.i].RawValues() }

func (c *chainReader) Err() error {
	if c.i < len(c.readers) {
		return c.readers[c.i].Err()
	}
	return nil
}

func (c *chainReader) Close() error {
	for _, r := range c.readers {
		r.Close()
	}
	return nil
}

// spillReader implements rowSource over one partition's spilled rows (or
// rows in memory: r nil, eof set). It reads them in large chunks and parses
// rows in place: the values of a row stay valid until the next call to Next.
type spillReader struct {
	r    io.Reader
	name string // the spill file, for errors
	data []byte // unparsed bytes start at pos
	pos  int
	eof  bool
	vals [][]byte
	rows int64
	err  error
}

func (s *spillReader) Next() bool {
	if s.err != nil || s.rows == 0 {
		return false
	}
	for {
		if n, ok := s.parse(); ok {
			s.pos += n
			s.rows--
			return true
		}
		if s.eof {
			s.err = fmt.Errorf("spill data: %w", io.ErrUnexpectedEOF)
			if s.name != "" {
				s.err = fmt.Errorf("spill file %s: %w", s.name, io.ErrUnexpectedEOF)
			}
			return false
		}
		// Move the partial row to the front and read more; grow the buffer
		// when one row does not fit.
		rest := copy(s.data[:cap(s.data)], s.data[s.pos:])
		s.data, s.pos = s.data[:rest], 0
		if rest == cap(s.data) {
			s.data = slices.Grow(s.data, cap(s.data))
		}
		n, err := s.r.Read(s.data[rest:cap(s.data)])
		s.data = s.data[:rest+n]
		switch {
		case errors.Is(err, io.EOF):
			s.eof = true
		case err != nil:
			s.err = fmt.Errorf("spill file %s: %w", s.name, err)
			return false
		}
	}
}

// parse decodes the row at pos; ok is false when it is incomplete.
func (s *spillReader) parse() (n int, ok bool) {
	b := s.data[s.pos:]
	for i := range s.vals {
		l, k := binary.Uvarint(b[n:])
		if k <= 0 {
			return 0, false
		}
		n += k
		if l == 0 {
			s.vals[i] = nil
			continue
		}
		end := n + int(l-1)
		if end > len(b) {
			return 0, false
		}
		s.vals[i] = b[n:end:end]
		n = end
	}
	return n, true
}

func (s *spillReader) RawValues() [][]byte { return s.vals }
func (s *spillReader) Err() error          { return s.err }
func (s *spillReader) Close() error        { return nil } // the spill file is closed by spill.remove

// A full export of a partitioned table that is small enough (at most
// directMaxRows rows in at most directMaxPartitions partitions) reads the
// table once and routes each row straight to its partition's Parquet
// writer: encoding overlaps with PostgreSQL's reading, and no spill file is
// written. Every partition's writer is open at once, each holding up to a
// row group (RowGroupRows) before it flushes, so the number of partitions
// and rows is bounded; larger tables go through spill files. Rows keep
// their physical order, so the files are the same as either other way.
const (
	directMaxRows       = 1_500_000
	directMaxPartitions = 64
	// directBatchRows is how many rows of one partition the reader hands
	// to its encoder at once.
	directBatchRows = 1024
)

// direct reads the whole table once and writes every partition; it returns
// the partition keys in order with their files. The reading goroutine only
// routes each row, still in binary, to its partition's batch; full batches
// are encoded by Workers goroutines, each owning a fixed share of the
// partitions (so a partition's rows keep their order).
func (w *partitionWriter) direct(ctx context.Context, q pgx.Tx, tx tableTx, read *progress.Task) ([]string, [][]ManifestFile, error) {
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := w.query(ctx, q, "")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	type batch struct {
		sk   *sink
		data []byte
		n    int64
	}
	type part struct {
		sk     *sink
		worker int
		buf    []byte
		n      int64
	}
	workers := max(1, w.opts.Workers)
	queues := make([]chan batch, workers)
	errs := make(chan error, workers)
	free := make(chan []byte, 4*workers+directMaxPartitions)
	var wg sync.WaitGroup
	ncols := len(w.ts.cols)
	for i := range queues {
		queues[i] = make(chan batch, 4)
		wg.Add(1)
		go func(in <-chan batch) {
			defer wg.Done()
			failed := false
			for b := range in {
				if failed {
					continue
				}
				sr := &spillReader{data: b.data, eof: true, vals: make([][]byte, ncols), rows: b.n}
				for sr.Next() {
					if err := b.sk.add(ctx, sr.RawValues()); err != nil {
						errs <- err
						failed = true
						cancel()
						break
					}
				}
				if !failed {
					if err := sr.Err(); err != nil {
						errs <- err
						failed = true
						cancel()
					}
				}
				select {
				case free <- b.data[:0]:
				default:
				}
			}
		}(queues[i])
	}
	parts := map[string]*part{}
	defer func() {
		for _, p := range parts {
			p.sk.release()
		}
	}()
	send := func(p *part) bool {
		if p.n == 0 {
			return true
		}
		select {
		case queues[p.worker] <- batch{sk: p.sk, data: p.buf, n: p.n}:
		case <-ctx.Done():
			return false
		}
		select {
		case p.buf = <-free:
		default:
			p.buf = make([]byte, 0, 256<<10)
		}
		p.n = 0
		return true
	}
	route := newDayRouter(w, func(key string) (*part, error) {
		p := parts[key]
		if p == nil {
			p = &part{sk: w.sink(tx, key), worker: len(parts) % workers, buf: make([]byte, 0, 256<<10)}
			parts[key] = p
		}
		return p, nil
	})
	var n int64
	var readErr error
	for rows.Next() {
		n++
		if n%65536 == 0 {
			read.Add(65536)
		}
		raw := rows.RawValues()
		p, err := route.of(raw, n)
		if err != nil {
			readErr = err
			break
		}
		p.buf = appendRaw(p.buf, raw)
		p.n++
		if p.n == directBatchRows && !send(p) {
			break
		}
	}
	if readErr == nil {
		if err := rows.Err(); err != nil {
			readErr = fmt.Errorf("%s: read: %w", w.ts.table.Qualified(), err)
		}
	}
	keys := sortedKeys(parts)
	for _, k := range keys {
		if readErr != nil || !send(parts[k]) {
			break
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, nil, err
	default:
	}
	if readErr != nil {
		return nil, nil, readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	out := make([][]ManifestFile, len(keys))
	for i, k := range keys {
		if out[i], err = parts[k].sk.finish(ctx); err != nil {
			return nil, nil, err
		}
	}
	w.log.Debug("table read and written in one pass", "table", w.ts.table.Qualified(), "rows", n, "partitions", len(keys),
		"duration_ms", time.Since(start).Milliseconds())
	return keys, out, nil
}

// dayRouter finds the partition of each row of a full read from its date
// column (NULL: the null partition), calling newPart the first time it
// meets a day (newPart returns the partition of a key it already has: at a
// month grain many days share one).
type dayRouter[P any] struct {
	w       *partitionWriter
	byDay   map[int32]P
	null    P
	hasNull bool
	newPart func(key string) (P, error)
}

func newDayRouter[P any](w *partitionWriter, newPart func(key string) (P, error)) *dayRouter[P] {
	return &dayRouter[P]{w: w, byDay: map[int32]P{}, newPart: newPart}
}

// of returns the partition of raw, the n-th row read.
func (r *dayRouter[P]) of(raw [][]byte, n int64) (P, error) {
	dc := r.w.ts.dateCol
	if raw[dc] == nil {
		if !r.hasNull {
			p, err := r.newPart(nullKey)
			if err != nil {
				return p, err
			}
			r.null, r.hasNull = p, true
		}
		return r.null, nil
	}
	day, err := pgDate(raw[dc])
	if err != nil {
		var none P
		return none, fmt.Errorf("%s: row %d: column %s: %w", r.w.ts.table.Qualified(), n, r.w.ts.cols[dc].name, err)
	}
	if p, ok := r.byDay[day]; ok {
		return p, nil
	}
	p, err := r.newPart(dayKey(day, r.w.p.grain))
	if err != nil {
		return p, err
	}
	r.byDay[day] = p
	return p, nil
}

// appendRaw appends one row of binary values in the spill format: per
// value its length plus one as a uvarint (0 for NULL), then its bytes.
func appendRaw(buf []byte, raw [][]byte) []byte {
	for _, v := range raw {
		if v == nil {
			buf = binary.AppendUvarint(buf, 0)
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(len(v))+1)
		buf = append(buf, v...)
	}
	return buf
}
