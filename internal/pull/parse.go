package pull

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/load"
)

// row is one bronze row: values in the source's column order (without
// _load_id and _line).
type row struct {
	line   int64
	date   time.Time
	values []any
}

// parsed is what a window's body yields.
type parsed struct {
	rows    []row
	rejects []ledger.Reject
}

func (p *parsed) reject(line int64, column, reason, raw string) {
	p.rejects = append(p.rejects, ledger.Reject{Line: line, Column: column, Reason: reason, Raw: raw})
}

// records are the rows and rejects of p, in line order, for the loader.
func (p *parsed) records() []load.RecordRow {
	out := make([]load.RecordRow, 0, len(p.rows)+len(p.rejects))
	for _, r := range p.rows {
		out = append(out, load.RecordRow{Line: r.line, Values: r.values})
	}
	for _, r := range p.rejects {
		out = append(out, load.RecordRow{Line: r.Line, Problem: r.Reason, ProblemColumn: r.Column, Raw: r.Raw})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// counts is the ledger accounting of p.
func (p *parsed) counts() ledger.Counts {
	c := ledger.Counts{Read: int64(len(p.rows) + len(p.rejects)), Loaded: int64(len(p.rows)), Rejected: int64(len(p.rejects))}
	for i := range p.rows {
		d := p.rows[i].date
		if c.MinDate == nil || d.Before(*c.MinDate) {
			c.MinDate = &d
		}
		if c.MaxDate == nil || d.After(*c.MaxDate) {
			c.MaxDate = &d
		}
	}
	return c
}

// position converts a byte offset of body into a 1-based line and column.
func position(body []byte, off int64) (line, col int) {
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	head := body[:off]
	line = bytes.Count(head, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(head, '\n') + 1) + 1
	return line, col
}

// jsonError turns a decoding error into one naming the URL, line and column.
func jsonError(url string, body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset is just past the offending byte; at the end of the input
		// it is the end itself.
		off, hint := se.Offset, ""
		if off >= int64(len(body)) || strings.Contains(se.Error(), "unexpected end") {
			hint = " (truncated response?)"
		} else if off > 0 {
			off--
		}
		l, c := position(body, off)
		return fmt.Errorf("%s: invalid JSON at line %d, column %d: %v%s", url, l, c, se, hint)
	case errors.As(err, &te):
		l, c := position(body, te.Offset)
		return fmt.Errorf("%s: unexpected JSON at line %d, column %d: %v", url, l, c, te)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		l, c := position(body, int64(len(body)))
		return fmt.Errorf("%s: invalid JSON at line %d, column %d: unexpected end of JSON input (truncated response?)", url, l, c)
	}
	return fmt.Errorf("%s: %w", url, err)
}

// element is one item of a JSON array with its position.
type element struct {
	n         int64 // 1-based ordinal in the array
	line, col int
	raw       json.RawMessage
}

// arrayElements decodes a top-level JSON array (or the array under key of a
// top-level object when key != "") into its elements, each with its line
// and column in body. A wrong top-level shape is an error that quotes an
// API error object when the server sent one.
func arrayElements(url string, body []byte, key string) ([]element, error) {
	data := body
	base := int64(0)
	if key != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			if !json.Valid(body) {
				return nil, jsonError(url, body, err)
			}
			return nil, fmt.Errorf("%s: top-level JSON is not an object with %q: %s", url, key, snippet(body))
		}
		v, ok := obj[key]
		if !ok {
			return nil, fmt.Errorf("%s: JSON object has no %q array (keys: %s): %s", url, key, strings.Join(sortedKeys(obj), ", "), snippet(body))
		}
		data = v
		base = int64(bytes.Index(body, v))
		if base < 0 {
			base = 0
		}
	}
	if !json.Valid(data) {
		var x any
		return nil, jsonError(url, body, json.Unmarshal(body, &x))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(url, body, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		what := "array"
		if key != "" {
			what = fmt.Sprintf("array under %q", key)
		}
		return nil, fmt.Errorf("%s: expected a JSON %s, got %s", url, what, snippet(data))
	}
	var out []element
	for n := int64(1); dec.More(); n++ {
		off := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(url, body, err)
		}
		// InputOffset points before the separator: skip it and blanks.
		start := off
		for start < int64(len(data)) && strings.IndexByte(", \t\r\n", data[start]) >= 0 {
			start++
		}
		l, c := position(body, base+start)
		out = append(out, element{n: n, line: l, col: c, raw: raw})
	}
	return out, nil
}

// where names an element's position for reasons.
func (e element) where() string {
	return fmt.Sprintf("element %d (line %d, column %d)", e.n, e.line, e.col)
}

// parseNumber reads a JSON number or a numeric string ("11.75", "1,5" is
// refused). ok=false for null.
func parseNumber(raw json.RawMessage) (v float64, ok bool, err error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, false, nil
	}
	if s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false, err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, false, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%q is not a number", s)
	}
	return f, true, nil
}
