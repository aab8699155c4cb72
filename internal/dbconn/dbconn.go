package dbconn

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/pgerr"
)

// EnvURL is the environment variable holding the connection string when
// --database-url is not given; without either, pgx reads PGHOST, PGPORT,
// PGUSER, PGDATABASE, ...
const EnvURL = "DATABASE_URL"

// ParseConfig parses a pool configuration with a one-line error.
func ParseConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, &Error{Op: "invalid database URL " + Redact(dsn), Err: err}
	}
	return cfg, nil
}

// Open connects a pool and checks the server answers.
func Open(ctx context.Context, dsn string, tune func(*pgxpool.Config)) (*pgxpool.Pool, error) {
	cfg, err := ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if tune != nil {
		tune(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, &Error{Op: "connect to " + Describe(cfg.ConnConfig), Err: err}
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, &Error{Op: "connect to " + Describe(cfg.ConnConfig), Err: err}
	}
	return pool, nil
}

// Describe names a server without credentials: host:port/database.
func Describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// Redact hides the password of a URL-style connection string.
func Redact(dsn string) string {
	if dsn == "" {
		return "(from PG* environment)"
	}
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	if strings.Contains(dsn, "password") {
		return "(key=value string, password hidden)"
	}
	return dsn
}

// Error is a connection failure: its text is one line for users (the
// server's message, without pgx's multi-line detail), and it
// unwraps to the driver's error so callers classify it with pgerr.
type Error struct {
	Op  string // "connect to host:port/db", "invalid database URL ..."
	Err error
}

func (e *Error) Error() string { return e.Op + ": " + pgerr.Message(e.Err) }

func (e *Error) Unwrap() error { return e.Err }
