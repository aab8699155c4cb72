package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// openCSV prepares the reader of a CSV input: a UTF-16/UTF-32 file is
// refused (named as such), a UTF-8 byte order mark is dropped and wins over
// dialect.encoding, a Latin-1 or Windows-1252 file is decoded to UTF-8.
func openCSV(r io.Reader, d Dialect) (*csvReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4096)
	if kind := wideEncoding(head); kind != "" {
		return nil, &FileError{Msg: fmt.Sprintf("the file is %s: novawh reads UTF-8 (with or without BOM), Latin-1 or Windows-1252 text; re-save it as \"CSV UTF-8\" (or convert it: iconv -f UTF-16 -t UTF-8)", kind)}
	}
	var src io.Reader = br
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		_, _ = br.Discard(len(utf8BOM))
	case d.Encoding == "latin-1":
		src = charmap.ISO8859_1.NewDecoder().Reader(br)
	case d.Encoding == "windows-1252":
		src = charmap.Windows1252.NewDecoder().Reader(br)
	}
	return newCSVReader(src, d.Delimiter[0], d.MaxRecordBytes), nil
}

// wideEncoding names a UTF-16 or UTF-32 encoding recognised by its byte
// order mark, or by the NUL bytes that fill every other byte of mostly
// ASCII UTF-16 text; "" otherwise.
func wideEncoding(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0, 0}):
		return "UTF-32 little-endian (it starts with the byte order mark FF FE 00 00)"
	case bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}):
		return "UTF-32 big-endian (it starts with the byte order mark 00 00 FE FF)"
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return "UTF-16 little-endian (it starts with the byte order mark FF FE)"
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return "UTF-16 big-endian (it starts with the byte order mark FE FF)"
	}
	n := len(b) &^ 1
	if n < 8 {
		return ""
	}
	var even, odd int
	for i := 0; i < n; i += 2 {
		if b[i] == 0 {
			even++
		}
		if b[i+1] == 0 {
			odd++
		}
	}
	pairs := n / 2
	switch {
	case odd*10 >= pairs*9 && even*10 < pairs:
		return "UTF-16 little-endian without a byte order mark (every other byte is NUL)"
	case even*10 >= pairs*9 && odd*10 < pairs:
		return "UTF-16 big-endian without a byte order mark (every other byte is NUL)"
	}
	return ""
}

// withDelimiterHint adds delimiterHint to a missing-columns error.
func withDelimiterHint(err error, header []string, delim string) error {
	var fe *FileError
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.Msg, "missing") {
		return err
	}
	if h := delimiterHint(header, delim); h != "" {
		return &FileError{Line: fe.Line, Column: fe.Column, Msg: fe.Msg + h}
	}
	return err
}

// delimiterHint suggests another delimiter when the header, split with the
// source's, has fewer fields than it would have with another candidate.
func delimiterHint(header []string, delim string) string {
	line := strings.Join(header, delim)
	best, bestN := "", len(header)
	for _, d := range []string{",", ";", "\t", "|"} {
		if d == delim {
			continue
		}
		if n := strings.Count(line, d) + 1; n > bestN && n > 2*len(header) {
			best, bestN = d, n
		}
	}
	if best == "" {
		return ""
	}
	name := map[string]string{",": `","`, ";": `";"`, "\t": `"\t" (tab)`, "|": `"|"`}
	return fmt.Sprintf(" (the header line has %d field(s) split with %s but %d split with %s: the delimiter looks like %s; set dialect.delimiter: %s for this source)",
		len(header), name[delim], bestN, name[best], name[best], name[best])
}
