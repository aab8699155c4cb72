package pglock

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Name is a lock's name; its key is hashtextextended('novawh/' || name, 0).
type Name string

// The locks novawh takes.
const (
	// Run is held by the nightly job (novawh run) for its whole run.
	Run Name = "run"
	// Refresh is held by a silver/gold refresh.
	Refresh Name = "refresh"
	// Check is held by a data-quality check run (novawh check).
	Check Name = "check"
	// Migrate is held while migrations are applied.
	Migrate Name = "migrate"
	// Retention is held while old raw data is pruned.
	Retention Name = "retention"
)

// Export is held by an export to one target (a folder or a bucket prefix).
func Export(target string) Name { return Name("export/" + target) }

// Input is held by the transaction of one input (a file or an HTTP window)
// of a source, identified by its content hash, so that two loads of the same
// content cannot both succeed.
func Input(source, sha256 string) Name { return Name("input/" + source + "/" + sha256) }

// LoadStage is held by the transaction that owns the staging tables of load
// id; a stage whose lock is free belongs to a crashed load.
func LoadStage(loadID int64) Name { return Name("load-stage/" + strconv.FormatInt(loadID, 10)) }

// Test is for test helpers that serialise across test binaries.
func Test(name string) Name { return Name("test/" + name) }

// text is the string PostgreSQL hashes into the lock's bigint key.
func (n Name) text() string { return "novawh/" + string(n) }

// ErrBusy means the lock is held by another session.
var ErrBusy = errors.New("lock held by another session")

// Execer is a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Xact takes the transaction lock n inside tx, waiting for it.
func Xact(ctx context.Context, tx Execer, n Name) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, n.text()); err != nil {
		return fmt.Errorf("lock %s: %w", n, err)
	}
	return nil
}

// TryXact takes the transaction lock n inside tx if it is free.
func TryXact(ctx context.Context, tx Execer, n Name) (bool, error) {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`, n.text()).Scan(&ok); err != nil {
		return false, fmt.Errorf("lock %s: %w", n, err)
	}
	return ok, nil
}

// Wait says how Acquire waits for a busy lock.
type Wait struct {
	// For is how long to wait: 0 tries once, a negative value waits until
	// ctx ends.
	For time.Duration
	// Poll is the interval between attempts while waiting (default 250ms).
	Poll time.Duration
}

// Held is a session lock on a dedicated pool connection.
type Held struct {
	name Name
	conn *pgxpool.Conn
}

// Conn is the connection holding the lock (work may run on it).
func (h *Held) Conn() *pgxpool.Conn { return h.conn }

// Acquire takes the session lock n on a connection of pool, waiting as w
// says. It returns an error wrapping ErrBusy when the lock stays held.
func Acquire(ctx context.Context, pool *pgxpool.Pool, n Name, w Wait) (*Held, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: connect: %w", n, err)
	}
	if err := LockWait(ctx, conn, n, w); err != nil {
		conn.Release()
		return nil, err
	}
	return &Held{name: n, conn: conn}, nil
}

// LockWait takes the session lock n on the caller's own connection c,
// waiting as w says (Acquire does the same on a pool connection it owns);
// Unlock releases it. It returns an error wrapping ErrBusy when the lock
// stays held.
func LockWait(ctx context.Context, c Execer, n Name, w Wait) error {
	poll := w.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	deadline := time.Now().Add(w.For)
	for {
		var ok bool
		if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, n.text()).Scan(&ok); err != nil {
			return fmt.Errorf("lock %s: %w", n, err)
		}
		if ok {
			return nil
		}
		next := poll
		if w.For >= 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("lock %s: %w", n, ErrBusy)
			}
			next = min(poll, left+time.Millisecond)
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("lock %s: waiting: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

// Release unlocks and returns the connection to the pool. It uses a fresh
// context (the work's may be cancelled by now); when the unlock fails the
// connection is closed, which releases the lock with the session.
func (h *Held) Release(ctx context.Context) {
	if h == nil || h.conn == nil {
		return
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := h.conn.Exec(uctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, h.name.text()); err != nil {
		_ = h.conn.Conn().Close(uctx)
	}
	h.conn.Release()
	h.conn = nil
}

// Lock takes the session lock n on the caller's own connection, waiting
// for it; Unlock releases it. Prefer Acquire, which owns its connection.
func Lock(ctx context.Context, c Execer, n Name) error {
	if _, err := c.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, n.text()); err != nil {
		return fmt.Errorf("lock %s: %w", n, err)
	}
	return nil
}

// Unlock releases the session lock n taken with Lock on c.
func Unlock(ctx context.Context, c Execer, n Name) error {
	if _, err := c.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, n.text()); err != nil {
		return fmt.Errorf("unlock %s: %w", n, err)
	}
	return nil
}
