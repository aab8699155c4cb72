package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// record is one input row as read from a file: its fields, where it
// starts and its raw text (for meta.rejected_rows). Slices are reused by
// the next read.
type record struct {
	line   int64 // 1-based line (CSV) or row number (Parquet) where it starts
	fields [][]byte
	raw    []byte
	// names and nulls, set by the Parquet reader instead of raw, let
	// rawText build "name=value, ..." only for a rejected row.
	names []string
	nulls []bool
	// problem is a row-level read problem (record too long, junk after a
	// closing quote, a quote that never closes): the row is rejected, the
	// file goes on. problemColumn names the column when one is known.
	problem       string
	problemColumn string
	// noNUL is true when the record is known to hold no NUL byte.
	noNUL bool
}

// rawText is the row as stored with a reject: the line itself (CSV), or
// name=value pairs (Parquet), built only when needed.
func (r *record) rawText() []byte {
	if r.names == nil {
		return r.raw
	}
	var b []byte
	for i, f := range r.fields {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, r.names[i]...)
		b = append(b, '=')
		if r.nulls[i] {
			b = append(b, "NULL"...)
		} else {
			b = append(b, f...)
		}
	}
	return b
}

// splitEnds appends to fields the slices of buf that end at ends (each
// field starts where the previous one ends).
func splitEnds(fields [][]byte, buf []byte, ends []int) [][]byte {
	prev := 0
	for _, e := range ends {
		fields = append(fields, buf[prev:e:e])
		prev = e
	}
	return fields
}

// FileError is a file-level problem: the whole input fails.
type FileError struct {
	Line, Column int64 // 0 when not relevant
	Msg          string
}

