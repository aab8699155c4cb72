package migrate_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/migrate"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/registry"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func tableCount(t *testing.T, db *pgtest.DB) int {
	t.Helper()
	var n int
	err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('bronze','silver','gold','meta') AND c.relkind IN ('r','p','v','m')`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Every migration goes up, all the way down, and up again; the registry
// matches the catalog after each up.
func TestUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewEmpty(t)
	m, err := migrate.New(ctx, db.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	latest, err := migrate.Latest()
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		drifts, err := registry.Check(ctx, db.Pool, reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range drifts {
			t.Errorf("%s: drift: %s", stage, d)
		}
	}
	for round := 1; round <= 2; round++ {
		if err := m.Up(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		v, dirty, err := m.Version()
		if err != nil || dirty || v != latest {
			t.Fatalf("round %d: version %d dirty %v err %v, want %d", round, v, dirty, err, latest)
		}
		check("after up")
		if round == 2 {
			break
		}
		// Step down one version at a time so each .down.sql runs on its own.
		versions, err := migrate.Versions()
		if err != nil {
			t.Fatal(err)
		}
		for i := len(versions) - 1; i >= 0; i-- {
			if err := m.Down(1); err != nil {
				t.Fatalf("down from %d: %v", versions[i], err)
			}
		}
		v, _, err = m.Version()
		if err != nil || v != 0 {
			t.Fatalf("after down: version %d err %v", v, err)
		}
		if n := tableCount(t, db); n != 0 {
			t.Fatalf("after down: %d tables remain in the warehouse schemas", n)
		}
	}
}

// A column dropped by hand is reported by name.
func TestRegistryCheckDetectsDrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg, err := registry.Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, ddl, want string
	}{
		{"dropped column", `ALTER TABLE bronze.raw_responses DROP COLUMN content_type`, "bronze.raw_responses.content_type: missing from the database"},
		{"changed type", `ALTER TABLE bronze.raw_responses ALTER COLUMN status_code TYPE numeric`, "bronze.raw_responses.status_code: type is numeric in the database, registry says int32"},
		{"dropped table", `DROP TABLE meta.watermarks`, "meta.watermarks: missing from the database"},
		{"extra table", `CREATE TABLE silver.surprise (x int)`, "silver.surprise: table exists in the database but not in the registry"},
		{"extra column", `ALTER TABLE gold.dim_site ADD COLUMN x int`, "gold.dim_site.x: exists in the database but not in the registry"},
		{"nullability", `ALTER TABLE meta.loads ALTER COLUMN source DROP NOT NULL`, "meta.loads.source: nullable is true in the database, registry says false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			if d, err := registry.Check(ctx, db.Pool, reg); err != nil || len(d) != 0 {
				t.Fatalf("fresh database drifts: %v %v", d, err)
			}
			if _, err := db.Pool.Exec(ctx, tc.ddl); err != nil {
				t.Fatal(err)
			}
			drifts, err := registry.Check(ctx, db.Pool, reg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range drifts {
				got = append(got, d.String())
			}
			if !strings.Contains(strings.Join(got, "\n"), tc.want) {
				t.Fatalf("drifts %q do not contain %q", got, tc.want)
			}
		})
	}
}
