package load

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/novacorrente/novawh/internal/registry"
)

// FuzzParseRow feeds arbitrary bytes through the CSV reader and the row
// validator/encoder of bronze.ml_forecasts. Whatever the input: no panic,
// a read problem is a *FileError with a position, every row is either a
// well-formed binary COPY tuple or a rejection naming a known column, and
// rows are counted once.
func FuzzParseRow(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(repoRoot(f), "testdata", "load", "*.csv"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil && len(b) < 8192 {
			f.Add(b)
		}
	}
	f.Add([]byte("item_id,site_id,date,forecast\n\"a\"\"b\",1,2025-01-01,1e3\n"))
	f.Add([]byte("item_id,site_id,date,forecast\r\nA,1,2024-02-29,0\r\n\"x\ny\",2,2025-12-31,\"1.5\"\r\n"))
	reg, err := registry.Default()
	if err != nil {
		f.Fatal(err)
	}
	tbl, _ := reg.Table("bronze", "ml_forecasts")
	cfg := projectConfig(f)
	src := cfg.Sources["ml_forecasts"]
	meta := resolvedMeta{values: map[string]string{"model_version": "v", "generated_at": "2025-11-11T06:00:00Z", "source": "s", "dataset_id": "d"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := newCSVReader(bytes.NewReader(data), ',', 4096)
		head, err := cr.read()
		if err != nil {
			var fe *FileError
			if !errors.Is(err, io.EOF) && (!errors.As(err, &fe) || fe.Line < 1) {
				t.Fatalf("header: %v", err)
			}
			return
		}
		header := make([]string, len(head.fields))
		for i, h := range head.fields {
			header[i] = string(h)
		}
		p, err := buildPlan(src, tbl, header, "itemX_site1.csv", meta, true)
		if err != nil {
			return
		}
		known := map[string]bool{"": true}
		for _, tg := range p.targets {
			known[tg.name] = true
		}
		var lo, hi int32
		var has bool
		lastLine := int64(0)
		for {
			rec, err := cr.read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Line < 1 {
					t.Fatalf("row: %v", err)
				}
				return
			}
			if rec.line <= lastLine {
				t.Fatalf("line %d after %d", rec.line, lastLine)
			}
			lastLine = rec.line
			out, rerr := p.encodeRow(nil, rec, &lo, &hi, &has)
			if rerr != nil {
				if len(out) != 0 || rerr.reason == "" || !known[rerr.column] {
					t.Fatalf("bad rejection %+v (out %d bytes)", rerr, len(out))
				}
				continue
			}
			checkTuple(t, out, len(p.targets)+2)
		}
	})
}

// checkTuple walks one binary COPY tuple.
func checkTuple(t *testing.T, b []byte, fields int) {
	t.Helper()
	if len(b) < 2 || int(binary.BigEndian.Uint16(b)) != fields {
		t.Fatalf("tuple header: %x", b[:min(len(b), 2)])
	}
	off := 2
	for i := 0; i < fields; i++ {
		if off+4 > len(b) {
			t.Fatalf("field %d: truncated", i)
		}
		n := int32(binary.BigEndian.Uint32(b[off:]))
		off += 4
		if n == -1 {
			continue
		}
		if n < 0 || off+int(n) > len(b) {
			t.Fatalf("field %d: length %d", i, n)
		}
		off += int(n)
	}
	if off != len(b) {
		t.Fatalf("%d trailing bytes", len(b)-off)
	}
}
