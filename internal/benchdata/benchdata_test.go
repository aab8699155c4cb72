package benchdata_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/benchdata"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testload"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// A day written alone is the same day of a longer file, and the same
// Scale gives the same bytes.
func TestDeterministicByDay(t *testing.T) {
	t.Parallel()
	s := benchdata.Scale{Items: 7, Sites: 3, Days: 20, Sources: []string{"ensemble", "prophet"}}
	for _, w := range []struct {
		name  string
		write func(*bytes.Buffer, int, int) (int64, error)
	}{
		{"forecasts", func(b *bytes.Buffer, from, to int) (int64, error) { return benchdata.WriteForecasts(b, s, from, to) }},
		{"erp", func(b *bytes.Buffer, from, to int) (int64, error) { return benchdata.WriteERP(b, s, from, to) }},
	} {
		var all, again, head, tail bytes.Buffer
		n, err := w.write(&all, 0, 20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.write(&again, 0, 20); err != nil || !bytes.Equal(all.Bytes(), again.Bytes()) {
			t.Errorf("%s: two writes of the same scale differ (%v)", w.name, err)
		}
		n1, _ := w.write(&head, 0, 12)
		n2, _ := w.write(&tail, 12, 20)
		if n1+n2 != n || n == 0 {
			t.Errorf("%s: %d + %d rows by parts, %d at once", w.name, n1, n2, n)
		}
		// The same lines, whatever the grouping of days (forecasts are
		// ordered by item, ERP lines by day; generated_at names the file's
		// first day, so forecasts are compared without it).
		lines := func(b *bytes.Buffer) map[string]int {
			recs, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
			if err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			out := map[string]int{}
			for _, r := range recs[1:] {
				if w.name == "forecasts" {
					r[8] = ""
				}
				out[strings.Join(r, ",")]++
			}
			return out
		}
		whole, parts := lines(&all), lines(&head)
		for k, v := range lines(&tail) {
			parts[k] += v
		}
		for k, v := range whole {
			if parts[k] != v {
				t.Errorf("%s: line %q %d times in the whole file, %d in the parts", w.name, k, v, parts[k])
				break
			}
		}
	}
	if got, want := s.ForecastRows(0, 20), int64(7*3*2*20); got != want {
		t.Errorf("ForecastRows = %d, want %d", got, want)
	}
}

// The files load through the real loader without a rejected row.
func TestFilesLoad(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := benchdata.Scale{Items: 30, Days: 40}
	dir := t.TempDir()
	write := func(name string, f func(*os.File) (int64, error)) (string, int64) {
		p := filepath.Join(dir, name)
		fh, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		n, err := f(fh)
		if err != nil {
			t.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
		return p, n
	}
	fc, nf := write("forecasts.csv", func(f *os.File) (int64, error) { return benchdata.WriteForecasts(f, s, 0, s.Days) })
	erp, ne := write("custo_de_material_e_servicos.csv", func(f *os.File) (int64, error) { return benchdata.WriteERP(f, s, 0, s.Days) })
	inv, ni := write("prescriptions.csv", func(f *os.File) (int64, error) { return benchdata.WriteInventory(f, s, s.Days-1) })
	for _, c := range []struct {
		source, path string
		rows         int64
	}{{"ml_forecasts", fc, nf}, {"erp_requisitions", erp, ne}, {"inventory", inv, ni}} {
		res := testload.Files(t, db.Pool, c.source, c.path)
		if len(res) != 1 || res[0].RowsLoaded != c.rows || res[0].RowsRejected != 0 {
			t.Errorf("%s: %+v, want %d rows loaded, none rejected", c.source, res, c.rows)
		}
	}
	var lines, items int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT familia || '_' || material) FROM bronze.erp_requisitions`).Scan(&lines, &items); err != nil {
		t.Fatal(err)
	}
	if mean := float64(lines) / float64(s.Items*s.Days); mean < 0.8 || mean > 1.0 || items != s.Items {
		t.Errorf("%d ERP lines of %d items: %.2f per item-day, want about 0.9 for all %d items", lines, items, mean, s.Items)
	}
}
