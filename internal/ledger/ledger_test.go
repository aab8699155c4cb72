package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/ledger"
	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// The protocol: begin, rejects, claim, finish, commit; then the same input
// is found loaded before, a second claim of it says so, and failures and
// skips are recorded in their own transaction.
func TestInputLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	l := ledger.Load{Source: "erp_items", FileName: "items.csv", SHA256: "abc", Bytes: 10, TargetTable: "bronze.erp_items"}

	if _, ok, err := ledger.LoadedBefore(ctx, db.Pool, l); err != nil || ok {
		t.Fatalf("fresh ledger: loaded=%v err=%v", ok, err)
	}
	in, err := ledger.Begin(ctx, db.Pool, l)
	if err != nil {
		t.Fatal(err)
	}
	enc := ledger.RejectEncoder{LoadID: in.ID()}
	var tuples bytes.Buffer
	tuples.Write(enc.Append(ledger.Reject{Line: 3, Column: "cost", Reason: "cost: not a number", Raw: "a,b\x00,c"}))
	tuples.Write(enc.Append(ledger.Reject{Line: 4, Reason: "ragged", Raw: "\xff"}))
	if err := in.CopyRejects(ctx, &tuples); err != nil {
		t.Fatal(err)
	}
	if _, loaded, err := in.Claim(ctx); err != nil || loaded {
		t.Fatalf("claim of a new input: loaded=%v err=%v", loaded, err)
	}
	day := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	if err := in.Finish(ctx, ledger.Counts{Read: 3, Loaded: 2, Rejected: 2}); !errors.Is(err, ledger.ErrUnbalanced) {
		t.Fatalf("unbalanced counts accepted: %v", err)
	}
	lines := int64(5)
	if err := in.Finish(ctx, ledger.Counts{Read: 3, Loaded: 1, Rejected: 2, MinDate: &day, MaxDate: &day, Lines: &lines}); err != nil {
		t.Fatal(err)
	}
	if err := in.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	id, ok, err := ledger.LoadedBefore(ctx, db.Pool, l)
	if err != nil || !ok || id != in.ID() {
		t.Fatalf("LoadedBefore = %d %v %v, want %d", id, ok, err, in.ID())
	}
	var raws []string
	var status string
	var linesRead int64
	if err := db.Pool.QueryRow(ctx, `SELECT array_agg(r.raw ORDER BY line), min(l.status), min(l.lines_read) FROM meta.rejected_rows r JOIN meta.loads l USING (load_id) WHERE load_id = $1`, in.ID()).Scan(&raws, &status, &linesRead); err != nil {
		t.Fatal(err)
	}
	if len(raws) != 2 || raws[0] != "a,b\uFFFD,c" || raws[1] != "\uFFFD" || status != ledger.StatusLoaded || linesRead != 5 {
		t.Fatalf("raw %q status %q lines %d", raws, status, linesRead)
	}

	// A second input of the same content finds the first at its claim.
	again, err := ledger.Begin(ctx, db.Pool, ledger.Load{Source: l.Source, FileName: "copy.csv", SHA256: "abc", TargetTable: l.TargetTable})
	if err != nil {
		t.Fatal(err)
	}
	earlier, loaded, err := again.Claim(ctx)
	if err != nil || !loaded || earlier != in.ID() {
		t.Fatalf("claim of the same content: %d %v %v", earlier, loaded, err)
	}
	sid, err := again.Skip(ctx, db.Pool, earlier, "same content as load 1")
	if err != nil {
		t.Fatal(err)
	}
	// SameNameOnly: the same bytes under another name are another input.
	if _, ok, err := ledger.LoadedBefore(ctx, db.Pool, ledger.Load{Source: l.Source, FileName: "other", SHA256: "abc", SameNameOnly: true}); err != nil || ok {
		t.Fatalf("same content, other name, SameNameOnly: loaded=%v %v", ok, err)
	}
	failing, err := ledger.Begin(ctx, db.Pool, ledger.Load{Source: l.Source, FileName: "bad.csv", SHA256: "def", TargetTable: l.TargetTable})
	if err != nil {
		t.Fatal(err)
	}
	fid, err := failing.Fail(ctx, db.Pool, ledger.Counts{Read: 5, Loaded: 4, Rejected: 1}, errors.New("bad.csv:1:3: missing column"))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM meta.loads WHERE (load_id = $1 AND status = 'failed' AND rows_read = 5 AND rows_loaded = 0 AND rows_rejected = 5)
		OR (load_id = $2 AND status = 'skipped')`, fid, sid).Scan(&n); err != nil || n != 2 {
		t.Fatalf("failure/skip rows: %d %v", n, err)
	}
	if n := scalarCount(t, db, `SELECT count(*) FROM meta.loads WHERE status = 'running'`); n != 0 {
		t.Fatalf("%d running rows left by rolled back inputs", n)
	}
}

func scalarCount(t *testing.T, db *pgtest.DB, sql string) int64 {
	t.Helper()
	var n int64
	if err := db.Pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
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
