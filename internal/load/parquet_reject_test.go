package load

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// A rejected Parquet row is stored as name=value pairs, NULL for nulls.
func TestParquetRejectRaw(t *testing.T) {
	t.Parallel()
	type row struct {
		ItemID   string   `parquet:"item_id"`
		SiteID   string   `parquet:"site_id"`
		Ds       string   `parquet:"ds"`
		Forecast float64  `parquet:"forecast"`
		Actual   *float64 `parquet:"actual,optional"`
	}
	one := 1.0
	rows := []row{{"A_B", "1", "2025-01-01", 2, &one}}
	for i := 0; i < 20; i++ {
		rows = append(rows, row{"A_B", "1", "2025-01-02", 3, &one})
	}
	rows = append(rows, row{"A_B", "1", "2025-01-03", -1, nil})
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	r, err := l.LoadReader(context.Background(), "ml_forecasts", "mem://f.parquet", &buf, Options{Meta: flagMeta})
	if err != nil || r.RowsRejected != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	raw := scalar[string](t, db.Pool, `SELECT raw FROM meta.rejected_rows WHERE load_id = $1`, r.LoadID)
	for _, want := range []string{"item_id=A_B", "forecast=-1", "actual=NULL"} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw %q lacks %q", raw, want)
		}
	}
}
