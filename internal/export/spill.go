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
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/progress"
)

// A full export of a partitioned table whose rows are not stored in date
// order reads the table once, sequentially (what psql \copy does), and
// routes each row, still in PostgreSQL's binary format, to a spill file per
// partition; each partition is then encoded from its spill file. Reading
// every partition with its own range query would visit most of the table's
// pages once per partition. Rows keep their physical order, as a range query
// would return them, so both ways produce the same files.

// spillMemory bounds the buffers of all spill files together. At most
// openFileBudget() spill files stay open; the others are opened for each
// append.
const spillMemory = 32 << 20

// spill holds the spill files of one table.
type spill struct {
	dir       string
	bufCap    int
	parts     map[string]*spillPart
	openFiles int
	maxOpen   int
}

type spillPart struct {
	path string
	buf  []byte
	rows int64
	f    *os.File
}

// spillTable reads the whole table once and writes every row to the spill
// file of its partition under tempDir. It returns the partition keys in
// order; read counts the rows read (progress).
func (w *partitionWriter) spillTable(ctx context.Context, q pgx.Tx, tempDir string, read *progress.Task) (*spill, []string, error) {
	start := time.Now()
	if err := os.MkdirAll(tempDir, 0o755); err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp(tempDir, "spill-"+w.ts.table.Name+"-")
	if err != nil {
		return nil, nil, err
	}
	sp := &spill{dir: dir, parts: map[string]*spillPart{}, bufCap: 256 << 10, maxOpen: openFileBudget()}
	defer sp.closeFiles()
	rows, err := w.query(ctx, q, "")
	if err != nil {
		sp.remove()
		return nil, nil, err
	}
	defer rows.Close()
	dc := w.ts.dateCol
	byDay := map[int32]*spillPart{}
	var nullPart *spillPart
	part := func(key string) *spillPart {
		p := sp.parts[key]
		if p == nil {
			// Keep all buffers together within spillMemory: a buffer is
			// flushed once it reaches bufCap, and allocated with room for a
			// row beyond it so that appends do not reallocate it.
			sp.bufCap = max(16<<10, min(256<<10, spillMemory/(len(sp.parts)+1)))
			p = &spillPart{path: filepath.Join(dir, key), buf: make([]byte, 0, sp.bufCap+8<<10)}
			sp.parts[key] = p
		}
		return p
	}
	var n int64
	for rows.Next() {
		n++
		if n%65536 == 0 {
			read.Add(65536)
		}
		raw := rows.RawValues()
		var p *spillPart
		if raw[dc] == nil {
			if nullPart == nil {
				nullPart = part(nullKey)
			}
			p = nullPart
		} else {
			day, err := pgDate(raw[dc])
			if err != nil {
				sp.remove()
				return nil, nil, fmt.Errorf("%s: row %d: column %s: %w", w.ts.table.Qualified(), n, w.ts.cols[dc].name, err)
			}
			if p = byDay[day]; p == nil {
				p = part(dayKey(day, w.p.grain))
				byDay[day] = p
			}
		}
		p.rows++
		for _, v := range raw {
			if v == nil {
				p.buf = binary.AppendUvarint(p.buf, 0)
				continue
			}
			p.buf = binary.AppendUvarint(p.buf, uint64(len(v))+1)
			p.buf = append(p.buf, v...)
		}
		if len(p.buf) >= sp.bufCap {
			if err := sp.flush(p); err != nil {
				sp.remove()
				return nil, nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		sp.remove()
		return nil, nil, fmt.Errorf("%s: read: %w", w.ts.table.Qualified(), err)
	}
	keys := make([]string, 0, len(sp.parts))
	for k, p := range sp.parts {
		if err := sp.flush(p); err != nil {
			sp.remove()
			return nil, nil, err
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.log.Debug("table read into spill files", "table", w.ts.table.Qualified(), "rows", n, "partitions", len(keys),
		"duration_ms", time.Since(start).Milliseconds())
	return sp, keys, nil
}

// flush appends the buffer to the partition's spill file.
func (sp *spill) flush(p *spillPart) error {
	if len(p.buf) == 0 {
		return nil
	}
	f := p.f
	if f == nil {
		var err error
		if f, err = os.OpenFile(p.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
			return err
		}
		if sp.openFiles < sp.maxOpen {
			p.f = f
			sp.openFiles++
		}
	}
	if _, err := f.Write(p.buf); err != nil {
		return err
	}
	p.buf = p.buf[:0]
	if p.f == nil {
		return f.Close()
	}
	return nil
}

func (sp *spill) closeFiles() {
	for _, p := range sp.parts {
		if p.f != nil {
			p.f.Close()
			p.f = nil
		}
	}
	sp.openFiles = 0
}

// open reads back the rows of one partition.
func (sp *spill) open(key string, ncols int) (*spillReader, error) {
	p := sp.parts[key]
	if p == nil {
		return nil, fmt.Errorf("no spill file for partition %s", key)
	}
	f, err := os.Open(p.path)
	if err != nil {
		return nil, err
	}
	return &spillReader{f: f, data: make([]byte, 0, 1<<20), vals: make([][]byte, ncols), rows: p.rows}, nil
}

func (sp *spill) remove() { _ = os.RemoveAll(sp.dir) }

// spillReader implements rowSource over one spill file. It reads the file in
// large chunks and parses rows in place: the values of a row stay valid
// until the next call to Next.
type spillReader struct {
	f    *os.File
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
			s.err = fmt.Errorf("spill file %s: %w", s.f.Name(), io.ErrUnexpectedEOF)
			return false
		}
		// Move the partial row to the front and read more; grow the buffer
		// when one row does not fit.
		rest := copy(s.data[:cap(s.data)], s.data[s.pos:])
		s.data, s.pos = s.data[:rest], 0
		if rest == cap(s.data) {
			s.data = slices.Grow(s.data, cap(s.data))
		}
		n, err := s.f.Read(s.data[rest:cap(s.data)])
		s.data = s.data[:rest+n]
		switch {
		case errors.Is(err, io.EOF):
			s.eof = true
		case err != nil:
			s.err = fmt.Errorf("spill file %s: %w", s.f.Name(), err)
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
func (s *spillReader) Close() error        { return s.f.Close() }
