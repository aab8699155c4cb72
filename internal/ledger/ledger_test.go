package ledger_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func TestLedgerLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	l := ledger.Load{Source: "erp_items", FileName: "items.csv", SHA256: "abc", Bytes: 10, TargetTable: "bronze.erp_items"}

	if _, ok, err := ledger.LoadedBefore(ctx, db.Pool, l.Source, l.SHA256); err != nil || ok {
		t.Fatalf("fresh ledger: loaded=%v err=%v", ok, err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pglock.Xact(ctx, tx, pglock.Input(l.Source, l.SHA256)); err != nil {
		t.Fatal(err)
	}
	if err := ledger.Begin(ctx, tx, &l); err != nil {
		t.Fatal(err)
	}
	if err := ledger.WriteRejects(ctx, tx, l.ID, []ledger.Reject{{Line: 3, Column: "cost", Reason: "cost: not a number", Raw: "a,b\x00,c"}}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	if err := ledger.Finish(ctx, tx, l.ID, ledger.Counts{Read: 3, Loaded: 1, Rejected: 1}); !errors.Is(err, ledger.ErrUnbalanced) {
		t.Fatalf("unbalanced counts accepted: %v", err)
	}
	if err := ledger.Finish(ctx, tx, l.ID, ledger.Counts{Read: 2, Loaded: 1, Rejected: 1, MinDate: &day, MaxDate: &day}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	id, ok, err := ledger.LoadedBefore(ctx, db.Pool, l.Source, l.SHA256)
	if err != nil || !ok || id != l.ID {
		t.Fatalf("LoadedBefore = %d %v %v, want %d", id, ok, err, l.ID)
	}
	var raw, status string
	if err := db.Pool.QueryRow(ctx, `SELECT r.raw, l.status FROM meta.rejected_rows r JOIN meta.loads l USING (load_id) WHERE load_id = $1`, l.ID).Scan(&raw, &status); err != nil {
		t.Fatal(err)
	}
	if raw != "a,b\uFFFD,c" || status != ledger.StatusLoaded {
		t.Fatalf("raw %q status %q", raw, status)
	}
	fid, err := ledger.RecordFailure(ctx, db.Pool, l, ledger.Counts{Read: 5}, errors.New("items.csv:1:3: missing column"))
	if err != nil {
		t.Fatal(err)
	}
	sid, err := ledger.RecordSkip(ctx, db.Pool, l, "same content as load 1")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM meta.loads WHERE (load_id = $1 AND status = 'failed') OR (load_id = $2 AND status = 'skipped')`, fid, sid).Scan(&n); err != nil || n != 2 {
		t.Fatalf("failure/skip rows: %d %v", n, err)
	}
}

// A load row whose counts do not balance cannot be marked loaded even by
// hand: the table enforces it.
func TestBalanceConstraint(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	_, err := db.Pool.Exec(context.Background(), `INSERT INTO meta.loads (source, file_name, file_sha256, status, rows_read, rows_loaded, rows_rejected)
		VALUES ('x', 'f', 's', 'loaded', 3, 1, 1)`)
	if err == nil {
		t.Fatal("unbalanced loaded row accepted")
	}
}
