package testload

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/load"
	"github.com/novacorrente/novawh/internal/registry"
)

// MLMeta is the metadata given to ML outputs that carry none (the
// company's files have no model_version, generated_at or dataset_id).
var MLMeta = load.MLMeta{ModelVersion: "storytelling-v1", GeneratedAt: ptr(time.Date(2025, 11, 11, 3, 0, 0, 0, time.UTC)),
	Source: "ensemble", DatasetID: "nova_corrente"}

func ptr[T any](v T) *T { return &v }

// Files loads paths (files, folders or globs) as source and fails tb unless
// every input is loaded; it returns the results.
func Files(tb testing.TB, pool *pgxpool.Pool, source string, paths ...string) []load.Result {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // internal/testload/testload.go -> repository root
	cfgFile, err := config.Load(filepath.Join(root, "novawh.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	lcfg, err := load.LoadConfig(cfgFile)
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := registry.Default()
	if err != nil {
		tb.Fatal(err)
	}
	res, err := load.New(pool, reg, lcfg, nil).LoadPaths(context.Background(), source, paths, load.Options{Meta: MLMeta})
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range res {
		if r.Status != "loaded" {
			tb.Fatalf("load %s as %s: %s %s", r.File, source, r.Status, r.Error)
		}
	}
	return res
}
