// Command benchscale writes the data set of make bench-scale with
// internal/benchdata: the forecast history (one CSV per ML source), the
// ERP requisition export and an inventory snapshot, plus the files of one
// more day for the incremental steps.
//
//	go run ./scripts/benchscale -dir /tmp/scale -items 3000 -sites 5 -days 1095 \
//	    -sources ensemble,arima,xgboost
//
// writes DIR/history/{forecasts_<source>.csv,erp_history.csv,inventory.csv}
// and DIR/day/{forecasts_day.csv,erp_day.csv,inventory_day.csv}, and prints
// the row counts as shell assignments (ROWS_FORECASTS=... ROWS_ERP=...).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/novacorrente/novawh/internal/benchdata"
)

func main() {
	dir := flag.String("dir", "", "output folder (required)")
	items := flag.Int("items", 3000, "materials")
	sites := flag.Int("sites", 5, "ML sites per material (each an ERP depot; the ERP adds the office and blank depots)")
	days := flag.Int("days", 1095, "days of history")
	sources := flag.String("sources", "ensemble,arima,xgboost", "ML sources, comma-separated (one forecast file each)")
	lines := flag.Float64("lines-per-item-day", 0.9, "mean ERP lines per material and day")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "benchscale: -dir is required")
		os.Exit(2)
	}
	s := benchdata.Scale{Items: *items, Sites: *sites, Days: *days, Sources: strings.Split(*sources, ","), LinesPerItemDay: *lines}.WithDefaults()
	var forecasts, erp, inv int64
	write := func(path string, f func(io.Writer) (int64, error)) int64 {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fail(err)
		}
		out, err := os.Create(path)
		if err != nil {
			fail(err)
		}
		n, err := f(out)
		if err == nil {
			err = out.Close()
		}
		if err != nil {
			fail(fmt.Errorf("%s: %w", path, err))
		}
		return n
	}
	for _, src := range s.Sources {
		one := s
		one.Sources = []string{src}
		forecasts += write(filepath.Join(*dir, "history", "forecasts_"+src+".csv"), func(w io.Writer) (int64, error) {
			return benchdata.WriteForecasts(w, one, 0, s.Days)
		})
	}
	erp = write(filepath.Join(*dir, "history", "erp_history.csv"), func(w io.Writer) (int64, error) {
		return benchdata.WriteERP(w, s, 0, s.Days)
	})
	inv = write(filepath.Join(*dir, "history", "inventory.csv"), func(w io.Writer) (int64, error) {
		return benchdata.WriteInventory(w, s, s.Days-1)
	})
	dayF := write(filepath.Join(*dir, "day", "forecasts_day.csv"), func(w io.Writer) (int64, error) {
		return benchdata.WriteForecasts(w, s, s.Days, s.Days+1)
	})
	dayE := write(filepath.Join(*dir, "day", "erp_day.csv"), func(w io.Writer) (int64, error) {
		return benchdata.WriteERP(w, s, s.Days, s.Days+1)
	})
	dayI := write(filepath.Join(*dir, "day", "inventory_day.csv"), func(w io.Writer) (int64, error) {
		return benchdata.WriteInventory(w, s, s.Days)
	})
	fmt.Printf("ROWS_FORECASTS=%d ROWS_ERP=%d ROWS_INVENTORY=%d DAY_FORECASTS=%d DAY_ERP=%d DAY_INVENTORY=%d\n",
		forecasts, erp, inv, dayF, dayE, dayI)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchscale:", err)
	os.Exit(1)
}
