package webui_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/webui"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// readerUI opens db as the read-only role, as novawh serve does, and the
// pages on that pool (closed at the end of the test).
func readerUI(t *testing.T, db *pgtest.DB, opts webui.Options) (*pgxpool.Pool, *webui.Handler) {
	t.Helper()
	reader, err := api.OpenPool(context.Background(), db.URL, api.PoolOptions{ReaderRole: "novawh_reader", StatementTimeout: 2 * time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reader.Close)
	opts.RequestTimeout = 2 * time.Minute
	ui, err := webui.New(reader, opts)
	if err != nil {
		t.Fatal(err)
	}
	return reader, ui
}
