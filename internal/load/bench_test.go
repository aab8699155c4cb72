package load

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gocarina/gocsv"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/registry"
	"github.com/novacorrente/novawh/internal/testbin"
)

// BenchmarkLoadVsPsqlCopy times, in one run, `psql \copy` of a 2,000,000-row
// forecast CSV into a bare table (same columns as the file, no index) and
// `novawh load --source ml_forecasts` of the same file into bronze with all
// validation on, and reports the wall-time ratio and novawh's peak RSS.
// Several rounds alternate the two (NOVAWH_BENCH_ROUNDS, default 3), each in
// a fresh database; the medians are reported. Goal (issue 17): ratio <= 0.55,
// peak RSS < 256 MiB. NOVAWH_BENCH_ROWS changes the row count (develop at a
// small scale). Runs only with NOVAWH_BENCH=1 (make bench).
func BenchmarkLoadVsPsqlCopy(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 (make bench) to run the 2M-row load benchmark")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		b.Skip("psql not on PATH")
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("NOVAWH_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	bin := testbin.Path(b)
	file := filepath.Join(b.TempDir(), "forecasts_2m.csv")
	rows := int64(2_000_000)
	if v, err := strconv.ParseInt(os.Getenv("NOVAWH_BENCH_ROWS"), 10, 64); err == nil && v > 0 {
		rows = v
	}
	size := writeForecastCSV(b, file, int(rows), 1)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		var psqlT, novaT, ratios []float64
		var rss int64
		for r := 0; r < rounds; r++ {
			db, err := pgtest.NewE(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Pool.Exec(ctx, `CREATE TABLE bench_bare (item_id text, site_id text, date date, forecast double precision,
				lower double precision, upper double precision, actual double precision, model_version text,
				generated_at timestamptz, source text, dataset_id text)`); err != nil {
				b.Fatal(err)
			}
			_, _ = db.Pool.Exec(ctx, `CHECKPOINT`)
			t0 := time.Now()
			out, err := exec.Command(psql, db.URL, "-v", "ON_ERROR_STOP=1", "-c",
				fmt.Sprintf(`\copy bench_bare FROM '%s' CSV HEADER`, file)).CombinedOutput()
			p := time.Since(t0).Seconds()
			if err != nil {
				b.Fatalf("psql: %v %s", err, out)
			}
			_, _ = db.Pool.Exec(ctx, `CHECKPOINT`)
			cmd := exec.Command(bin, "--database-url", db.URL, "--log-file", "", "load", "--source", "ml_forecasts", file)
			cmd.Dir = repoRoot(b)
			t0 = time.Now()
			out, err = cmd.CombinedOutput()
			n := time.Since(t0).Seconds()
			if err != nil {
				b.Fatalf("novawh load: %v %s", err, out)
			}
			var loaded int64
			if err := db.Pool.QueryRow(ctx, `SELECT rows_loaded FROM meta.loads WHERE status = 'loaded'`).Scan(&loaded); err != nil || loaded != rows {
				b.Fatalf("loaded %d rows (%v): %s", loaded, err, out)
			}
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss*1024 > rss {
				rss = ru.Maxrss * 1024 // kilobytes on Linux
			}
			db.Drop(ctx)
			psqlT, novaT, ratios = append(psqlT, p), append(novaT, n), append(ratios, n/p)
			b.Logf("round %d: psql \\copy %.2fs, novawh load %.2fs, ratio %.2f", r+1, p, n, n/p)
		}
		mp, mn, mr := median(psqlT), median(novaT), median(ratios)
		b.ReportMetric(mp, "psql_s")
		b.ReportMetric(mn, "novawh_s")
		b.ReportMetric(mr, "ratio")
		b.ReportMetric(float64(rss)/(1<<20), "peak_rss_MiB")
		b.ReportMetric(float64(rows)/mn, "rows/s")
		b.Logf("load vs psql: %d rows, %.0f MB; psql \\copy %.2fs, novawh load %.2fs: ratio %.3f (goal <= 0.55, issue 17), peak RSS %.1f MiB (goal < 256)",
			rows, float64(size)/1e6, mp, mn, mr, float64(rss)/(1<<20))
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchCSV is an in-memory file of n rows in the benchmark's shape.
func benchCSV(b *testing.B, n int) []byte {
	b.Helper()
	p := filepath.Join(b.TempDir(), "f.csv")
	writeForecastCSV(b, p, n, 3)
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

const parseRows = 200_000

// BenchmarkParse compares, on the same 200,000 rows, the loader's parser
// (read + validate + encode binary COPY rows), encoding/csv with
// strconv/time conversions, and gocsv's reflection-based unmarshalling.
func BenchmarkParse(b *testing.B) {
	data := benchCSV(b, parseRows)
	b.Run("novawh", func(b *testing.B) {
		reg, err := registry.Default()
		if err != nil {
			b.Fatal(err)
		}
		tbl, _ := reg.Table("bronze", "ml_forecasts")
		src := projectConfig(b).Sources["ml_forecasts"]
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			cr := newCSVReader(bytes.NewReader(data), ',', 1<<20)
			head, err := cr.read()
			if err != nil {
				b.Fatal(err)
			}
			header := make([]string, len(head.fields))
			for j, h := range head.fields {
				header[j] = string(h)
			}
			p, err := buildPlan(src, tbl, header, "f.csv", resolvedMeta{}, true)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 0, chunkCap)
			var lo, hi int32
			var has bool
			n := 0
			for {
				rec, err := cr.read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				out, rerr := p.encodeRow(buf, rec, &lo, &hi, &has)
				if rerr != nil {
					b.Fatal(rerr.reason)
				}
				buf = out
				if len(buf) > chunkSend {
					buf = buf[:0]
				}
				n++
			}
			if n != parseRows {
				b.Fatalf("%d rows", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*parseRows), "ns/row")
	})
	b.Run("encoding_csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			r := csv.NewReader(bytes.NewReader(data))
			r.ReuseRecord = true
			if _, err := r.Read(); err != nil {
				b.Fatal(err)
			}
			for {
				rec, err := r.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if _, err := time.Parse(time.DateOnly, rec[2]); err != nil {
					b.Fatal(err)
				}
				for _, k := range []int{3, 4, 5, 6} {
					if _, err := strconv.ParseFloat(rec[k], 64); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := time.Parse(time.RFC3339, rec[8]); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*parseRows), "ns/row")
	})
	b.Run("gocsv", func(b *testing.B) {
		type row struct {
			ItemID       string    `csv:"item_id"`
			SiteID       string    `csv:"site_id"`
			Date         string    `csv:"date"`
			Forecast     float64   `csv:"forecast"`
			Lower        float64   `csv:"lower"`
			Upper        float64   `csv:"upper"`
			Actual       float64   `csv:"actual"`
			ModelVersion string    `csv:"model_version"`
			GeneratedAt  time.Time `csv:"generated_at"`
			Source       string    `csv:"source"`
			DatasetID    string    `csv:"dataset_id"`
		}
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			n := 0
			if err := gocsv.UnmarshalToCallback(bytes.NewReader(data), func(r row) { n++ }); err != nil {
				b.Fatal(err)
			}
			if n != parseRows {
				b.Fatalf("%d rows", n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*parseRows), "ns/row")
	})
}

// stdCSVReader reads records with encoding/csv (the alternative to the
// loader's reader on the hot path, for BenchmarkLoadReaders).
type stdCSVReader struct {
	r      *csv.Reader
	fields [][]byte
	rec    record
}

func newStdCSVReader(r io.Reader, d Dialect) recordReader {
	cr := csv.NewReader(r)
	cr.Comma = rune(d.Delimiter[0])
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return &stdCSVReader{r: cr}
}

func (s *stdCSVReader) lines() int64 { return -1 }

func (s *stdCSVReader) read() (*record, error) {
	rec, err := s.r.Read()
	if err != nil {
		return nil, err
	}
	line, _ := s.r.FieldPos(0)
	s.fields = s.fields[:0]
	for _, f := range rec {
		s.fields = append(s.fields, unsafe.Slice(unsafe.StringData(f), len(f)))
	}
	s.rec = record{line: int64(line), fields: s.fields}
	return &s.rec, nil
}

// BenchmarkLoadReaders loads the same forecast CSV end to end (parse,
// validation, binary COPY into bronze, two streams) with the loader's CSV
// reader and with encoding/csv in its place, in one run, in fresh
// databases, alternating (NOVAWH_BENCH_ROUNDS rounds, default 3), and
// reports the medians and the ratio encoding/csv / novawh.
// NOVAWH_BENCH_ROWS rows (default 1,000,000). Runs with NOVAWH_BENCH=1.
func BenchmarkLoadReaders(b *testing.B) {
	if os.Getenv("NOVAWH_BENCH") != "1" {
		b.Skip("set NOVAWH_BENCH=1 (make bench)")
	}
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("NOVAWH_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("NOVAWH_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	file := filepath.Join(b.TempDir(), "forecasts.csv")
	writeForecastCSV(b, file, rows, 2)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		times := map[string][]float64{}
		for r := 0; r < rounds; r++ {
			for _, name := range []string{"novawh", "encoding_csv"} {
				db, err := pgtest.NewE(ctx)
				if err != nil {
					b.Fatal(err)
				}
				l := newTestLoader(b, db.Pool)
				l.log = slog.New(slog.DiscardHandler)
				if name == "encoding_csv" {
					l.hooks = &testHooks{csvReader: newStdCSVReader}
				}
				_, _ = db.Pool.Exec(ctx, `CHECKPOINT`)
				t0 := time.Now()
				res, err := l.LoadPaths(ctx, "ml_forecasts", []string{file}, Options{Meta: flagMeta, Streams: 2})
				d := time.Since(t0).Seconds()
				if err != nil || res[0].Status != "loaded" || res[0].RowsLoaded != int64(rows) {
					b.Fatalf("%s: %+v %v", name, res, err)
				}
				db.Drop(ctx)
				times[name] = append(times[name], d)
			}
		}
		mn, ms := median(times["novawh"]), median(times["encoding_csv"])
		b.ReportMetric(mn, "novawh_s")
		b.ReportMetric(ms, "encoding_csv_s")
		b.ReportMetric(ms/mn, "encoding_csv/novawh")
		b.Logf("%d rows end to end: novawh reader %.2fs, encoding/csv %.2fs (medians of %d): encoding/csv takes %.2f× the time", rows, mn, ms, rounds, ms/mn)
	}
}
