package load

import (
	"bufio"
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
	// closing quote): the row is rejected, the file goes on.
	problem string
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
// slices of a reused buffer, no allocation per row. It accepts CRLF and LF,
// quoted fields with "" escapes and embedded newlines, and a bare quote
// inside an unquoted field (kept literally, as ERP exports write 2"). A
// quoted field still open at end of input is a file-level error.
type csvReader struct {
	br    *bufio.Reader
	delim byte
	max   int

	line int64 // line number of the next byte to read (1-based)

	raw    []byte // raw bytes of the current record (without the final newline)
	buf    []byte // unescaped field contents
	ends   []int  // end offset of each field in buf
	fields [][]byte
	rec    record
	stop   [256]bool
}

func newCSVReader(r io.Reader, delim byte, maxRecord int) *csvReader {
	c := &csvReader{br: bufio.NewReaderSize(r, 256<<10), delim: delim, max: maxRecord, line: 1}
	c.stop[delim] = true
	c.stop['\n'] = true
	c.stop['"'] = true
	return c
}

const (
	stFieldStart = iota
	stUnquoted
	stQuoted
	stQuote // saw a quote inside a quoted field
)

// read returns the next non-blank record, io.EOF at the end, or a
// *FileError.
func (c *csvReader) read() (*record, error) {
	for {
		rec, err := c.readOne()
		if err != nil {
			return nil, err
		}
		// Blank lines (also "\r") are skipped, as encoding/csv does.
		if len(rec.fields) == 1 && len(rec.fields[0]) == 0 && rec.problem == "" && len(bytes.TrimRight(rec.raw, "\r")) == 0 {
			continue
		}
		return rec, nil
	}
}

func (c *csvReader) readOne() (*record, error) {
	c.raw, c.buf, c.ends = c.raw[:0], c.buf[:0], c.ends[:0]
	start := c.line
	st := stFieldStart
	var quoteLine, quoteCol int64
	lineStart := 0 // offset in raw of the current physical line
	tooLong := false
	problem := ""
	size := 0
	eof := false
	for !eof {
		chunk, err := c.br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if !errors.Is(err, io.EOF) {
				return nil, &FileError{Line: c.line, Msg: "read: " + err.Error()}
			}
			eof = true
			if len(chunk) == 0 && size == 0 && st == stFieldStart && len(c.ends) == 0 {
				return nil, io.EOF
			}
		}
		if size == 0 && err == nil && len(chunk) <= c.max && bytes.IndexByte(chunk, '"') < 0 {
			return c.fastLine(chunk, start), nil
		}
		size += len(chunk)
		rawBase := len(c.raw)
		if !tooLong && size > c.max {
			tooLong = true
			// Keep the start of the record for meta.rejected_rows.
			if keep := 1024 - len(c.raw); keep > 0 {
				c.raw = append(c.raw, chunk[:min(keep, len(chunk))]...)
			}
		}
		if !tooLong {
			c.raw = append(c.raw, chunk...)
		}
		pos := 0
		done := false
		for pos < len(chunk) && !done {
			switch st {
			case stFieldStart:
				if chunk[pos] == '"' {
					st = stQuoted
					quoteLine = c.line
					quoteCol = int64(rawBase+pos-lineStart) + 1
					pos++
					continue
				}
				st = stUnquoted
			case stUnquoted:
				s := pos
				for pos < len(chunk) && !c.stop[chunk[pos]] {
					pos++
				}
				c.buf = append(c.buf, chunk[s:pos]...)
				if pos == len(chunk) {
					break
				}
				switch chunk[pos] {
				case c.delim:
					c.ends = append(c.ends, len(c.buf))
					st = stFieldStart
				case '"':
					c.buf = append(c.buf, '"')
				case '\n':
					if n := len(c.buf); n > 0 && c.buf[n-1] == '\r' {
						c.buf = c.buf[:n-1]
					}
					c.ends = append(c.ends, len(c.buf))
					done = true
				}
				pos++
			case stQuoted:
				i := bytes.IndexByte(chunk[pos:], '"')
				if i < 0 {
					c.buf = append(c.buf, chunk[pos:]...)
					pos = len(chunk)
					break
				}
				c.buf = append(c.buf, chunk[pos:pos+i]...)
				pos += i + 1
				st = stQuote
			case stQuote:
				switch b := chunk[pos]; b {
				case '"':
					c.buf = append(c.buf, '"')
					st = stQuoted
				case c.delim:
					c.ends = append(c.ends, len(c.buf))
					st = stFieldStart
				case '\n':
					c.ends = append(c.ends, len(c.buf))
					done = true
				case '\r':
					// CRLF after a closing quote.
				default:
					if problem == "" {
						problem = fmt.Sprintf("column %d: unexpected %q after a closing quote (field %d)",
							int64(rawBase+pos-lineStart)+1, b, len(c.ends)+1)
					}
					c.buf = append(c.buf, b)
					st = stUnquoted
				}
				pos++
			}
			if pos > 0 && chunk[pos-1] == '\n' {
				c.line++
				lineStart = rawBase + pos
			}
		}
		if tooLong {
			// Keep scanning to find the record's end, but do not keep its bytes.
			c.buf = c.buf[:0]
		}
		if done {
			break
		}
		if eof {
			switch st {
			case stQuoted:
				return nil, &FileError{Line: quoteLine, Column: quoteCol, Msg: "quoted field is never closed (unterminated quote)"}
			case stUnquoted, stQuote, stFieldStart:
				if n := len(c.buf); st == stUnquoted && n > 0 && c.buf[n-1] == '\r' {
					c.buf = c.buf[:n-1]
				}
				c.ends = append(c.ends, len(c.buf))
			}
		}
	}
	if n := len(c.raw); n > 0 && c.raw[n-1] == '\n' {
		c.raw = c.raw[:n-1]
		if n > 1 && c.raw[n-2] == '\r' {
			c.raw = c.raw[:n-2]
		}
	}
	c.rec = record{line: start, raw: c.raw, problem: problem}
	if tooLong {
		c.rec.problem = fmt.Sprintf("record longer than %d bytes (dialect.max_record_bytes)", c.max)
		c.rec.raw = c.raw[:min(len(c.raw), 1024)]
		c.rec.fields = c.fields[:0]
		return &c.rec, nil
	}
	c.fields = c.fields[:0]
	prev := 0
	for _, e := range c.ends {
		c.fields = append(c.fields, c.buf[prev:e:e])
		prev = e
	}
	c.rec.fields = c.fields
	return &c.rec, nil
}

// fastLine splits a complete line without quotes: the common case, with
// fields sliced straight from the copied raw line.
func (c *csvReader) fastLine(chunk []byte, start int64) *record {
	c.line++
	line := chunk[:len(chunk)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	c.raw = append(c.raw[:0], line...)
	c.fields = c.fields[:0]
	rest := c.raw
	for {
		i := bytes.IndexByte(rest, c.delim)
		if i < 0 {
			c.fields = append(c.fields, rest[:len(rest):len(rest)])
			break
		}
		c.fields = append(c.fields, rest[:i:i])
		rest = rest[i+1:]
	}
	c.rec = record{line: start, raw: c.raw, fields: c.fields, noNUL: bytes.IndexByte(c.raw, 0) < 0}
	return &c.rec
}
