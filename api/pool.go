package api

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/dbconn"
)

// PoolOptions tune the API's connection pool.
type PoolOptions struct {
	// ReaderRole, when set, is assumed on every connection with SET ROLE
	// (novawh_reader: SELECT on gold only). The login user must be a member
	// of it (or connect as it directly and leave this empty).
	ReaderRole string
	// StatementTimeout cancels any query running longer (0: server default).
	StatementTimeout time.Duration
	// MaxConns bounds the pool (0: 10).
	MaxConns int32
}

// OpenPool connects the API's pool: application_name novawh-serve, JIT off,
// the statement timeout, and SET ROLE ReaderRole on every new connection.
func OpenPool(ctx context.Context, dsn string, o PoolOptions, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := dbconn.Open(ctx, dsn, func(c *pgxpool.Config) {
		if o.MaxConns > 0 {
			c.MaxConns = o.MaxConns
		} else {
			c.MaxConns = 10
		}
		rp := c.ConnConfig.RuntimeParams
		rp["application_name"] = "novawh-serve"
		// Short queries: compiling them with JIT costs more than it saves.
		rp["jit"] = "off"
		if o.StatementTimeout > 0 {
			rp["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
		}
		if o.ReaderRole != "" {
			role := pgx.Identifier{o.ReaderRole}.Sanitize()
			c.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
				if _, err := conn.Exec(ctx, "SET ROLE "+role); err != nil {
					return fmt.Errorf("SET ROLE %s (is the login user a member of it?): %w", role, err)
				}
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if log != nil {
		log.Debug("api pool open", "reader_role", o.ReaderRole, "statement_timeout", o.StatementTimeout, "max_conns", pool.Config().MaxConns)
	}
	return pool, nil
}
