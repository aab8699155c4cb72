package pgerr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/novacorrente/novawh/internal/pgerr"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	pg := func(code string) error {
		return fmt.Errorf("query: %w", &pgconn.PgError{Code: code, Message: "m", Detail: "d"})
	}
	cases := []struct {
		name                                 string
		err                                  error
		canceled, timeout, priv, conn, undef bool
	}{
		{name: "nil", err: nil},
		{name: "statement timeout", err: pg(pgerrcode.QueryCanceled), canceled: true, timeout: true},
		{name: "lock timeout", err: pg(pgerrcode.LockNotAvailable), timeout: true},
		{name: "deadline", err: fmt.Errorf("x: %w", context.DeadlineExceeded), timeout: true},
		{name: "permission", err: pg(pgerrcode.InsufficientPrivilege), priv: true},
		{name: "undefined table", err: pg(pgerrcode.UndefinedTable), undef: true},
		{name: "admin shutdown", err: pg(pgerrcode.AdminShutdown), conn: true},
		{name: "connection failure", err: pg(pgerrcode.ConnectionFailure), conn: true},
		{name: "conn closed", err: fmt.Errorf("x: %w", pgconn.ErrConnClosed), conn: true},
		{name: "unexpected EOF", err: fmt.Errorf("x: %w", io.ErrUnexpectedEOF), conn: true},
		{name: "network", err: &net.OpError{Op: "dial", Err: errors.New("refused")}, conn: true},
		{name: "already explained", err: fmt.Errorf("%w: x", pgerr.ErrConnLost), conn: true},
		// A full disk while writing a file is not a lost connection.
		{name: "file system", err: &os.PathError{Op: "write", Path: "f", Err: errors.New("no space left on device")}},
		{name: "unique violation", err: pg(pgerrcode.UniqueViolation)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := pgerr.Canceled(c.err); got != c.canceled {
				t.Errorf("Canceled = %v, want %v", got, c.canceled)
			}
			if got := pgerr.Timeout(c.err); got != c.timeout {
				t.Errorf("Timeout = %v, want %v", got, c.timeout)
			}
			if got := pgerr.InsufficientPrivilege(c.err); got != c.priv {
				t.Errorf("InsufficientPrivilege = %v, want %v", got, c.priv)
			}
			if got := pgerr.ConnectionLost(c.err); got != c.conn {
				t.Errorf("ConnectionLost = %v, want %v", got, c.conn)
			}
			if got := pgerr.UndefinedObject(c.err); got != c.undef {
				t.Errorf("UndefinedObject = %v, want %v", got, c.undef)
			}
			explained := pgerr.ExplainConn(c.err)
			if c.conn != errors.Is(explained, pgerr.ErrConnLost) {
				t.Errorf("ExplainConn(%v) = %v", c.err, explained)
			}
			if c.err != nil && !errors.Is(explained, c.err) {
				t.Errorf("ExplainConn lost the chain: %v", explained)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrap: %w", &pgconn.PgError{Code: "XX000", Message: "boom", Detail: "line\nbreak", Hint: "try"})
	if got, want := pgerr.Message(err), "boom (line; break); hint: try"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if got, want := pgerr.Message(errors.New("a\nb")), "a; b"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
}
