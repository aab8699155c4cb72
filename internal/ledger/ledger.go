package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Statuses of meta.loads.status.
const (
	StatusRunning = "running"
	StatusLoaded  = "loaded"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Load describes one input.
type Load struct {
	ID          int64
	Source      string
	FileName    string
	SHA256      string
	Bytes       int64
	TargetTable string
	// ML metadata applied to the whole input, when known.
	ModelVersion string
	GeneratedAt  *time.Time
	MLSource     string
	DatasetID    string
}

// Counts is the row accounting of an input.
type Counts struct {
	Read, Loaded, Rejected int64
	MinDate, MaxDate       *time.Time
	// Lines is the number of physical lines read (CSV inputs; nil for
	// inputs without lines).
	Lines *int64
}

// Reject is one rejected row.
type Reject struct {
	Line   int64
	Column string
	Reason string
	Raw    string
}

// ErrUnbalanced means rows_read != rows_loaded + rows_rejected.
var ErrUnbalanced = errors.New("row accounting does not balance")

// LoadedBefore returns the id of a successful earlier load of the same
// source and content, if any.
func LoadedBefore(ctx context.Context, q Querier, source, sha256 string) (int64, bool, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT load_id FROM meta.loads
		WHERE source = $1 AND file_sha256 = $2 AND status = 'loaded'
		ORDER BY load_id DESC LIMIT 1`, source, sha256).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("ledger: look up earlier loads: %w", err)
	}
	return id, true, nil
}

// Begin inserts the input's row (status running) inside tx and sets l.ID.
func Begin(ctx context.Context, tx pgx.Tx, l *Load) error {
	err := tx.QueryRow(ctx, `INSERT INTO meta.loads
		(source, file_name, file_sha256, file_bytes, target_table, model_version, generated_at, ml_source, dataset_id)
		VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7, nullif($8, ''), nullif($9, ''))
		RETURNING load_id`,
		l.Source, l.FileName, l.SHA256, l.Bytes, l.TargetTable, l.ModelVersion, l.GeneratedAt, l.MLSource, l.DatasetID,
	).Scan(&l.ID)
	if err != nil {
		return fmt.Errorf("ledger: begin load of %s: %w", l.FileName, err)
	}
	return nil
}

// WriteRejects stores rejected rows of load id (inside the input's transaction).
func WriteRejects(ctx context.Context, tx pgx.Tx, id int64, rejects []Reject) error {
	if len(rejects) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"meta", "rejected_rows"},
		[]string{"load_id", "line", "column_name", "reason", "raw"},
		pgx.CopyFromSlice(len(rejects), func(i int) ([]any, error) {
			r := rejects[i]
			var col any
			if r.Column != "" {
				col = r.Column
			}
			return []any{id, r.Line, col, r.Reason, SanitizeText(r.Raw)}, nil
		}))
	if err != nil {
		return fmt.Errorf("ledger: write %d rejected rows: %w", len(rejects), err)
	}
	return nil
}

// Finish marks load id as loaded with its counts (inside its transaction).
func Finish(ctx context.Context, tx pgx.Tx, id int64, c Counts) error {
	if c.Read != c.Loaded+c.Rejected {
		return fmt.Errorf("ledger: load %d: %w: read %d, loaded %d, rejected %d", id, ErrUnbalanced, c.Read, c.Loaded, c.Rejected)
	}
	_, err := tx.Exec(ctx, `UPDATE meta.loads SET status = 'loaded', rows_read = $2, rows_loaded = $3,
		rows_rejected = $4, min_date = $5, max_date = $6, lines_read = $7, finished_at = clock_timestamp() WHERE load_id = $1`,
		id, c.Read, c.Loaded, c.Rejected, c.MinDate, c.MaxDate, c.Lines)
	if err != nil {
		return fmt.Errorf("ledger: finish load %d: %w", id, err)
	}
	return nil
}

// RecordFailure writes a failed input in its own transaction (after the
// input's transaction rolled back) and returns its id.
func RecordFailure(ctx context.Context, q Querier, l Load, c Counts, cause error) (int64, error) {
	return record(ctx, q, l, c, StatusFailed, cause)
}

// RecordSkip writes a skipped input (same content already loaded).
func RecordSkip(ctx context.Context, q Querier, l Load, reason string) (int64, error) {
	return record(ctx, q, l, Counts{}, StatusSkipped, errors.New(reason))
}

func record(ctx context.Context, q Querier, l Load, c Counts, status string, cause error) (int64, error) {
	msg := ""
	if cause != nil {
		msg = SanitizeText(cause.Error())
	}
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO meta.loads
		(source, file_name, file_sha256, file_bytes, target_table, status, rows_read, rows_loaded, rows_rejected,
		 model_version, generated_at, ml_source, dataset_id, error, lines_read, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, ''), $11, nullif($12, ''), nullif($13, ''), $14, $15, clock_timestamp())
		RETURNING load_id`,
		l.Source, l.FileName, l.SHA256, l.Bytes, l.TargetTable, status, c.Read, c.Loaded, c.Rejected,
		l.ModelVersion, l.GeneratedAt, l.MLSource, l.DatasetID, msg, c.Lines).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger: record %s load of %s: %w", status, l.FileName, err)
	}
	return id, nil
}

// SanitizeText makes any text storable in PostgreSQL: NUL bytes, which
// text cannot hold, and invalid UTF-8 become U+FFFD. Text that needs no
// change is returned as is, without allocating.
func SanitizeText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
