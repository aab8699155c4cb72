package load

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// TestCorpusLines reconciles meta.loads with the physical lines of EVERY
// CSV file of the bad-input corpus: lines_read is the file's line count
// (counted here from its bytes), and the start lines of the rows loaded
// and rejected are exactly the record start lines that encoding/csv finds
// (with the modelled departures of FuzzCSVDifferential, and the documented
// rule that reading resumes on the line after the first line of a
// malformed record). No row can hide inside another.
func TestCorpusLines(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	// Every corpus file must be listed: a new file without a source fails.
	sources := map[string]string{
		"anatel_latin1.csv": "anatel_5g", "erp_latin1_declared_utf8.csv": "erp_requisitions",
		"erp_semicolon_latin1.csv": "erp_semicolon", "thousands_groups.csv": "erp_semicolon",
		"erp_unclosed_quote.csv": "erp_requisitions", "huge_field.csv": "fc_small",
	}
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "load", "*.csv"))
	if err != nil || len(files) < 30 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			source := sources[name]
			if source == "" {
				source = "ml_forecasts"
			}
			res, err := l.LoadPaths(ctx, source, []string{path}, Options{Force: true, MaxRejectRatio: 1, Meta: flagMeta})
			if err != nil || len(res) != 1 {
				t.Fatalf("%+v %v", res, err)
			}
			r := res[0]
			var lines *int64
			if err := db.Pool.QueryRow(ctx, `SELECT lines_read FROM meta.loads WHERE load_id = $1`, r.LoadID).Scan(&lines); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			body := bytes.TrimPrefix(raw, utf8BOM)
			if enc := l.cfg.Sources[source].Dialect.Encoding; enc == "latin-1" && !bytes.HasPrefix(raw, utf8BOM) {
				if body, err = charmap.ISO8859_1.NewDecoder().Bytes(body); err != nil {
					t.Fatal(err)
				}
			}
			crMode := isCRFile(body)
			total := physicalLines(body, crMode)
			if r.Status != "loaded" {
				t.Logf("%s: %s", r.Status, r.Error)
				if lines != nil && *lines > total {
					t.Fatalf("failed load read %d lines of a %d-line file", *lines, total)
				}
				return
			}
			if lines == nil || *lines != total {
				t.Fatalf("lines_read = %v, the file has %d physical lines", deref(lines), total)
			}
			tbl := l.cfg.Sources[source].Table
			got := column[int64](t, db.Pool, `SELECT _line FROM `+tbl+` WHERE _load_id = $1
				UNION ALL SELECT line FROM meta.rejected_rows WHERE load_id = $1 ORDER BY 1`, r.LoadID)
			want := recordStarts(t, body, l.cfg.Sources[source].Dialect.Delimiter[0], crMode)
			if len(want) > 0 {
				want = want[1:] // the header
			}
			if !slices.Equal(got, want) || int64(len(got)) != r.RowsRead {
				t.Fatalf("rows start on lines %v (rows_read %d), encoding/csv finds records on lines %v", got, r.RowsRead, want)
			}
		})
	}
}

// recordStarts is where records start according to encoding/csv (through
// modelCSV), resuming on the next line after a record it cannot read.
func recordStarts(t *testing.T, body []byte, delim byte, crMode bool) []int64 {
	lines := body
	if crMode {
		lines = bytes.ReplaceAll(body, []byte("\r"), []byte("\n"))
	}
	var out []int64
	from := int64(1)
	for {
		recs := modelCSV(t, body[lineOffset(lines, int(from)):], delim, crMode)
		for _, m := range recs {
			out = append(out, m.line+from-1)
		}
		if len(recs) == 0 || !recs[len(recs)-1].bad {
			return out
		}
		from += recs[len(recs)-1].line
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
