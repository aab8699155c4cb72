package ledger

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/ledger/ledgerdb"
	"github.com/novacorrente/novawh/internal/pgcopy"
	"github.com/novacorrente/novawh/internal/pglock"
)

// Input is the one protocol by which an input (a file, or one window of an
// HTTP pull) reaches bronze, in ONE transaction:
//
//	in, err := ledger.Begin(ctx, conn, load) // transaction + meta.loads row "running"
//	... bronze rows through in.Tx(), rejected rows with in.CopyRejects
//	in.SetContent(ctx, sha, n)               // when the content is hashed while loading
//	earlier, loaded, err := in.Claim(ctx)    // lock the content, then skip if it loaded before
//	in.Finish(ctx, counts)                   // rows_read = rows_loaded + rows_rejected, "loaded"
//	in.Commit(ctx)
//
// On any error the caller ends it with in.Fail (rollback, then a "failed"
// row in its own transaction), on a skip with in.Skip: a crash at any point
// leaves neither rows nor a "loaded" row.
type Input struct {
	load Load
	tx   pgx.Tx
	q    *ledgerdb.Queries
	done bool
}

// Beginner starts transactions: a pool or a connection.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Begin starts the input's transaction on db and inserts its running row.
func Begin(ctx context.Context, db Beginner, l Load) (*Input, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: begin the transaction of %s: %w", l.FileName, err)
	}
	in := &Input{load: l, tx: tx, q: ledgerdb.New(tx)}
	l.ID, err = in.q.BeginLoad(ctx, ledgerdb.BeginLoadParams{
		Source: l.Source, FileName: l.FileName, FileSha256: l.SHA256, FileBytes: &l.Bytes, TargetTable: &l.TargetTable,
		ModelVersion: l.ModelVersion, GeneratedAt: l.GeneratedAt, MlSource: l.MLSource, DatasetID: l.DatasetID,
	})
	if err != nil {
		in.Rollback(ctx)
		return nil, fmt.Errorf("ledger: begin load of %s: %w", l.FileName, err)
	}
	in.load = l
	return in, nil
}

// ID is the input's load_id.
func (in *Input) ID() int64 { return in.load.ID }

// Load is the input as recorded so far.
func (in *Input) Load() Load { return in.load }

// Tx is the input's transaction: its bronze rows go through it.
func (in *Input) Tx() pgx.Tx { return in.tx }

// SetContent records the sha256 and size of an input hashed while it
// loaded (known only at its end).
func (in *Input) SetContent(ctx context.Context, sha string, n int64) error {
	in.load.SHA256, in.load.Bytes = sha, n
	if err := in.q.SetLoadContent(ctx, ledgerdb.SetLoadContentParams{FileSha256: sha, FileBytes: &n, LoadID: in.load.ID}); err != nil {
		return fmt.Errorf("ledger: record the sha256 of %s: %w", in.load.FileName, err)
	}
	return nil
}

// Claim serialises the input with every other input of the same content
// (pglock.Input, held until the transaction ends), then looks for an
// earlier successful load of it: loaded is true when the input must be
// skipped (unless the caller forces it).
func (in *Input) Claim(ctx context.Context) (earlier int64, loaded bool, err error) {
	if err := pglock.Xact(ctx, in.tx, pglock.Input(in.load.Source, in.load.SHA256)); err != nil {
		return 0, false, fmt.Errorf("ledger: lock the content of %s: %w", in.load.FileName, err)
	}
	return LoadedBefore(ctx, in.tx, in.load)
}

// rejectCopy fills meta.rejected_rows in the order of RejectEncoder's
// tuples.
const rejectCopy = "COPY meta.rejected_rows (load_id, line, column_name, reason, raw) FROM STDIN (FORMAT binary)"

// RejectEncoder encodes rejected rows of one load as binary COPY tuples of
// meta.rejected_rows, for CopyRejects.
type RejectEncoder struct {
	LoadID int64
	buf    []byte
}

// Append encodes r; the bytes are valid until the next call.
func (e *RejectEncoder) Append(r Reject) []byte {
	b := pgcopy.AppendTuple(e.buf[:0], 5)
	b = pgcopy.AppendInt64(b, e.LoadID)
	b = pgcopy.AppendInt64(b, r.Line)
	if r.Column == "" {
		b = pgcopy.AppendNull(b)
	} else {
		b = pgcopy.AppendText(b, r.Column)
	}
	b = pgcopy.AppendText(b, SanitizeText(r.Reason))
	b = pgcopy.AppendText(b, SanitizeText(r.Raw))
	e.buf = b
	return b
}

// CopyRejects stores rejected rows inside the input's transaction: tuples
// are RejectEncoder output, one after another (the stream's header and
// trailer are added here).
func (in *Input) CopyRejects(ctx context.Context, tuples io.Reader) error {
	r := io.MultiReader(bytes.NewReader(pgcopy.Header), tuples, bytes.NewReader(pgcopy.Trailer))
	if _, err := in.tx.Conn().PgConn().CopyFrom(ctx, r, rejectCopy); err != nil {
		return fmt.Errorf("ledger: write the rejected rows of %s: %w", in.load.FileName, err)
	}
	return nil
}

// Finish marks the input loaded with its counts.
func (in *Input) Finish(ctx context.Context, c Counts) error {
	if c.Read != c.Loaded+c.Rejected {
		return fmt.Errorf("ledger: load %d: %w: read %d, loaded %d, rejected %d", in.load.ID, ErrUnbalanced, c.Read, c.Loaded, c.Rejected)
	}
	err := in.q.FinishLoad(ctx, ledgerdb.FinishLoadParams{RowsRead: c.Read, RowsLoaded: c.Loaded, RowsRejected: c.Rejected,
		MinDate: c.MinDate, MaxDate: c.MaxDate, LinesRead: c.Lines, LoadID: in.load.ID})
	if err != nil {
		return fmt.Errorf("ledger: finish load %d: %w", in.load.ID, err)
	}
	return nil
}

// Commit commits the input's transaction.
func (in *Input) Commit(ctx context.Context) error {
	in.done = true
	if err := in.tx.Commit(ctx); err != nil {
		return fmt.Errorf("ledger: commit load %d: %w", in.load.ID, err)
	}
	return nil
}

// Rollback ends the transaction without its writes (a no-op after Commit).
func (in *Input) Rollback(ctx context.Context) {
	if !in.done {
		in.done = true
		_ = in.tx.Rollback(context.WithoutCancel(ctx))
	}
}

// Fail rolls the input back and records it as failed (RecordFailure) on db.
func (in *Input) Fail(ctx context.Context, db DB, c Counts, cause error) (int64, error) {
	in.Rollback(ctx)
	return RecordFailure(context.WithoutCancel(ctx), db, in.load, c, cause)
}

// Skip rolls the input back and records it as skipped: earlier is the load
// that already brought the same input.
func (in *Input) Skip(ctx context.Context, db DB, earlier int64, reason string) (int64, error) {
	in.Rollback(ctx)
	return RecordSkip(context.WithoutCancel(ctx), db, in.load, reason)
}
