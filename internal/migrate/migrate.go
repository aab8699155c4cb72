package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	gomigrate "github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/novacorrente/novawh/migrations"
)

// Migrator runs migrations against one database.
type Migrator struct {
	ctx context.Context
	cfg *pgx.ConnConfig
	db  *sql.DB
	m   *gomigrate.Migrate
	// Applied lists the repeatable files the last Up applied (all of them
	// when one changed; none when they were current).
	Applied []string
}

// New opens a migrator for the database described by connConfig.
func New(ctx context.Context, connConfig *pgx.ConnConfig) (*Migrator, error) {
	db := stdlib.OpenDB(*connConfig)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: driver: %w", err)
	}
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: source: %w", err)
	}
	m, err := gomigrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: init: %w", err)
	}
	return &Migrator{ctx: ctx, cfg: connConfig, db: db, m: m}, nil
}

// Close releases the connection.
func (g *Migrator) Close() error {
	srcErr, dbErr := g.m.Close()
	return errors.Join(srcErr, dbErr)
}

// Up applies every pending versioned migration, then the repeatable files
// of migrations/transform when any of them changed (see Repeatables). No
// change is not an error.
func (g *Migrator) Up() error {
	if err := g.m.Up(); err != nil && !errors.Is(err, gomigrate.ErrNoChange) {
		return fmt.Errorf("migrate up: %w", err)
	}
	applied, err := g.applyRepeatables(g.ctx)
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	g.Applied = applied
	return nil
}

// Down rolls back n versioned migrations; n <= 0 rolls back all of them.
// The views and functions of the repeatable files are dropped first (the
// next Up re-applies them).
func (g *Migrator) Down(n int) error {
	if err := g.dropRepeatables(g.ctx); err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	var err error
	if n <= 0 {
		err = g.m.Down()
	} else {
		err = g.m.Steps(-n)
	}
	if err != nil && !errors.Is(err, gomigrate.ErrNoChange) {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// Version reports the applied version (0 when none) and whether the last
// migration failed half-way (dirty).
func (g *Migrator) Version() (uint, bool, error) {
	v, dirty, err := g.m.Version()
	if errors.Is(err, gomigrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("migrate version: %w", err)
	}
	return v, dirty, nil
}

// Force sets the recorded version without running anything (after a
// failed migration was repaired by hand).
func (g *Migrator) Force(v int) error {
	if err := g.m.Force(v); err != nil {
		return fmt.Errorf("migrate force %d: %w", v, err)
	}
	return nil
}

// Latest is the highest version shipped in the embedded migrations.
func Latest() (uint, error) {
	vs, err := Versions()
	if err != nil {
		return 0, err
	}
	if len(vs) == 0 {
		return 0, nil
	}
	return vs[len(vs)-1], nil
}

// Versions lists the embedded migration versions in ascending order.
func Versions() ([]uint, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: list: %w", err)
	}
	seen := map[uint]bool{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".up.sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migrate: bad file name %q: %w", name, err)
		}
		seen[uint(v)] = true
	}
	out := make([]uint, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
