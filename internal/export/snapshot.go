package export

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// snapshot is the set of read-only repeatable-read transactions a run reads
// gold in, all sharing one snapshot taken while no refresh could be
// appending to meta.gold_changes: each change_id it sees is final, and the
// gold rows it sees include every change up to the highest change_id it
// sees. Each worker transaction reads one partition at a time.
type snapshot struct {
	pool       *pgxpool.Pool
	id         string
	workers    int
	mu         sync.Mutex
	conns      []*pgxpool.Conn
	txs        []pgx.Tx
	tx         pgx.Tx // the first transaction: bookkeeping reads
	lastLoadID *int64
}

func (e *Exporter) openSnapshot(ctx context.Context, ctl *pgxpool.Conn, workers int) (*snapshot, error) {
	ltx, err := ctl.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, fmt.Errorf("export: snapshot: %w", err)
	}
	defer ltx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // commits below when all went well
	// SHARE mode waits for the transactions inserting into the change log
	// to finish and keeps new ones out until the snapshot is taken.
	if _, err := ltx.Exec(ctx, "LOCK TABLE meta.gold_changes IN SHARE MODE"); err != nil {
		return nil, fmt.Errorf("export: lock meta.gold_changes: %w", err)
	}
	var id string
	if err := ltx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&id); err != nil {
		return nil, fmt.Errorf("export: snapshot: %w", err)
	}
	// Keep the pool from running dry: the control connection is held too.
	if limit := int(e.pool.Config().MaxConns) - 1; workers > limit {
		workers = max(1, limit)
	}
	s := &snapshot{pool: e.pool, id: id, workers: workers}
	tx, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	s.tx = tx
	// The first worker keeps the snapshot alive for the others: re-export it
	// from there, then let the change log go.
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&s.id); err != nil {
		s.close()
		return nil, fmt.Errorf("export: snapshot: %w", err)
	}
	if err := ltx.Commit(ctx); err != nil {
		s.close()
		return nil, fmt.Errorf("export: snapshot: %w", err)
	}
	if err := tx.QueryRow(ctx, "SELECT max(load_id) FROM meta.loads WHERE status = 'loaded'").Scan(&s.lastLoadID); err != nil {
		s.close()
		return nil, fmt.Errorf("export: meta.loads: %w", err)
	}
	return s, nil
}

// open starts one more transaction on the snapshot.
func (s *snapshot) open(ctx context.Context) (pgx.Tx, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("export: connect: %w", err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("export: snapshot: %w", err)
	}
	for _, q := range []string{
		"SET TRANSACTION SNAPSHOT '" + s.id + "'",
		// Sorting a dimension in memory is faster than on disk; this is the
		// server's memory, not the exporter's.
		"SET LOCAL work_mem = '64MB'",
		// Rows of a partition come in physical (ctid) order whatever the plan,
		// so the same table state always gives the same files: a sequential
		// scan starts at the first block and is not parallel, and a date
		// range is read by a bitmap scan, never an index scan.
		"SET LOCAL synchronize_seqscans = off",
		"SET LOCAL max_parallel_workers_per_gather = 0",
		"SET LOCAL enable_indexscan = off",
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			_ = tx.Rollback(ctx)
			conn.Release()
			return nil, fmt.Errorf("export: snapshot: %s: %w", q, err)
		}
	}
	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.txs = append(s.txs, tx)
	s.mu.Unlock()
	return tx, nil
}

// each runs fn for every key on up to s.workers transactions at once and
// returns the results in the order of keys. The first error stops it.
func (s *snapshot) each(ctx context.Context, keys []string, fn func(context.Context, pgx.Tx, string) ([]ManifestFile, error)) ([][]ManifestFile, error) {
	out := make([][]ManifestFile, len(keys))
	err := s.run(ctx, len(keys), func(ctx context.Context, tx pgx.Tx, i int) error {
		files, err := fn(ctx, tx, keys[i])
		out[i] = files
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// run calls fn(i) for i in [0, n) on up to s.workers transactions at once.
// The first error stops it.
func (s *snapshot) run(ctx context.Context, n int, fn func(context.Context, pgx.Tx, int) error) error {
	workers := min(s.workers, n)
	for len(s.txs) < workers {
		if _, err := s.open(ctx); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(tx pgx.Tx) {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, tx, i); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}(s.txs[w])
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return ctx.Err()
}

func (s *snapshot) close() {
	for i, tx := range s.txs {
		_ = tx.Rollback(context.Background())
		s.conns[i].Release()
	}
	s.txs, s.conns = nil, nil
}
