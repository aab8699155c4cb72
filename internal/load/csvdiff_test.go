package load

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/realdata"
)

// FuzzCSVDifferential feeds the same bytes to the loader's CSV reader and
// to encoding/csv (same delimiter, LazyQuotes off, FieldsPerRecord -1) and
// requires, record by record, the same fields on the same line, or an
// error from both on the same line. After a rejected record the loader
// resumes on the next physical line; encoding/csv then reads the rest of
// the input from that same byte, and the comparison goes on.
//
// The loader's documented departures from encoding/csv are modelled here,
// each narrowly (docs/load.md, "How a CSV file is read"):
//   - A leading UTF-8 byte order mark is dropped before reading.
//   - CR files: when the first line break of the input is a CR not followed
//     by LF, every CR is a line break; encoding/csv reads the input with
//     each CR replaced by LF. An LF outside quotes then fails the file.
//   - In an LF file, a CR outside quotes that is neither part of CRLF nor
//     the last byte fails the file; encoding/csv would have put it into a
//     field (or failed on that record).
//   - A quote inside an unquoted field is data: every bare quote that
//     encoding/csv reports (ErrBareQuote, at its line and column) is
//     replaced by a byte absent from the input, and put back afterwards.
//   - UTF-16/UTF-32 input (byte order mark, or every other byte NUL) is
//     refused before reading.
func FuzzCSVDifferential(f *testing.F) {
	for _, s := range csvDiffSeeds(f) {
		f.Add(s, uint8(0))
	}
	f.Add([]byte("a;b\n1;\"2;3\"\n"), uint8(1))
	f.Add([]byte("a\tb\r\n1\t\"x\ty\"\r\n"), uint8(2))
	f.Add([]byte("a|b\r1|2\r"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, d uint8) {
		if len(data) > 16<<10 {
			return
		}
		delim := []byte{',', ';', '\t', '|'}[d%4]
		csvDifferential(t, data, delim)
	})
}

// csvDiffSeeds are RFC 4180 edge cases, the bad-input corpus and the
// first lines of the company's files (when present).
func csvDiffSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{}
	for _, s := range []string{
		"", "\n", "\r\n", "\r", "a", "a\n", "a\r\n", "a\r", "a,b\nc,d", "a,b\r\nc,d\r\n", "a,b\rc,d\r",
		`"a","b"` + "\n", `"a""b",c` + "\n", `"",""` + "\n", `""""` + "\n", `"a,b",c` + "\n",
		"\"a\nb\",c\n", "\"a\r\nb\",c\r\n", "\"a\rb\",c\n", "\"a\rb\",c\r", "\"X\r\",\n", "\"1\"\r,2\n", "a,\"1\"\r,2\n",
		"a\"b,c\n", "a,b\"\n", `"a"b,c` + "\n", `"a" ,b` + "\n", "\"a\n", "a,\"b\nc\n", "a,b,\n", ",\n", ",,\n",
		"a,b\nc\nd,e,f\n", "\xEF\xBB\xBFa,b\n1,2\n", "a,b\n1,\x002\n", "\x00\n", "a,b\n\n\r\n\n1,2\n",
		"h\n1\r2\n", "h\r1\n2\r", "h\r\"a\nb\"\r", "h\n\"a\rb\"\n", "h\n\"unterminated\n1\n2\n",
		"h\n\"open\n2\n3\"x\n4\n", "h\n\"a\"\"b\nc\"\"\",d\n", "h\nx\r\r\n",
	} {
		seeds = append(seeds, []byte(s))
	}
	files, _ := filepath.Glob(filepath.Join(repoRoot(tb), "testdata", "load", "*.csv"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) <= 8192 {
			if len(b) > 200 && allBytes(b) {
				b = b[:200] // the bare-quote model needs a byte value the input lacks
			}
			seeds = append(seeds, b)
		}
	}
	if dir := realdata.Dir(); dir != "" {
		for _, rel := range []string{
			"docs/proj/dadosSuprimentos/custo_de_material_e_servicos.csv",
			"docs/proj/dadosSuprimentos/dados_sites_clientes.csv",
			"docs/proj/dadosSuprimentos/resumo_geral.csv",
			"data/outputs/nova_corrente/storytelling/storytelling_timeseries.csv",
			"data/outputs/nova_corrente/storytelling/storytelling_prescriptions.csv",
			"data/outputs/nova_corrente/forecasts/itemABRASIVOS_BATERIA_9V_site176.csv",
		} {
			if b, err := os.ReadFile(filepath.Join(dir, rel)); err == nil {
				seeds = append(seeds, b[:min(len(b), 4096)])
			}
		}
	}
	return seeds
}