func (e *FileError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("line %d column %d: %s", e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// csvReader is a streaming RFC 4180 reader tuned for COPY: fields are
// slices of its buffer, no allocation per row. The rules (docs/load.md,
// "How a CSV file is read"; FuzzCSVDifferential holds it to encoding/csv):
//
//   - Line breaks: the first line break of the input decides. LF and CRLF
//     files break lines at LF (a CR just before it is dropped, as is a CR
//     that ends the input); a CR file (Excel for Mac) breaks lines at CR.
//     A CR elsewhere outside quotes of an LF file, or an LF outside quotes of
//     a CR file, fails the file: its line ends cannot be determined.
//   - Quoted fields may hold delimiters, "" escapes and line breaks (a line
//     break inside quotes is stored as LF).
//   - A quote inside an unquoted field is kept literally (ERP exports write
//     2"X10MM); this is the one deliberate extension to RFC 4180.
//   - A malformed record is never longer than its first physical line: when
//     a record that spans lines is malformed (its quote never closes, or
//     closes and is followed by something other than a delimiter or a line
//     break) or is longer than max_record_bytes, only its first line is
//     rejected and reading resumes on the next line.
//   - Empty lines are skipped; every physical line is counted (lines).
type csvReader struct {
	src   io.Reader
	delim byte
	max   int

	buf      []byte // buf[pos:end] is buffered, not yet consumed
	pos, end int
	eof      bool
	mode     byte // the line break: '\n' or '\r' (0 until detected)

	line      int64 // line number of buf[pos] (1-based)
	consumed  int64 // bytes consumed (stream offset of buf[pos])
	lastBreak bool  // the last byte consumed was a line break (or none was)

	qbuf   []byte // contents of quoted fields
	spans  []fieldSpan
	fields [][]byte
	keep   []byte // start of a line too long to buffer
	rec    record
	stop   [256]bool // ends an unquoted field
	qstop  [256]bool // stops a run inside quotes
}

// fieldSpan is where a field's bytes are: buf (q false) or qbuf.
type fieldSpan struct {
	q    bool
	s, e int
}

const (
	csvBufSize = 256 << 10
	keepRaw    = 1024 // bytes of a too-long record kept for meta.rejected_rows
)

func newCSVReader(r io.Reader, delim byte, maxRecord int) *csvReader {
	c := &csvReader{src: r, delim: delim, max: maxRecord, line: 1, lastBreak: true}
	c.buf = make([]byte, max(csvBufSize, min(maxRecord+2, 4<<20)))
	for _, b := range []byte{delim, '\n', '\r'} {
		c.stop[b] = true
	}
	for _, b := range []byte{'"', '\n', '\r'} {
		c.qstop[b] = true
	}
	return c
}

// lines is the number of physical lines consumed so far: line breaks,
// plus a last line without one.
func (c *csvReader) lines() int64 {
	if c.lastBreak {
		return c.line - 1
	}
	return c.line
}

// offset is the number of bytes consumed so far.
func (c *csvReader) offset() int64 { return c.consumed }

func (c *csvReader) consume(n int, breaks int64) {
	if n == 0 {
		return
	}
	c.pos += n
	c.consumed += int64(n)
	c.line += breaks
	b := c.buf[c.pos-1]
	c.lastBreak = b == c.mode || (c.mode == '\r' && b == '\n' && breaks > 0)
}

// fill reads more input, compacting or growing the buffer first. It
// returns false at the end of the input.
func (c *csvReader) fill() (bool, error) {
	if c.eof {
		return false, nil
	}
	if c.pos > 0 {
		c.end = copy(c.buf, c.buf[c.pos:c.end])
		c.pos = 0
	}
	if c.end == len(c.buf) {
		nb := make([]byte, 2*len(c.buf))
		copy(nb, c.buf[:c.end])
		c.buf = nb
	}
	for tries := 0; ; tries++ {
		n, err := c.src.Read(c.buf[c.end:])
		c.end += n
		if errors.Is(err, io.EOF) {
			c.eof = true
			return n > 0, nil
		}
		if err != nil {
			return n > 0, &FileError{Line: c.line, Msg: "read: " + err.Error()}
		}
		if n > 0 {
			return true, nil
		}
		if tries > 100 {
			return false, &FileError{Line: c.line, Msg: "read: the input returns no data"}
		}
	}
}

// detect decides the line break from the first one in the input.
func (c *csvReader) detect() error {
	for {
		b := c.buf[c.pos:c.end]
		k := bytes.IndexAny(b, "\r\n")
		switch {
		case k >= 0 && b[k] == '\n':
			c.mode = '\n'
		case k >= 0 && k+1 < len(b):
			c.mode = '\n'
			if b[k+1] != '\n' {
				c.mode = '\r'
			}
		case k >= 0 && c.eof, k < 0 && (c.eof || len(b) >= csvBufSize):
			c.mode = '\n'
		}
		if c.mode != 0 {
			return nil
		}
		if _, err := c.fill(); err != nil {
			return err
		}
	}
}

// read returns the next record (empty lines are skipped), io.EOF at the
// end, or a *FileError.
func (c *csvReader) read() (*record, error) {
	for {
		if c.pos == c.end {
			more, err := c.fill()
			if err != nil {
				return nil, err
			}
			if !more && c.pos == c.end {
				return nil, io.EOF
			}
			continue
		}
		if c.mode == 0 {
			if err := c.detect(); err != nil {
				return nil, err
			}
		}
		b := c.buf[c.pos:c.end]
		if rec, n, ok := c.fastLine(b); ok {
			c.consume(n, 1)
			if rec == nil {
				continue // empty line
			}
			return rec, nil
		}
		sc := c.scan(b)
		switch sc.status {
		case scanNeedMore:
			if len(b) > c.max {
				return c.tooLong(sc), nil
			}
			if _, err := c.fill(); err != nil {
				return nil, err
			}
		case scanBlank:
			c.consume(sc.n, sc.breaks)
		case scanFileError:
			return nil, sc.err
		default:
			return c.finish(b, sc), nil
		}
	}
}

// fastLine splits a complete line without quotes and without a stray
// line-break byte: the common case, fields sliced straight from the
// buffer. ok is false when the general scanner must read the line; rec is
// nil for an empty line.
func (c *csvReader) fastLine(b []byte) (rec *record, n int, ok bool) {
	k := bytes.IndexByte(b, c.mode)
	if k < 0 || k > c.max {
		return nil, 0, false
	}
	line := b[:k]
	other := byte('\n')
	if c.mode == '\n' {
		if k > 0 && line[k-1] == '\r' {
			line = line[:k-1]
		}
		other = '\r'
	}
	if bytes.IndexByte(line, '"') >= 0 || bytes.IndexByte(line, other) >= 0 {
		return nil, 0, false
	}
	if len(line) == 0 {
		return nil, k + 1, true
	}
	c.fields = c.fields[:0]
	rest := line
	for {
		i := bytes.IndexByte(rest, c.delim)
		if i < 0 {
			c.fields = append(c.fields, rest[:len(rest):len(rest)])
			break
		}
		c.fields = append(c.fields, rest[:i:i])
		rest = rest[i+1:]
	}
	c.rec = record{line: c.line, raw: line, fields: c.fields, noNUL: bytes.IndexByte(line, 0) < 0}
	return &c.rec, k + 1, true
}

type scanStatus int

const (
	scanRecord scanStatus = iota
	scanNeedMore
	scanBlank
	scanFileError
)

// scanResult is what scan found at the start of the buffer.
type scanResult struct {
	status scanStatus
	n      int   // bytes of the record, its final line break included
	raw    int   // bytes of its text, without the final line break
	breaks int64 // line breaks in the n bytes
	// The first line of a record that spans lines (a line break inside
	// quotes): its text length, its length with its break, the column of the
	// quote that was open across it.
	firstRaw, firstN int
	quoteCol         int
	problem          string // malformed record (column-positioned reason)
	problemLine      int64  // line the problem is on
	err              *FileError
}

// scan reads one record from b, which holds at least one byte. It reports
// scanNeedMore when b ends before the record does and more input may come.
func (c *csvReader) scan(b []byte) scanResult {
	c.qbuf, c.spans = c.qbuf[:0], c.spans[:0]
	sc := &scanner{c: c, b: b, lf: c.mode == '\n', line: c.line}
	sc.s.firstN = -1
	if r, ok := sc.blank(); ok {
		return r
	}
	i := 0
	for {
		toQ, fs := false, len(c.qbuf)
		if i < len(b) && b[i] == '"' {
			next, res, nextField := sc.quoted(i)
			if res != nil {
				return *res
			}
			if i = next; nextField {
				continue
			}
			toQ = true // junk after the closing quote: the rest is read unquoted
		}
		next, res := sc.unquoted(i, toQ, fs)
		if res != nil {
			return *res
		}
		i = next
	}
}

// scanner is the state of one scan: the record read so far.
type scanner struct {
	c         *csvReader
	b         []byte
	s         scanResult
	lf        bool  // an LF (or CRLF) file
	line      int64 // the current physical line
	lineStart int   // offset in b of the current physical line
}

// blank recognises an empty line: a lone line break (CRLF in an LF file,
// a CR ending the input).
func (sc *scanner) blank() (scanResult, bool) {
	b, c := sc.b, sc.c
	switch {
	case b[0] == c.mode:
		return scanResult{status: scanBlank, n: 1, breaks: 1}, true
	case sc.lf && b[0] == '\r' && len(b) == 1:
		if !c.eof {
			return sc.more(), true
		}
		return scanResult{status: scanBlank, n: 1}, true
	case sc.lf && b[0] == '\r' && b[1] == '\n':
		return scanResult{status: scanBlank, n: 2, breaks: 1}, true
	}
	return scanResult{}, false
}

func (sc *scanner) more() scanResult {
	return scanResult{status: scanNeedMore, firstN: sc.s.firstN, firstRaw: sc.s.firstRaw, quoteCol: sc.s.quoteCol}
}

func (sc *scanner) mixed(at int) scanResult {
	what, first := "a CR (carriage return) that is not followed by LF", "LF"
	if !sc.lf {
		what, first = "an LF (line feed)", "CR (carriage return, Excel for Mac)"
	}
	return scanResult{status: scanFileError, err: &FileError{Line: sc.line, Column: int64(at-sc.lineStart) + 1,
		Msg: fmt.Sprintf("%s outside quotes, but the file's first line ends with %s: mixed line endings, so its lines cannot be told apart; re-save the file with one kind of line ending", what, first)}}
}

// lineBreak records a line break inside quotes ending at b[at] (brk bytes
// long), opened by the quote at column qcol.
func (sc *scanner) lineBreak(at, brk, qcol int) {
	if sc.s.firstN < 0 {
		sc.s.firstN, sc.s.firstRaw, sc.s.quoteCol = at+brk, at, qcol
	}
	sc.s.breaks++
	sc.line++
	sc.lineStart = at + brk
}

// end ends the record at b[at] with the field span f; its line break is
// brk bytes long.
func (sc *scanner) end(f fieldSpan, at, brk int) *scanResult {
	sc.c.spans = append(sc.c.spans, f)
	sc.s.raw, sc.s.n = at, at+brk
	if brk > 0 && (sc.b[at] == sc.c.mode || (sc.lf && brk == 2)) {
		sc.s.breaks++
	}
	return &sc.s
}

// quoted reads a quoted field starting at b[i]. It returns where reading
// goes on, the end of the record (or scanNeedMore, or a file error) as
// res, and nextField when a delimiter ended the field. With neither, the
// closing quote was followed by junk: the rest of the field is unquoted.
func (sc *scanner) quoted(i int) (next int, res *scanResult, nextField bool) {
	b, c := sc.b, sc.c
	fs := len(c.qbuf)
	qcol, qline := i-sc.lineStart+1, sc.line
	more := func() (int, *scanResult, bool) { r := sc.more(); return 0, &r, false }
	i++
	for closed := false; !closed; {
		if i >= len(b) {
			if !c.eof {
				return more()
			}
			if sc.s.problem == "" {
				sc.s.problem = fmt.Sprintf("column %d: the quote that opens field %d is never closed (end of file)", qcol, len(c.spans)+1)
				sc.s.problemLine = qline
			}
			return 0, sc.end(fieldSpan{true, fs, len(c.qbuf)}, i, 0), false
		}
		switch ch := b[i]; {
		case ch == '"':
			i++
			if i >= len(b) && !c.eof {
				return more()
			}
			if i >= len(b) || b[i] != '"' {
				closed = true
				continue
			}
			c.qbuf = append(c.qbuf, '"')
			i++
		case ch == '\n', ch == '\r' && !sc.lf:
			c.qbuf = append(c.qbuf, '\n')
			sc.lineBreak(i, 1, qcol)
			i++
		case ch == '\r':
			if i+1 >= len(b) && !c.eof {
				return more()
			}
			if i+1 < len(b) && b[i+1] == '\n' {
				c.qbuf = append(c.qbuf, '\n')
				sc.lineBreak(i, 2, qcol)
				i += 2
				continue
			}
			c.qbuf = append(c.qbuf, '\r')
			i++
		default:
			j := i + 1
			for j < len(b) && !c.qstop[b[j]] {
				j++
			}
			c.qbuf = append(c.qbuf, b[i:j]...)
			i = j
		}
	}
	// After the closing quote.
	f := fieldSpan{true, fs, len(c.qbuf)}
	if i >= len(b) {
		return 0, sc.end(f, i, 0), false
	}
	switch ch := b[i]; {
	case ch == c.delim:
		c.spans = append(c.spans, f)
		return i + 1, nil, true
	case ch == c.mode:
		return 0, sc.end(f, i, 1), false
	case sc.lf && ch == '\r' && i+1 >= len(b):
		if !c.eof {
			return more()
		}
		return 0, sc.end(f, i, 1), false
	case sc.lf && ch == '\r' && b[i+1] == '\n':
		return 0, sc.end(f, i, 2), false
	case !sc.lf && ch == '\n':
		r := sc.mixed(i)
		return 0, &r, false
	}
	if sc.s.problem == "" {
		sc.s.problem = fmt.Sprintf("column %d: unexpected %q after a closing quote (field %d)", i-sc.lineStart+1, b[i], len(c.spans)+1)
		sc.s.problemLine = sc.line
	}
	return i, nil, false
}

// unquoted reads unquoted text from b[i] to the end of its field: a whole
// field, or the rest of a quoted one after junk (toQ: appended to qbuf,
// where the field started at fs). It returns the start of the next field,
// or the end of the record as res.
func (sc *scanner) unquoted(i int, toQ bool, fs int) (int, *scanResult) {
	b, c := sc.b, sc.c
	j := i
	for j < len(b) && !c.stop[b[j]] {
		j++
	}
	f := fieldSpan{false, i, j}
	if toQ {
		c.qbuf = append(c.qbuf, b[i:j]...)
		f = fieldSpan{true, fs, len(c.qbuf)}
	}
	if j >= len(b) {
		if !c.eof {
			r := sc.more()
			return 0, &r
		}
		return 0, sc.end(f, j, 0)
	}
	switch ch := b[j]; {
	case ch == c.delim:
		c.spans = append(c.spans, f)
		return j + 1, nil
	case ch == c.mode:
		return 0, sc.end(f, j, 1)
	case sc.lf && ch == '\r' && j+1 >= len(b):
		if !c.eof {
			r := sc.more()
			return 0, &r
		}
		return 0, sc.end(f, j, 1)
	case sc.lf && ch == '\r' && b[j+1] == '\n':
		return 0, sc.end(f, j, 2)
	}
	r := sc.mixed(j)
	return 0, &r
}

// finish turns a scanned record into c.rec and consumes it, cutting a
// malformed or too-long record that spans lines at its first line.
func (c *csvReader) finish(b []byte, sc scanResult) *record {
	start := c.line
	if sc.raw > c.max {
		if sc.firstN >= 0 {
			return c.cutFirstLine(b, sc, fmt.Sprintf("record longer than %d bytes (dialect.max_record_bytes), with a quoted field open across the end of the line", c.max))
		}
		c.rec = record{line: start, raw: b[:min(sc.raw, keepRaw)],
			problem: fmt.Sprintf("record longer than %d bytes (dialect.max_record_bytes)", c.max)}
		c.consume(sc.n, sc.breaks)
		return &c.rec
	}
	if sc.problem != "" && sc.firstN >= 0 {
		why := sc.problem
		if sc.problemLine != start {
			why = fmt.Sprintf("column %d: the quote opened on this line does not end its field properly (line %d, %s): taken as an unterminated quote",
				sc.quoteCol, sc.problemLine, sc.problem)
		}
		return c.cutFirstLine(b, sc, why)
	}
	c.fields = c.fields[:0]
	for _, f := range c.spans {
		if f.q {
			c.fields = append(c.fields, c.qbuf[f.s:f.e:f.e])
		} else {
			c.fields = append(c.fields, b[f.s:f.e:f.e])
		}
	}
	c.rec = record{line: start, raw: b[:sc.raw], fields: c.fields, problem: sc.problem}
	c.consume(sc.n, sc.breaks)
	return &c.rec
}

// cutFirstLine rejects only the first line of a record that spans lines;
// reading resumes on the next line.
func (c *csvReader) cutFirstLine(b []byte, sc scanResult, why string) *record {
	start := c.line
	c.rec = record{line: start, raw: b[:min(sc.firstRaw, keepRaw)],
		problem: fmt.Sprintf("%s; only line %d is rejected, reading resumes on line %d", why, start, start+1)}
	c.consume(sc.firstN, 1)
	return &c.rec
}

// tooLong handles a record that is longer than max_record_bytes before it
// ends: it is cut at its first line (skipped to its end when that line
// itself does not fit).
func (c *csvReader) tooLong(sc scanResult) *record {
	if sc.firstN >= 0 {
		return c.cutFirstLine(c.buf[c.pos:c.end], sc, fmt.Sprintf("record longer than %d bytes (dialect.max_record_bytes), with a quoted field open across the end of the line", c.max))
	}
	start := c.line
	c.keep = append(c.keep[:0], c.buf[c.pos:c.pos+min(keepRaw, c.end-c.pos)]...)
	for {
		b := c.buf[c.pos:c.end]
		k := bytes.IndexByte(b, c.mode)
		if c.mode == '\r' {
			k = bytes.IndexAny(b, "\r\n")
		}
		if k >= 0 {
			c.consume(k+1, 1)
			break
		}
		c.consume(len(b), 0)
		if more, err := c.fill(); err != nil || !more {
			break
		}
	}
	c.rec = record{line: start, raw: c.keep, problem: fmt.Sprintf("record longer than %d bytes (dialect.max_record_bytes)", c.max)}
	return &c.rec
}
