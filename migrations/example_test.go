package migrations_test

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // pgx5://
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/novacorrente/novawh/migrations"
)

// Migrating from Go with golang-migrate reading the embedded files
// (compiled, not run: it needs a database). The repeatable files of
// transform/ (views and functions) are applied after it, in order: see
// examples/backend.
func Example_golangMigrate() {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		panic(err)
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, "pgx5://user:pass@127.0.0.1:5432/warehouse?sslmode=disable")
	if err != nil {
		panic(err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		panic(err)
	}
}

// The embedded files start with the initial schema.
func Example() {
	up, _ := fs.Glob(migrations.FS, "*.up.sql")
	fmt.Println(up[0])
	// Output: 000001_init.up.sql
}
