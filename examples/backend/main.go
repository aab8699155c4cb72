// Command backend is what a Go backend team copies to build on the
// warehouse with its public packages only: it opens a pgx pool, runs the
// warehouse's migrations (golang-migrate over the embedded files, iofs),
// calls a few sqlc reads of the query layer (store) and mounts the
// dashboards' HTTP API (api) under /dash/ next to its own routes.
//
//	DATABASE_URL=postgres://... go run . -addr 127.0.0.1:8090
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/migrations"
	"github.com/novacorrente/novawh/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "err", err)
		os.Exit(1)
	}
	if err := run(ctx, os.Getenv("DATABASE_URL"), ln, log); err != nil {
		log.Error("backend", "err", err)
		os.Exit(1)
	}
}

// Migrate applies the warehouse's migrations to the database at dsn (a
// postgres:// URL): the versioned files with golang-migrate reading the
// embedded files, then the repeatable files of transform/ (the views and
// functions), in order, in one transaction. (`novawh migrate up` does the
// same and records the repeatable files' checksums.)
func Migrate(ctx context.Context, dsn string) error {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return fmt.Errorf("migrations source: %w", err)
	}
	// golang-migrate's pgx/v5 driver registers the pgx5:// scheme.
	m, err := migrate.NewWithSourceInstance("iofs", src, "pgx5"+dsn[len("postgres"):])
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	files, err := fs.Glob(migrations.FS, "transform/R__*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, f := range files {
			b, err := fs.ReadFile(migrations.FS, f)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(b)); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
		return nil
	})
}

// Summary is what the backend's own endpoint reports, from store reads.
type Summary struct {
	Items      int64   `json:"items"`
	FirstItem  string  `json:"first_item"`
	Points30d  int     `json:"points_30d"`
	Forecast30 float64 `json:"forecast_30d"`
}

// Summarize calls three reads of the query layer.
func Summarize(ctx context.Context, q *store.Queries, end time.Time) (Summary, error) {
	var s Summary
	n, err := q.CountItems(ctx, nil)
	if err != nil {
		return s, fmt.Errorf("count items: %w", err)
	}
	s.Items = n
	items, err := q.ListItems(ctx, store.ListItemsParams{PageLimit: 1})
	if err != nil || len(items) == 0 {
		return s, err
	}
	s.FirstItem = items[0].ItemID
	rows, err := q.GetTimeseries(ctx, store.GetTimeseriesParams{ItemID: s.FirstItem,
		StartDate: pgtype.Date{Time: end.AddDate(0, 0, -29), Valid: true}, EndDate: pgtype.Date{Time: end, Valid: true}})
	if err != nil {
		return s, fmt.Errorf("timeseries: %w", err)
	}
	s.Points30d = len(rows)
	for _, r := range rows {
		if r.Forecast != nil {
			s.Forecast30 += *r.Forecast
		}
	}
	return s, nil
}

// run migrates, then serves the backend's routes and the dashboards' API
// under /dash/ on ln until ctx ends.
func run(ctx context.Context, dsn string, ln net.Listener, log *slog.Logger) error {
	if dsn == "" {
		return errors.New("set DATABASE_URL")
	}
	if err := Migrate(ctx, dsn); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	dash, err := api.New(pool, api.Options{Logger: log, BasePath: "/dash"})
	if err != nil {
		return err
	}
	defer dash.Close(context.Background()) //nolint:errcheck
	mux := http.NewServeMux()
	mux.Handle("/dash/", http.StripPrefix("/dash", dash))
	mux.HandleFunc("GET /summary", func(w http.ResponseWriter, r *http.Request) {
		s, err := Summarize(r.Context(), store.New(pool), time.Now().UTC())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"items":%d,"first_item":%q,"points_30d":%d}`+"\n", s.Items, s.FirstItem, s.Points30d)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(api.JSONErrorListener(ln)); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
