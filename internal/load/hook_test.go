package load

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// BeforeCommit runs inside the input's transaction: what it writes commits
// with the rows, and its error rolls the rows back and fails the input.
func TestBeforeCommitHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	l := newTestLoader(t, db.Pool)
	body, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata", "pull", "anatel_5g.csv"))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	r, err := l.LoadReader(ctx, "anatel_5g", "http://127.0.0.1/a.csv", bytes.NewReader(body), Options{
		BeforeCommit: func(ctx context.Context, tx pgx.Tx, id int64, c ledger.Counts) error {
			if _, err := tx.Exec(ctx, `INSERT INTO meta.watermarks (source, series, watermark) VALUES ('anatel_5g', 'x', $1)`, c.MaxDate); err != nil {
				t.Error(err)
			}
			return boom
		},
	})
	if err == nil || r.Status != ledger.StatusFailed {
		t.Fatalf("hook error did not fail the input: %+v %v", r, err)
	}
	if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.telecom_5g`) + scalar[int64](t, db.Pool, `SELECT count(*) FROM meta.watermarks`); n != 0 {
		t.Fatalf("%d rows survived a failed hook", n)
	}
	var seen ledger.Counts
	r, err = l.LoadReader(ctx, "anatel_5g", "http://127.0.0.1/a.csv", bytes.NewReader(body), Options{
		BeforeCommit: func(ctx context.Context, tx pgx.Tx, id int64, c ledger.Counts) error {
			seen = c
			_, err := tx.Exec(ctx, `INSERT INTO meta.watermarks (source, series, watermark) VALUES ('anatel_5g', 'x', $1)`, c.MaxDate)
			return err
		},
	})
	if err != nil || r.Status != ledger.StatusLoaded {
		t.Fatalf("%+v %v", r, err)
	}
	if seen.Loaded != r.RowsLoaded || seen.MaxDate == nil {
		t.Fatalf("hook saw counts %+v, result %+v", seen, r)
	}
	if got := scalar[int64](t, db.Pool, `SELECT count(*) FROM meta.watermarks WHERE watermark = (SELECT max_date FROM meta.loads WHERE load_id = $1)`, r.LoadID); got != 1 {
		t.Fatalf("hook write not committed with the load")
	}
}
