package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/store"
)

// TestBackend runs the example against a fresh database of the test
// server (TEST_DATABASE_URL, as `make test` sets it): migrations, store
// reads, and the API mounted under /dash/.
func TestBackend(t *testing.T) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set (make test sets it)")
		}
		t.Skip("TEST_DATABASE_URL is not set (make test sets it)")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("example_backend_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	dsn := u.String()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, dsn, ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	baseURL := "http://" + ln.Addr().String()
	get := func(path string) (int, map[string]any) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			res, err := http.Get(baseURL + path)
			if err == nil {
				defer res.Body.Close()
				var m map[string]any
				if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				return res.StatusCode, m
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", path, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The server answers once the migrations ran.
	if code, m := get("/dash/health"); code != 200 || m["database"] != "ok" {
		t.Fatalf("/dash/health: %d %v", code, m)
	}
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	end := time.Now().UTC().Truncate(24 * time.Hour)
	if _, err := db.Exec(ctx, `INSERT INTO gold.dim_item (item_id, name, category) VALUES ('EPI_LUVA NITRILICA T09', 'LUVA NITRILICA T09', 'EPI')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `
		INSERT INTO gold.fact_forecast (date, item_id, site_id, source, forecast, actual, model_version, generated_at, dataset_id)
		SELECT $1::date - g, 'EPI_LUVA NITRILICA T09', 'ALL', 'ensemble', 2, 1, 'v1', now(), 'd1' FROM generate_series(0, 39) g`, end); err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(ctx, store.New(db), end)
	if err != nil || s.Items != 1 || s.FirstItem != "EPI_LUVA NITRILICA T09" || s.Points30d != 30 || s.Forecast30 != 60 {
		t.Fatalf("store reads: %+v %v", s, err)
	}
	if code, m := get("/summary"); code != 200 || m["points_30d"] != float64(30) {
		t.Fatalf("/summary: %d %v", code, m)
	}
	path := "/dash/api/v1/items/" + url.PathEscape("EPI_LUVA NITRILICA T09") + "/timeseries?start=" +
		end.AddDate(0, 0, -6).Format(time.DateOnly) + "&end=" + end.Format(time.DateOnly)
	if code, m := get(path); code != 200 || len(m["timeseries"].([]any)) != 7 {
		t.Fatalf("%s: %d %v", path, code, m)
	}
	if code, m := get("/dash/api/v1/items/NOPE/timeseries?start=2025-01-01&end=2025-01-02"); code != 404 || m["error"] == nil {
		t.Fatalf("mounted error: %d %v", code, m)
	}
}
