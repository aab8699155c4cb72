package load

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// TestCorpus loads every file of testdata/load with its exact expected
// outcome: status, row accounting, the error and the rejected rows.
func TestCorpus(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	type rej struct {
		line   int64
		column string // "" means NULL
		reason string
	}
	cases := []struct {
		name, source, file string
		noMeta             bool
		ratio              float64
		status             string
		read, loaded, rejd int64
		err                string
		rejects            []rej
	}{
		{name: "good", source: "ml_forecasts", file: "good.csv", status: "loaded", read: 3, loaded: 3},
		{name: "bom and crlf", source: "ml_forecasts", file: "bom_crlf.csv", status: "loaded", read: 2, loaded: 2},
		{name: "no trailing newline", source: "ml_forecasts", file: "no_trailing_newline.csv", status: "loaded", read: 2, loaded: 2},
		{name: "blank lines", source: "ml_forecasts", file: "blank_lines.csv", status: "loaded", read: 2, loaded: 2},
		{name: "ragged rows under threshold", source: "ml_forecasts", file: "ragged.csv", ratio: 0.5, status: "loaded", read: 4, loaded: 2, rejd: 2,
			rejects: []rej{{3, "", "ragged row: 7 fields, the header has 6"}, {4, "", "ragged row: 4 fields, the header has 6"}}},
		{name: "ragged rows over threshold", source: "ml_forecasts", file: "ragged.csv", status: "failed", read: 4, rejd: 4,
			err: "2 of 4 rows rejected (50.0%), above the 10.0% threshold"},
		{name: "unterminated quote over threshold", source: "ml_forecasts", file: "unterminated_quote.csv", status: "failed", read: 3, rejd: 3,
			err: "1 of 3 rows rejected (33.3%), above the 10.0% threshold (--max-reject-ratio); first: line 3: column 1: the quote that opens field 1 is never closed (end of file); only line 3 is rejected, reading resumes on line 4"},
		{name: "unterminated quote, the next line read again", source: "ml_forecasts", file: "unterminated_quote.csv", ratio: 0.5, status: "loaded", read: 3, loaded: 2, rejd: 1,
			rejects: []rej{{3, "", "column 1: the quote that opens field 1 is never closed (end of file); only line 3 is rejected, reading resumes on line 4"}}},
		{name: "ERP quote open from line 61 to line 69", source: "erp_requisitions", file: "erp_unclosed_quote.csv", status: "loaded", read: 100, loaded: 99, rejd: 1,
			rejects: []rej{{61, "", `column 19: the quote opened on this line does not end its field properly (line 69, column 27: unexpected 'X' after a closing quote (field 3)): taken as an unterminated quote; only line 61 is rejected, reading resumes on line 62`}}},
		{name: "bare CR line endings (Excel for Mac)", source: "ml_forecasts", file: "mac_cr.csv", status: "loaded", read: 3, loaded: 3},
		{name: "mixed line endings", source: "ml_forecasts", file: "mixed_line_endings.csv", status: "failed", read: 2, rejd: 2,
			err: "line 4 column 17: a CR (carriage return) that is not followed by LF outside quotes, but the file's first line ends with LF: mixed line endings"},
		{name: "quoted field ending in CR, empty last field", source: "ml_forecasts", file: "quote_cr_empty_last.csv", status: "loaded", read: 3, loaded: 3},
		{name: "CR after a closing quote", source: "ml_forecasts", file: "quote_cr_junk.csv", status: "failed",
			err: "line 2 column 4: a CR (carriage return) that is not followed by LF outside quotes"},
		{name: "thousands separators in groups of three only", source: "erp_semicolon", file: "thousands_groups.csv", ratio: 1, status: "loaded", read: 7, loaded: 4, rejd: 3,
			rejects: []rej{
				{3, "quantity", `column quantity: not a number: "1.5" (thousands separator '.' must separate groups of three digits)`},
				{4, "quantity", `column quantity: not a number: "1.2.3" (thousands separator '.' must separate groups of three digits)`},
				{5, "quantity", `column quantity: not a number: "12.34" (thousands separator '.' must separate groups of three digits)`}}},
		{name: "semicolons given to a comma source", source: "ml_forecasts", file: "bom_semicolon.csv", status: "failed",
			err: `missing required columns: item_id (headers: item_id, item); site_id (headers: site_id, site); date (headers: date, ds); forecast (headers: forecast, forecast_qty, yhat) (the header line has 1 field(s) split with "," but 6 split with ";": the delimiter looks like ";"; set dialect.delimiter: ";" for this source)`},
		{name: "timestamps far from 2000", source: "ml_forecasts", file: "timestamps_far.csv", ratio: 1, status: "loaded", read: 6, loaded: 4, rejd: 2,
			rejects: []rej{
				{5, "generated_at", `column generated_at: timestamp "2025-01-01T00:00:00.1234567Z" has a fraction of a microsecond: PostgreSQL keeps microseconds`},
				{6, "generated_at", `column generated_at: bad timestamp "10000-01-01T00:00:00Z"`}}},
		{name: "UTF-16 with a byte order mark", source: "ml_forecasts", file: "utf16le_bom.csv", status: "failed",
			err: `the file is UTF-16 little-endian (it starts with the byte order mark FF FE): novawh reads UTF-8 (with or without BOM), Latin-1 or Windows-1252 text; re-save it as "CSV UTF-8"`},
		{name: "UTF-16 without a byte order mark", source: "ml_forecasts", file: "utf16be_nobom.csv", status: "failed",
			err: "the file is UTF-16 big-endian without a byte order mark (every other byte is NUL)"},
		{name: "junk after closing quote", source: "ml_forecasts", file: "junk_after_quote.csv", status: "loaded", read: 22, loaded: 21, rejd: 1,
			rejects: []rej{{3, "", `column 4: unexpected 'x' after a closing quote (field 1)`}}},
		{name: "quoted fields with newlines and quotes", source: "ml_forecasts", file: "quoted_multiline.csv", status: "loaded", read: 3, loaded: 3},
		{name: "NUL byte in a row", source: "ml_forecasts", file: "nul_in_row.csv", status: "loaded", read: 21, loaded: 20, rejd: 1,
			rejects: []rej{{3, "item_id", "column item_id: NUL byte in the value"}}},
		{name: "NUL bytes in the header", source: "ml_forecasts", file: "nul_header.csv", status: "failed",
			err: "line 1 column 1: NUL byte in the header: not a text CSV file"},
		{name: "binary file", source: "ml_forecasts", file: "binary.csv", status: "failed", err: "NUL byte in the header"},
		{name: "empty file", source: "ml_forecasts", file: "empty.csv", status: "failed", err: "empty file: no header line"},
		{name: "header only", source: "ml_forecasts", file: "header_only.csv", status: "loaded"},
		{name: "duplicate headers", source: "ml_forecasts", file: "duplicate_headers.csv", status: "failed",
			err: `line 1 column 5: duplicate header "Forecast" (also column 4)`},
		{name: "missing required header", source: "ml_forecasts", file: "missing_headers.csv", status: "failed",
			err: "missing required columns: forecast (headers: forecast, forecast_qty, yhat)"},
		{name: "negative values", source: "ml_forecasts", file: "negative.csv", status: "loaded", read: 22, loaded: 20, rejd: 2,
			rejects: []rej{{3, "forecast", "column forecast: -2.5 violates forecast >= 0"}, {4, "lower", "column lower: -0.1 violates lower >= 0"}}},
		{name: "non-numeric values", source: "ml_forecasts", file: "non_numeric.csv", ratio: 1, status: "loaded", read: 4, loaded: 1, rejd: 3,
			rejects: []rej{{2, "forecast", `column forecast: not a number: "abc"`}, {3, "forecast", `column forecast: not a number: "NaN"`}, {5, "forecast", `column forecast: not a number: "inf"`}}},
		{name: "impossible dates", source: "ml_forecasts", file: "impossible_dates.csv", ratio: 1, status: "loaded", read: 5, loaded: 2, rejd: 3,
			rejects: []rej{{2, "date", `column date: bad date "2025-02-30"`}, {3, "date", `column date: bad date "2025-13-01"`}, {5, "date", `column date: bad date "31/12/2025"`}}},
		{name: "null keys", source: "ml_forecasts", file: "null_key.csv", status: "loaded", read: 32, loaded: 29, rejd: 3,
			rejects: []rej{{3, "item_id", "column item_id: NULL not allowed"}, {4, "date", "column date: NULL not allowed"}, {33, "date", `column date: bad date "2025-02-29"`}}},
		{name: "not a parquet file", source: "ml_forecasts", file: "not_parquet.parquet", status: "failed", err: "not a readable Parquet file"},
		{name: "huge field", source: "fc_small", file: "huge_field.csv", status: "loaded", read: 21, loaded: 20, rejd: 1,
			rejects: []rej{{3, "", "record longer than 4096 bytes"}}},
		{name: "ML metadata in the file", source: "ml_forecasts", file: "with_metadata.csv", noMeta: true, status: "loaded", read: 2, loaded: 2},
		{name: "ML metadata missing", source: "ml_forecasts", file: "good.csv", noMeta: true, status: "failed",
			err: "missing ML metadata columns model_version, generated_at, source, dataset_id"},
		{name: "ML metadata partly missing", source: "ml_forecasts", file: "partial_metadata.csv", noMeta: true, status: "failed",
			err: "missing ML metadata columns generated_at, dataset_id"},
		{name: "ML metadata empty cell", source: "ml_forecasts", file: "metadata_empty_cell.csv", noMeta: true, ratio: 1, status: "loaded", read: 2, loaded: 1, rejd: 1,
			rejects: []rej{{3, "model_version", "column model_version: NULL not allowed"}}},
		{name: "semicolons, decimal comma, Latin-1", source: "erp_semicolon", file: "erp_semicolon_latin1.csv", status: "loaded", read: 3, loaded: 3},
		{name: "Latin-1 read as UTF-8", source: "erp_requisitions", file: "erp_latin1_declared_utf8.csv", status: "failed",
			err: "line 1 column 1: header 1 is not valid UTF-8"},
		{name: "Anatel year+month, Latin-1", source: "anatel_5g", file: "anatel_latin1.csv", ratio: 0.5, status: "loaded", read: 3, loaded: 2, rejd: 1,
			rejects: []rej{{4, "date", `column date: bad year/month "2025"/"13"`}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			opts := Options{Force: true, MaxRejectRatio: c.ratio}
			if !c.noMeta {
				opts.Meta = flagMeta
			}
			res, err := l.LoadPaths(context.Background(), c.source, []string{corpus(t, c.file)}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			r := res[0]
			if r.Status != c.status || r.RowsRead != c.read || r.RowsLoaded != c.loaded || r.RowsRejected != c.rejd {
				t.Errorf("got %s read=%d loaded=%d rejected=%d (%s), want %s %d/%d/%d",
					r.Status, r.RowsRead, r.RowsLoaded, r.RowsRejected, r.Error, c.status, c.read, c.loaded, c.rejd)
			}
			if c.err != "" && !strings.Contains(r.Error, c.err) {
				t.Errorf("error %q does not contain %q", r.Error, c.err)
			}
			if c.err == "" && r.Error != "" {
				t.Errorf("unexpected error %q", r.Error)
			}
			if c.status == "failed" && !strings.Contains(r.Error, c.file) {
				t.Errorf("error %q does not name the file", r.Error)
			}
			tbl := l.cfg.Sources[c.source].Table
			checkLedger(t, db.Pool, tbl, r)
			rows, err := db.Pool.Query(context.Background(),
				`SELECT line, coalesce(column_name, ''), reason, raw FROM meta.rejected_rows WHERE load_id = $1 ORDER BY line`, r.LoadID)
			if err != nil {
				t.Fatal(err)
			}
			var got []rej
			for rows.Next() {
				var x rej
				var raw string
				if err := rows.Scan(&x.line, &x.column, &x.reason, &raw); err != nil {
					t.Fatal(err)
				}
				if raw == "" {
					t.Errorf("line %d: empty raw text", x.line)
				}
				got = append(got, x)
			}
			if rows.Err() != nil {
				t.Fatal(rows.Err())
			}
			if c.status == "loaded" && len(got) != len(c.rejects) {
				t.Fatalf("rejected rows %+v, want %+v", got, c.rejects)
			}
			for i := range got {
				w := c.rejects[i]
				if got[i].line != w.line || got[i].column != w.column || !strings.Contains(got[i].reason, w.reason) {
					t.Errorf("rejected row %d = %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}

// TestCorpusValues checks what the dialect machinery stored.
func TestCorpusValues(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	ctx := context.Background()
	load := func(source, file string, ratio float64) Result {
		t.Helper()
		res, err := l.LoadPaths(ctx, source, []string{corpus(t, file)}, Options{Meta: flagMeta, MaxRejectRatio: ratio})
		if err != nil || len(res) != 1 || res[0].Status != "loaded" {
			t.Fatalf("%s: %+v %v", file, res, err)
		}
		return res[0]
	}
	r := load("erp_semicolon", "erp_semicolon_latin1.csv", 0)
	type erpRow struct {
		dep, code, material, supplier *string
		qty                           float64
		solicited                     *string
		line                          int64
	}
	rows, err := db.Pool.Query(ctx, `SELECT deposito, product_code, material, supplier_name, quantity, solicited_date::text, _line
		FROM bronze.erp_requisitions WHERE _load_id = $1 ORDER BY _line`, r.LoadID)
	if err != nil {
		t.Fatal(err)
	}
	var got []erpRow
	for rows.Next() {
		var e erpRow
		if err := rows.Scan(&e.dep, &e.code, &e.material, &e.supplier, &e.qty, &e.solicited, &e.line); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != 3 {
		t.Fatalf("%d rows", len(got))
	}
	if *got[0].code != "010825" || *got[0].material != `PREGO 2.1/2"X10MM` || got[0].qty != 1234.5 || *got[0].solicited != "2024-12-02" {
		t.Errorf("row 1: %v %v %v %v", *got[0].code, *got[0].material, got[0].qty, *got[0].solicited)
	}
	if got[1].dep != nil || *got[1].supplier != "CONSTRUÇÃO LTDA" || got[1].qty != 80.25 {
		t.Errorf("row 2: dep %v supplier %v qty %v", got[1].dep, *got[1].supplier, got[1].qty)
	}
	if got[2].solicited != nil || got[2].line != 4 {
		t.Errorf("row 3: solicited %v line %d", got[2].solicited, got[2].line)
	}
	var minDate, maxDate string
	if err := db.Pool.QueryRow(ctx, `SELECT min_date::text, max_date::text FROM meta.loads WHERE load_id = $1`, r.LoadID).Scan(&minDate, &maxDate); err != nil {
		t.Fatal(err)
	}
	if minDate != "2024-11-13" || maxDate != "2024-12-02" {
		t.Errorf("business dates %s..%s", minDate, maxDate)
	}

	r = load("ml_forecasts", "quoted_multiline.csv", 0)
	var item string
	var lines []int64
	if err := db.Pool.QueryRow(ctx, `SELECT item_id FROM bronze.ml_forecasts WHERE _load_id = $1 AND _line = 2`, r.LoadID).Scan(&item); err != nil {
		t.Fatal(err)
	}
	if item != "A \"quoted\"\nname" {
		t.Errorf("item %q", item)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT array_agg(_line ORDER BY _line) FROM bronze.ml_forecasts WHERE _load_id = $1`, r.LoadID).Scan(&lines); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[0] != 2 || lines[1] != 4 || lines[2] != 5 {
		t.Errorf("lines %v, want [2 4 5]", lines)
	}

	r = load("ml_forecasts", "bom_crlf.csv", 0)
	var n int64
	var mv, src, ds, gen string
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), min(model_version), min(source), min(dataset_id), min(generated_at)::text
		FROM bronze.ml_forecasts WHERE _load_id = $1 AND item_id = 'A' AND site_id = '1'`, r.LoadID).Scan(&n, &mv, &src, &ds, &gen); err != nil {
		t.Fatal(err)
	}
	if n != 2 || mv != "arima-xgb-1.0" || src != "ensemble" || ds != "nova-2025-11" || gen != "2025-11-11 06:00:00+00" {
		t.Errorf("bom_crlf: %d rows, metadata %s %s %s %s", n, mv, src, ds, gen)
	}

	r = load("ml_forecasts", "timestamps_far.csv", 1)
	var stamps []string
	if err := db.Pool.QueryRow(ctx, `SELECT array_agg((generated_at AT TIME ZONE 'UTC')::text ORDER BY _line) FROM bronze.ml_forecasts WHERE _load_id = $1`, r.LoadID).Scan(&stamps); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1700-01-01 00:00:00", "2300-06-01 12:00:00", "0001-01-01 00:00:00", "2025-11-11 06:00:00.123456"}; !slices.Equal(stamps, want) {
		t.Errorf("timestamps stored %q, want %q", stamps, want)
	}

	r = load("erp_semicolon", "thousands_groups.csv", 1)
	var qty []float64
	if err := db.Pool.QueryRow(ctx, `SELECT array_agg(quantity ORDER BY _line) FROM bronze.erp_requisitions WHERE _load_id = $1`, r.LoadID).Scan(&qty); err != nil {
		t.Fatal(err)
	}
	if want := []float64{1234567.89, 10, 1234, 80.25}; !slices.Equal(qty, want) {
		t.Errorf("quantities %v, want %v", qty, want)
	}

	r = load("erp_requisitions", "erp_unclosed_quote.csv", 0)
	var material string
	if err := db.Pool.QueryRow(ctx, `SELECT material FROM bronze.erp_requisitions WHERE _load_id = $1 AND _line = 69`, r.LoadID).Scan(&material); err != nil {
		t.Fatal(err)
	}
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.erp_requisitions WHERE _load_id = $1 AND _line BETWEEN 62 AND 69`, r.LoadID); n != 8 || material != `PREGO 2"X10MM` {
		t.Errorf("lines 62-69: %d rows, line 69 material %q", n, material)
	}

	r = load("ml_forecasts", "mac_cr.csv", 0)
	if got := scalar[string](t, db.Pool, `SELECT string_agg(date::text || '/' || forecast || '@' || _line, ' ' ORDER BY _line) FROM bronze.ml_forecasts WHERE _load_id = $1`, r.LoadID); got != "2025-01-01/1@2 2025-01-02/2@3 2025-01-03/3@4" {
		t.Errorf("CR file rows: %s", got)
	}

	r = load("anatel_5g", "anatel_latin1.csv", 0.5)
	var muni, op, tech, date string
	var count int64
	if err := db.Pool.QueryRow(ctx, `SELECT municipality, operator, technology, date::text, count FROM bronze.telecom_5g
		WHERE _load_id = $1 AND ibge_code = '2927408'`, r.LoadID).Scan(&muni, &op, &tech, &date, &count); err != nil {
		t.Fatal(err)
	}
	if muni != "Salvador" || op != "TELEFÔNICA BRASIL S.A." || tech != "5G" || date != "2025-01-01" || count != 1234 {
		t.Errorf("anatel row: %s %s %s %s %d", muni, op, tech, date, count)
	}
}
