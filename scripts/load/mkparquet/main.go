// Command mkparquet writes the sample storytelling Parquet file from a CSV
// of the same shape (data/raw/samples/ml_forecasts), with the column types
// of the real storytelling_timeseries.parquet (ds a timestamp, xgboost a
// float32, site_id an int64) plus the four ML metadata columns.
//
//	go run ./scripts/load/mkparquet scripts/load/mkparquet/source.csv \
//	    data/raw/samples/ml_forecasts/storytelling_timeseries_sample.parquet
package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
)

type row struct {
	DS              time.Time `parquet:"ds,timestamp(nanosecond)"`
	ForecastQty     float64   `parquet:"forecast_qty"`
	Lower           float64   `parquet:"lower"`
	Upper           float64   `parquet:"upper"`
	ArimaForecast   float64   `parquet:"arima_forecast"`
	XGBoostForecast float32   `parquet:"xgboost_forecast"`
	SeriesKey       string    `parquet:"series_key"`
	ItemID          string    `parquet:"item_id"`
	SiteID          int64     `parquet:"site_id"`
	Familia         string    `parquet:"familia"`
	Category        string    `parquet:"category"`
	Region          string    `parquet:"region"`
	Deposito        *string   `parquet:"deposito,optional"`
	ActualQty       *float64  `parquet:"actual_qty,optional"`
	ModelVersion    string    `parquet:"model_version"`
	GeneratedAt     time.Time `parquet:"generated_at,timestamp(microsecond)"`
	Source          string    `parquet:"source"`
	DatasetID       string    `parquet:"dataset_id"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mkparquet SOURCE.csv OUT.parquet")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "mkparquet:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	var rows []row
	for i, r := range recs[1:] {
		line := i + 2
		num := func(s string) float64 {
			v, perr := strconv.ParseFloat(s, 64)
			if perr != nil && err == nil {
				err = fmt.Errorf("%s:%d: %w", in, line, perr)
			}
			return v
		}
		ds, perr := time.Parse(time.DateOnly, r[0])
		if perr != nil {
			return fmt.Errorf("%s:%d: %w", in, line, perr)
		}
		gen, perr := time.Parse(time.RFC3339, r[15])
		if perr != nil {
			return fmt.Errorf("%s:%d: %w", in, line, perr)
		}
		site, perr := strconv.ParseInt(r[8], 10, 64)
		if perr != nil {
			return fmt.Errorf("%s:%d: %w", in, line, perr)
		}
		x := row{DS: ds, ForecastQty: num(r[1]), Lower: num(r[2]), Upper: num(r[3]), ArimaForecast: num(r[4]),
			XGBoostForecast: float32(num(r[5])), SeriesKey: r[6], ItemID: r[7], SiteID: site, Familia: r[9],
			Category: r[10], Region: r[11], ModelVersion: r[14], GeneratedAt: gen, Source: r[16], DatasetID: r[17]}
		if r[12] != "" {
			d := r[12]
			x.Deposito = &d
		}
		if r[13] != "" {
			a := num(r[13])
			x.ActualQty = &a
		}
		rows = append(rows, x)
	}
	if err != nil {
		return err
	}
	return parquet.WriteFile(out, rows)
}
