package run

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrConnLost is wrapped around errors that mean the database went away
// (server restarted, shut down or unreachable) in the middle of a run.
var ErrConnLost = errors.New("lost the database connection (server restarted, stopped or unreachable)")

// explainDB adds a plain-language cause to database connection failures;
// other errors pass through unchanged.
func explainDB(err error) error {
	if err == nil || errors.Is(err, ErrConnLost) || !connLost(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrConnLost, err)
}

func connLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	// Only network errors count: a file system error (ENOSPC in an export)
	// also satisfies net.Error through syscall.Errno.
	var oe *net.OpError
	if errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "conn closed") || strings.Contains(s, "connection reset") ||
		strings.Contains(s, "unexpected EOF") || strings.Contains(s, "failed to connect") ||
		strings.Contains(s, "terminating connection")
}
