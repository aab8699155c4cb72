package pgtest_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// Parallel tests each get their own database: a row written in one is
// invisible to the others.
func TestIsolatedDatabases(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := pgtest.New(t)
			if _, err := db.Pool.Exec(ctx,
				`INSERT INTO meta.loads (source, file_name, file_sha256) VALUES ('t', $1, 'x')`, fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
			var n int
			var name string
			if err := db.Pool.QueryRow(ctx, `SELECT count(*), min(file_name) FROM meta.loads`).Scan(&n, &name); err != nil {
				t.Fatal(err)
			}
			if n != 1 || name != fmt.Sprint(i) {
				t.Fatalf("database shared between tests: %d rows, first %q", n, name)
			}
			var cur string
			if err := db.Pool.QueryRow(ctx, `SELECT current_database()`).Scan(&cur); err != nil {
				t.Fatal(err)
			}
			if cur != db.Name {
				t.Fatalf("connected to %s, want %s", cur, db.Name)
			}
		})
	}
}
