package serve_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExampleQueries runs every statement of docs/data/example_queries.sql
// as novawh_reader against a seeded database; each must return rows.
func TestExampleQueries(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "data", "example_queries.sql"))
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := splitSQL(string(b))
	if err != nil {
		t.Fatalf("example_queries.sql: %v", err)
	}
	if len(stmts) < 10 {
		t.Fatalf("only %d statements found", len(stmts))
	}
	e := newEnv(t, nil)
	for _, st := range stmts {
		t.Run("line "+strconv.Itoa(st.line), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rows, err := e.reader.Query(ctx, st.sql)
			if err != nil {
				t.Fatalf("example_queries.sql:%d: %v", st.line, err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				t.Fatalf("example_queries.sql:%d: %v", st.line, err)
			}
			if n == 0 {
				t.Errorf("example_queries.sql:%d: no rows on the seeded database", st.line)
			}
		})
	}
}

type statement struct {
	sql  string
	line int // line of the statement's first non-comment character
}

// splitSQL splits a script on semicolons outside quotes and comments.
func splitSQL(s string) ([]statement, error) {
	var out []statement
	var cur strings.Builder
	line, start := 1, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			if i < len(s) {
				line++
				cur.WriteByte('\n')
			}
			continue
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return nil, &splitError{line: line, msg: "unterminated quote"}
			}
			seg := s[i : j+1]
			if start == 0 {
				start = line
			}
			line += strings.Count(seg, "\n")
			cur.WriteString(seg)
			i = j
			continue
		case c == ';':
			if sql := strings.TrimSpace(cur.String()); sql != "" {
				out = append(out, statement{sql: sql, line: start})
			}
			cur.Reset()
			start = 0
			continue
		case c == '\n':
			line++
		case start == 0 && c != ' ' && c != '\t' && c != '\r':
			start = line
		}
		cur.WriteByte(c)
	}
	if strings.TrimSpace(cur.String()) != "" {
		return nil, &splitError{line: start, msg: "statement without a final semicolon"}
	}
	return out, nil
}

type splitError struct {
	line int
	msg  string
}

func (e *splitError) Error() string { return "line " + strconv.Itoa(e.line) + ": " + e.msg }
