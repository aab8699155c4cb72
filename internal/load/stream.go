package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/novacorrente/novawh/internal/run/fault"

	"github.com/novacorrente/novawh/internal/pgcopy"

	"github.com/jackc/pgx/v5"
	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/panics"
	"github.com/novacorrente/novawh/internal/progress"
	"golang.org/x/sync/errgroup"
)

type recordReader interface {
	read() (*record, error)
	// lines is the number of physical lines read so far, -1 for inputs
	// without lines (Parquet).
	lines() int64
}

// linesOf is the Counts.Lines of a reader (nil without lines).
func linesOf(rr recordReader) *int64 {
	if rr == nil {
		return nil
	}
	n := rr.lines()
	if n < 0 {
		return nil
	}
	return &n
}

// open prepares the record reader and reads the header.
func (l *Loader) open(in *input, src *Source, opts Options) (recordReader, []string, *progress.Task, error) {
	if in.format == "records" {
		rr := newRecordsReader(in.records, in.columns, in.kinds)
		return rr, in.columns, nil, nil
	}
	bar := opts.Progress.Bytes(in.base, in.size)
	if in.format == "parquet" {
		if in.ra == nil {
			return nil, nil, bar, &FileError{Msg: "Parquet input needs a file"}
		}
		pr, err := newParquetReader(in.ra, in.size)
		if err != nil {
			return nil, nil, bar, err
		}
		bar.Add(in.size)
		return pr, pr.header, bar, nil
	}
	if l.hooks != nil && l.hooks.csvReader != nil {
		rr := l.hooks.csvReader(bar.Reader(in.r), src.Dialect)
		rec, err := rr.read()
		if err != nil {
			return rr, nil, bar, err
		}
		return rr, headerOf(rec), bar, nil
	}
	cr, err := openCSV(bar.Reader(in.r), src.Dialect)
	if err != nil {
		return nil, nil, bar, err
	}
	rec, err := cr.read()
	if errors.Is(err, io.EOF) {
		return cr, nil, bar, &FileError{Msg: "empty file: no header line"}
	}
	if err != nil {
		return cr, nil, bar, err
	}
	if rec.problem != "" {
		return cr, nil, bar, &FileError{Line: rec.line, Msg: "header: " + rec.problem}
	}
	return cr, headerOf(rec), bar, nil
}

// headerOf is the header record's fields as names.
func headerOf(rec *record) []string {
	header := make([]string, len(rec.fields))
	for i, f := range rec.fields {
		header[i] = string(f)
	}
	return header
}

type streamStats struct {
	read, loaded, rejected int64
	minDate, maxDate       int32
	hasDate                bool
	firstReject            ledger.Reject
}

// stream parses, validates and encodes rows on one goroutine while pgconn
// sends them on one goroutine per COPY target; chunks of whole rows go to
// the targets in turn.
func (l *Loader) stream(ctx context.Context, p *plan, rr recordReader, rej *spill, targets []copyTarget, stop func() bool) (streamStats, error) {
	var st streamStats
	pipes := make([]*chunkPipe, len(targets))
	for i := range pipes {
		pipes[i] = newChunkPipe()
		if l.hooks != nil && l.hooks.copyRead != nil {
			pipes[i].hook = func() { l.hooks.copyRead(p.file) }
		}
	}
	enc := &ledger.RejectEncoder{LoadID: p.loadID}
	var prodErr error
	done := make(chan struct{})
	fail := func(err error) {
		prodErr = err
		for _, pp := range pipes {
			pp.finish(err)
		}
	}
	go func() {
		defer close(done)
		var perr error
		defer func() {
			if perr != nil {
				fail(perr)
			}
		}()
		defer panics.Recover(&perr, "the "+p.format+" reader")
		fault.Panic("load.producer") // -tags faultinject builds only (test/fault, cli_test)
		next := 0
		bufs := make([][]byte, len(pipes))
		for i, pp := range pipes {
			bufs[i] = append(pp.get(), pgcopy.Header...)
		}
		buf := bufs[0]
		for {
			rec, err := rr.read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fail(err)
				return
			}
			st.read++
			if l.hooks != nil && l.hooks.record != nil {
				l.hooks.record(p.file, st.read)
			}
			if st.read&4095 == 0 && stop() {
				fail(errAlreadyLoaded)
				return
			}
			out, rerr := p.encodeRow(buf, rec, &st.minDate, &st.maxDate, &st.hasDate)
			if rerr != nil {
				if rerr.fatal {
					fail(&FileError{Line: rec.line, Column: int64(p.fieldIndex(rerr.column)) + 1, Msg: rerr.reason})
					return
				}
				st.rejected++
				r := ledger.Reject{Line: rec.line, Column: rerr.column, Reason: rerr.reason, Raw: string(rec.rawText())}
				if st.rejected == 1 {
					st.firstReject = r
				}
				if _, err := rej.Write(enc.Append(r)); err != nil {
					fail(fmt.Errorf("buffer rejected rows: %w", err))
					return
				}
				continue
			}
			st.loaded++
			buf = out
			if len(buf) >= chunkSend {
				if err := pipes[next].send(buf); err != nil {
					fail(err)
					return
				}
				bufs[next] = pipes[next].get()
				next = (next + 1) % len(pipes)
				buf = bufs[next]
			}
		}
		bufs[next] = buf
		for i, pp := range pipes {
			if err := pp.send(append(bufs[i], pgcopy.Trailer...)); err != nil {
				fail(err)
				return
			}
			pp.finish(nil)
		}
	}()
	cols := quoteCols(p.columns)
	g, gctx := errgroup.WithContext(ctx)
	for i, t := range targets {
		g.Go(func() (err error) {
			defer panics.Recover(&err, "a COPY stream")
			_, err = t.conn.CopyFrom(gctx, pipes[i], "COPY "+t.table+" ("+cols+") FROM STDIN (FORMAT binary)")
			pipes[i].abort()
			if err != nil {
				return fmt.Errorf("COPY into %s: %w", t.table, err)
			}
			return nil
		})
	}
	err := g.Wait()
	for _, pp := range pipes {
		pp.abort()
	}
	<-done
	if prodErr != nil && !errors.Is(prodErr, errAborted) {
		return st, prodErr
	}
	if err != nil {
		return st, err
	}
	return st, nil
}

func quoteCols(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// fieldIndex is the file column of a target (for error positions).
func (p *plan) fieldIndex(col string) int {
	for _, t := range p.targets {
		if t.name == col {
			return t.field
		}
	}
	return -1
}
