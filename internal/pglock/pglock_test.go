package pglock_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func TestSessionLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	name := pglock.Export("/tmp/x")

	held, err := pglock.Acquire(ctx, db.Pool, name, pglock.Wait{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pglock.Acquire(ctx, db.Pool, name, pglock.Wait{}); !errors.Is(err, pglock.ErrBusy) {
		t.Fatalf("second Acquire: %v, want ErrBusy", err)
	}
	// Another name is independent.
	other, err := pglock.Acquire(ctx, db.Pool, pglock.Export("/tmp/y"), pglock.Wait{})
	if err != nil {
		t.Fatal(err)
	}
	other.Release(ctx)

	// A waiter gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		h, err := pglock.Acquire(ctx, db.Pool, name, pglock.Wait{For: -1, Poll: 10 * time.Millisecond})
		if err == nil {
			h.Release(ctx)
		}
		got <- err
	}()
	held.Release(ctx)
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	held.Release(ctx) // twice is harmless

	// A cancelled wait ends with the context's error.
	held, err = pglock.Acquire(ctx, db.Pool, name, pglock.Wait{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pglock.Acquire(cctx, db.Pool, name, pglock.Wait{For: -1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestXactLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	name := pglock.LoadStage(42)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pglock.Xact(ctx, tx, name); err != nil {
		t.Fatal(err)
	}
	tx2, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx2.Rollback(ctx) //nolint:errcheck
	if ok, err := pglock.TryXact(ctx, tx2, name); err != nil || ok {
		t.Fatalf("TryXact while held: %v, %v", ok, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := pglock.TryXact(ctx, tx2, name); err != nil || !ok {
		t.Fatalf("TryXact after release: %v, %v", ok, err)
	}
}
