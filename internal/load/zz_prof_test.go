package load

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestZZProfile(t *testing.T) {
	if os.Getenv("ZZPROF") == "" {
		t.Skip()
	}
	file := filepath.Join(t.TempDir(), "f.csv")
	writeForecastCSV(t, file, 1_000_000, 1)
	for _, streams := range []int{1, 2} {
		db := pgtest.New(t)
		l := newTestLoader(t, db.Pool)
		l.log = nil
		l.log = testLogger(t)
		f, _ := os.Create("/tmp/load-cpu.prof")
		pprof.StartCPUProfile(f)
		t0 := time.Now()
		res, err := l.LoadPaths(context.Background(), "ml_forecasts", []string{file}, Options{Streams: streams})
		d := time.Since(t0)
		pprof.StopCPUProfile()
		f.Close()
		if err != nil || res[0].Status != "loaded" {
			t.Fatal(res, err)
		}
		t.Logf("streams=%d: %v", streams, d)
	}
}