func allBytes(b []byte) bool {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n == 256
}

// TestCSVDifferentialSeeds runs the differential on every seed, so that a
// plain `go test` checks them too.
func TestCSVDifferentialSeeds(t *testing.T) {
	t.Parallel()
	for i, s := range csvDiffSeeds(t) {
		for _, d := range []byte{',', ';'} {
			ok := t.Run("", func(t *testing.T) { csvDifferential(t, s, d) })
			if !ok {
				t.Logf("seed %d (%q) with delimiter %q", i, s[:min(len(s), 80)], d)
			}
		}
	}
}

type diffRec struct {
	line     int64
	fields   []string
	bad      bool   // rejected record (ours) or parse error (encoding/csv)
	next     int64  // offset of the next record (ours)
	nextLine int64  // its line (ours)
	raw      string // ours
}

func csvDifferential(t *testing.T, data []byte, delim byte) {
	t.Helper()
	body := bytes.TrimPrefix(data, utf8BOM)
	cr, err := openCSV(bytes.NewReader(data), Dialect{Delimiter: string(delim), Encoding: "utf-8", MaxRecordBytes: 1 << 20})
	if err != nil {
		if !looksWide(data) {
			t.Fatalf("openCSV refused %q: %v", data, err)
		}
		return
	}
	if looksWide(data) && len(data) >= 8 {
		t.Fatalf("UTF-16 input %q not refused", data)
	}
	var ours []diffRec
	var fileErr *FileError
	for {
		rec, err := cr.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if !errors.As(err, &fileErr) {
				t.Fatalf("read error of type %T: %v", err, err)
			}
			break
		}
		r := diffRec{line: rec.line, bad: rec.problem != "", next: cr.offset(), nextLine: cr.line, raw: string(rec.raw)}
		for _, f := range rec.fields {
			r.fields = append(r.fields, string(f))
		}
		ours = append(ours, r)
	}
	crMode := isCRFile(body)
	k := 0
	seg, segLine := int64(0), int64(1)
	for {
		model := modelCSV(t, body[seg:], delim, crMode)
		for _, m := range model {
			m.line += segLine - 1
			if k == len(ours) {
				if fileErr == nil {
					t.Fatalf("encoding/csv has a record on line %d (%q, error %v) after the loader's last one", m.line, m.fields, m.bad)
				}
				checkMixed(t, body, crMode, fileErr, m)
				return
			}
			o := ours[k]
			if o.line != m.line {
				t.Fatalf("record %d: loader line %d (%q bad=%v), encoding/csv line %d (%q bad=%v)", k, o.line, o.fields, o.bad, m.line, m.fields, m.bad)
			}
			if m.bad != o.bad {
				t.Fatalf("line %d: loader rejected=%v %q (raw %q), encoding/csv error=%v %q", o.line, o.bad, o.fields, o.raw, m.bad, m.fields)
			}
			k++
			if m.bad {
				// Resume where the loader resumed: at a line start.
				if o.next > 0 && o.next < int64(len(body)) && body[o.next-1] != '\n' && body[o.next-1] != '\r' {
					t.Fatalf("line %d: the loader resumed at byte %d, not at a line start", o.line, o.next)
				}
				seg, segLine = o.next, o.nextLine
				break
			}
			if !slices.Equal(o.fields, m.fields) {
				t.Fatalf("line %d: loader %q, encoding/csv %q", o.line, o.fields, m.fields)
			}
		}
		if len(model) > 0 && model[len(model)-1].bad {
			continue
		}
		if k != len(ours) {
			t.Fatalf("the loader has %d more records, from line %d", len(ours)-k, ours[k].line)
		}
		if fileErr != nil {
			checkMixed(t, body, crMode, fileErr, diffRec{})
			return
		}
		if got, want := cr.lines(), physicalLines(body, crMode); got != want {
			t.Fatalf("lines() = %d, the input has %d physical lines", got, want)
		}
		return
	}
}

