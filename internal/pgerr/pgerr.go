package pgerr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/novacorrente/novawh/internal/logx"
)

// ErrConnLost is wrapped around errors that mean the database went away
// (server restarted, shut down or unreachable) in the middle of work.
var ErrConnLost = errors.New("lost the database connection (server restarted, stopped or unreachable)")

// Code returns the SQLSTATE of the server error in err's chain, or "".
func Code(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// Is reports whether err carries one of the SQLSTATE codes.
func Is(err error, codes ...string) bool {
	c := Code(err)
	if c == "" {
		return false
	}
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// Canceled reports a statement cancelled by statement_timeout or by a
// cancel request (SQLSTATE 57014).
func Canceled(err error) bool { return Is(err, pgerrcode.QueryCanceled) }

// Timeout reports a statement or request that ran out of time: a server
// cancellation (57014), a lock_timeout (55P03), or a context deadline seen
// by the driver.
func Timeout(err error) bool {
	return Is(err, pgerrcode.QueryCanceled, pgerrcode.LockNotAvailable) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}

// InsufficientPrivilege reports SQLSTATE 42501 (the role may not do this).
func InsufficientPrivilege(err error) bool { return Is(err, pgerrcode.InsufficientPrivilege) }

// UndefinedObject reports a missing table, column, function or schema
// (42P01, 42703, 42883, 3F000), e.g. a database that is not migrated.
func UndefinedObject(err error) bool {
	return Is(err, pgerrcode.UndefinedTable, pgerrcode.UndefinedColumn, pgerrcode.UndefinedFunction, pgerrcode.InvalidSchemaName)
}

// DiskFull reports SQLSTATE 53100 (the server could not extend a file).
func DiskFull(err error) bool { return Is(err, pgerrcode.DiskFull) }

// ConnectionLost reports errors that mean the server went away or could not
// be reached: SQLSTATE class 08, admin/crash shutdown and "cannot connect
// now" (57P01-57P03), a failed connection attempt, a closed connection, a
// network error, or a connection cut mid-message.
func ConnectionLost(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrConnLost) {
		return true
	}
	if c := Code(err); c != "" {
		return pgerrcode.IsConnectionException(c) ||
			c == pgerrcode.AdminShutdown || c == pgerrcode.CrashShutdown || c == pgerrcode.CannotConnectNow
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	// Only network errors count: a file-system error (ENOSPC while writing
	// an export) also satisfies net.Error through syscall.Errno.
	var oe *net.OpError
	return errors.As(err, &oe)
}

// ExplainConn wraps err with ErrConnLost when it means the database went
// away, so that callers and users see one plain cause; other errors are
// returned unchanged.
func ExplainConn(err error) error {
	if err == nil || errors.Is(err, ErrConnLost) || !ConnectionLost(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrConnLost, err)
}

// Message is a one-line description for users: the server's message (with
// its detail and hint) for server errors, else err's text on one line.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := pgErr.Message
		if pgErr.Detail != "" {
			msg += " (" + pgErr.Detail + ")"
		}
		if pgErr.Hint != "" {
			msg += "; hint: " + pgErr.Hint
		}
		return logx.OneLine(msg)
	}
	return logx.OneLine(err.Error())
}
