package load

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// A panic on any goroutine of a load (the CSV or Parquet reader on the
// producer goroutine, pgconn's goroutine reading the COPY data, with one
// or two COPY streams) fails that input only: it is recorded in meta.loads
// as failed with the reason and the file, nothing of it is in bronze, and
// the inputs before and after it load.
func TestPanicFailsOnlyItsInput(t *testing.T) {
	t.Parallel()
	const injected = "injected test panic"
	cases := []struct {
		name    string
		ext     string
		streams int
		hooks   func(target string) *testHooks
		where   string
	}{
		{name: "CSV reader", ext: ".csv", where: "panic in the csv reader: " + injected,
			hooks: func(target string) *testHooks {
				return &testHooks{record: func(file string, n int64) {
					if file == target && n == 2 {
						panic(injected)
					}
				}}
			}},
		{name: "Parquet reader", ext: ".parquet", where: "panic in the parquet reader: " + injected,
			hooks: func(target string) *testHooks {
				return &testHooks{record: func(file string, n int64) {
					if file == target && n == 1 {
						panic(injected)
					}
				}}
			}},
		{name: "COPY data reader", ext: ".csv", where: "panic in the COPY data reader: " + injected,
			hooks: func(target string) *testHooks {
				return &testHooks{copyRead: func(file string) {
					if file == target {
						panic(injected)
					}
				}}
			}},
		{name: "COPY data reader, two streams", ext: ".csv", streams: 2, where: "panic in the COPY data reader: " + injected,
			hooks: func(target string) *testHooks {
				return &testHooks{copyRead: func(file string) {
					if file == target {
						panic(injected)
					}
				}}
			}},
		{name: "index runtime error", ext: ".csv", where: "panic in the csv reader: runtime error: index out of range",
			hooks: func(target string) *testHooks {
				return &testHooks{record: func(file string, n int64) {
					if file == target {
						var s []int
						_ = s[n+3]
					}
				}}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := pgtest.New(t)
			l := newTestLoader(t, db.Pool)
			dir := t.TempDir()
			var files []string
			for i, name := range []string{"a", "b", "c"} {
				p := filepath.Join(dir, name+c.ext)
				writeSmallForecasts(t, p, i)
				files = append(files, p)
			}
			l.hooks = c.hooks(files[1])
			res, err := l.LoadPaths(ctx, "ml_forecasts", []string{dir}, Options{Meta: flagMeta, Streams: c.streams})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 3 {
				t.Fatalf("%d results: %+v", len(res), res)
			}
			for i, r := range res {
				want := "loaded"
				if i == 1 {
					want = "failed"
				}
				if r.File != files[i] || r.Status != want {
					t.Fatalf("result %d: %s %s (%s), want %s %s", i, r.File, r.Status, r.Error, files[i], want)
				}
				checkLedger(t, db.Pool, "bronze.ml_forecasts", r)
			}
			var status, msg, file string
			if err := db.Pool.QueryRow(ctx, `SELECT status, error, file_name FROM meta.loads WHERE load_id = $1`, res[1].LoadID).Scan(&status, &msg, &file); err != nil {
				t.Fatal(err)
			}
			if status != "failed" || file != files[1] || !strings.Contains(msg, files[1]) || !strings.Contains(msg, "internal error: "+c.where) {
				t.Fatalf("meta.loads: %s %s %q", status, file, msg)
			}
			if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.ml_forecasts`); n != res[0].RowsLoaded+res[2].RowsLoaded || n == 0 {
				t.Fatalf("%d bronze rows", n)
			}
		})
	}
}

// writeSmallForecasts writes a 50-row forecast file (CSV or Parquet by
// extension) whose content depends on seed.
func writeSmallForecasts(tb testing.TB, path string, seed int) {
	tb.Helper()
	type row struct {
		ItemID   string  `parquet:"item_id"`
		SiteID   string  `parquet:"site_id"`
		Date     string  `parquet:"date"`
		Forecast float64 `parquet:"forecast"`
	}
	var rows []row
	for i := 0; i < 50; i++ {
		rows = append(rows, row{fmt.Sprintf("I%d", seed), "1", fmt.Sprintf("2025-01-%02d", i%28+1), float64(i)})
	}
	if strings.HasSuffix(path, ".parquet") {
		f, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		if err := parquet.Write(f, rows); err != nil {
			tb.Fatal(err)
		}
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
		return
	}
	var b strings.Builder
	b.WriteString("item_id,site_id,date,forecast\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%g\n", r.ItemID, r.SiteID, r.Date, r.Forecast)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
}