// checkMixed verifies a mixed-line-endings refusal: the byte it points at
// is a stray line-break byte, and (LF files) encoding/csv's record m where
// the loader stopped holds a CR or fails.
func checkMixed(t *testing.T, body []byte, crMode bool, fe *FileError, m diffRec) {
	t.Helper()
	if !strings.Contains(fe.Msg, "mixed line endings") {
		t.Fatalf("loader failed (%v) where encoding/csv reads line %d: %q", fe, m.line, m.fields)
	}
	lines, stray := body, byte('\r')
	if crMode {
		lines, stray = bytes.ReplaceAll(body, []byte("\r"), []byte("\n")), '\n'
	}
	off := lineOffset(lines, int(fe.Line)) + int(fe.Column) - 1
	if off >= len(body) || body[off] != stray || (!crMode && off+1 < len(body) && body[off+1] == '\n') {
		t.Fatalf("mixed line endings reported at line %d column %d (byte %d), which is not a stray %q", fe.Line, fe.Column, off, stray)
	}
	if crMode || m.bad || m.line == 0 {
		return
	}
	for _, f := range m.fields {
		if strings.Contains(f, "\r") {
			return
		}
	}
	t.Fatalf("LF file refused as mixed (%v) but encoding/csv's record on line %d holds no CR: %q", fe, m.line, m.fields)
}

// isCRFile applies the loader's rule: the first line break decides.
func isCRFile(b []byte) bool {
	k := bytes.IndexAny(b, "\r\n")
	return k >= 0 && b[k] == '\r' && k+1 < len(b) && b[k+1] != '\n'
}

// physicalLines counts line breaks (CR and LF in a CR file, LF otherwise)
// plus a last line without one.
func physicalLines(b []byte, crMode bool) int64 {
	n := int64(bytes.Count(b, []byte("\n")))
	if crMode {
		n += int64(bytes.Count(b, []byte("\r")))
	}
	if len(b) > 0 && b[len(b)-1] != '\n' && !(crMode && b[len(b)-1] == '\r') {
		n++
	}
	return n
}

// looksWide is the test's own check for UTF-16/32 input.
func looksWide(b []byte) bool {
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) || bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}) {
		return true
	}
	b = b[:min(len(b), 4096)&^1]
	if len(b) < 8 {
		return false
	}
	var z [2]int
	for i, c := range b {
		if c == 0 {
			z[i%2]++
		}
	}
	half := len(b) / 2
	return (z[1]*10 >= half*9 && z[0]*10 < half) || (z[0]*10 >= half*9 && z[1]*10 < half)
}

// modelCSV reads seg with encoding/csv up to its first error (included, as
// a bad record), applying the modelled departures.
func modelCSV(t *testing.T, seg []byte, delim byte, crMode bool) []diffRec {
	t.Helper()
	data := bytes.Clone(seg)
	if crMode {
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	var ph byte
	for c := 1; c < 256; c++ {
		if b := byte(c); bytes.IndexByte(data, b) < 0 && b != delim && b != '"' && b != '\r' && b != '\n' {
			ph = b
			break
		}
	}
	// After a bare quote is replaced, reading starts again at the start of
	// its record (base, on line baseLine), keeping the records before it.
	var out []diffRec
	base, baseLine := 0, 1
	for {
		r := csv.NewReader(bytes.NewReader(data[base:]))
		r.Comma = rune(delim)
		r.FieldsPerRecord = -1
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return out
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrBareQuote) {
				if ph == 0 {
					t.Skip("no free byte for the bare-quote placeholder")
				}
				off := base + lineOffset(data[base:], pe.Line) + pe.Column - 1
				if off >= len(data) || data[off] != '"' {
					t.Fatalf("ErrBareQuote at line %d column %d is not a quote in %q", pe.Line, pe.Column, data)
				}
				data[off] = ph
				base += lineOffset(data[base:], pe.StartLine)
				baseLine += pe.StartLine - 1
				break
			}
			if err != nil {
				if !errors.As(err, &pe) {
					t.Fatalf("encoding/csv: %v", err)
				}
				return append(out, diffRec{line: int64(baseLine + pe.StartLine - 1), bad: true})
			}
			line, _ := r.FieldPos(0)
			m := diffRec{line: int64(baseLine + line - 1)}
			for _, f := range rec {
				if ph != 0 {
					f = strings.ReplaceAll(f, string([]byte{ph}), `"`)
				}
				m.fields = append(m.fields, f)
			}
			out = append(out, m)
		}
	}
}

// lineOffset is the offset of the start of 1-based line n (LF breaks).
func lineOffset(b []byte, n int) int {
	off := 0
	for l := 1; l < n; l++ {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return len(b)
		}
		off += i + 1
	}
	return off
}
