package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/novacorrente/novawh/internal/ledger/ledgerdb"
)

// Statuses of meta.loads.status.
const (
	StatusRunning = "running"
	StatusLoaded  = "loaded"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// DB is a pool, a connection or a transaction.
type DB = ledgerdb.DBTX

// Load describes one input.
type Load struct {
	ID          int64
	Source      string
	FileName    string // a path, or the URL of an API response
	SHA256      string
	Bytes       int64
	TargetTable string
	// ML metadata applied to the whole input, when known.
	ModelVersion string
	GeneratedAt  *time.Time
	MLSource     string
	DatasetID    string
	// SameNameOnly makes only an earlier load of the same name and content
	// count as this input (pull windows: the same URL answered the same
	// bytes); otherwise the same content under any name does (files).
	SameNameOnly bool
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

// LoadedBefore returns the id of the latest successful load of the same
// input (same source and content; same name too with SameNameOnly). This
// is the one "loaded before?" query of the project.
func LoadedBefore(ctx context.Context, db DB, l Load) (int64, bool, error) {
	name := ""
	if l.SameNameOnly {
		name = l.FileName
	}
	id, err := ledgerdb.New(db).FindLoadedInput(ctx, ledgerdb.FindLoadedInputParams{Source: l.Source, FileSha256: l.SHA256, FileName: name})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("ledger: look up earlier loads of %s: %w", l.FileName, err)
	}
	return id, true, nil
}

// RecordFailure writes a failed input in its own transaction (after the
// input's transaction rolled back, or when it never began) and returns its
// id. A failed input loads nothing: every row read counts as rejected, so
// rows_read = rows_loaded + rows_rejected holds for failures too.
func RecordFailure(ctx context.Context, db DB, l Load, c Counts, cause error) (int64, error) {
	return record(ctx, db, l, Counts{Read: c.Read, Rejected: c.Read, Lines: c.Lines}, StatusFailed, cause)
}

// RecordSkip writes a skipped input (the same input was already loaded).
func RecordSkip(ctx context.Context, db DB, l Load, reason string) (int64, error) {
	return record(ctx, db, l, Counts{}, StatusSkipped, errors.New(reason))
}

func record(ctx context.Context, db DB, l Load, c Counts, status string, cause error) (int64, error) {
	msg := SanitizeText(cause.Error())
	id, err := ledgerdb.New(db).RecordLoad(ctx, ledgerdb.RecordLoadParams{
		Source: l.Source, FileName: l.FileName, FileSha256: l.SHA256, FileBytes: &l.Bytes, TargetTable: &l.TargetTable,
		Status: status, RowsRead: c.Read, RowsLoaded: c.Loaded, RowsRejected: c.Rejected,
		ModelVersion: l.ModelVersion, GeneratedAt: l.GeneratedAt, MlSource: l.MLSource, DatasetID: l.DatasetID,
		Error: &msg, LinesRead: c.Lines,
	})
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
