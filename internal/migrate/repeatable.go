package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/migrations"
)

// RepeatableDir is the folder of migrations.FS holding the repeatable SQL
// files (Flyway's R__ convention): the views and functions of the
// transformation, applied in name order after the versioned migrations
// and re-applied, all of them, whenever one changes.
const RepeatableDir = "transform"

// Repeatable is one repeatable SQL file.
type Repeatable struct {
	Name     string // file name, e.g. R__220_gold_demand.sql
	SQL      string
	Checksum string // sha256 of the content, hex
	// Views and Functions the file creates (schema-qualified names).
	Views, Functions []string
}

var createRe = regexp.MustCompile(`(?im)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(VIEW|FUNCTION)\s+([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)`)

// Repeatables lists the embedded repeatable files in the order they apply.
func Repeatables() ([]Repeatable, error) {
	entries, err := fs.ReadDir(migrations.FS, RepeatableDir)
	if err != nil {
		return nil, fmt.Errorf("migrate: list %s: %w", RepeatableDir, err)
	}
	var out []Repeatable
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), "R__") || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := fs.ReadFile(migrations.FS, path.Join(RepeatableDir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		r := Repeatable{Name: e.Name(), SQL: string(b), Checksum: hex.EncodeToString(sum[:])}
		for _, m := range createRe.FindAllStringSubmatch(r.SQL, -1) {
			if strings.EqualFold(m[1], "VIEW") {
				r.Views = append(r.Views, strings.ToLower(m[2]))
			} else {
				r.Functions = append(r.Functions, strings.ToLower(m[2]))
			}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PendingRepeatables names the repeatable files whose recorded checksum
// (meta.repeatable_migrations) differs from the embedded one, or that were
// never applied, plus recorded files that no longer exist.
func PendingRepeatables(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) ([]string, error) {
	files, err := Repeatables()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT name, checksum FROM meta.repeatable_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read meta.repeatable_migrations: %w", err)
	}
	applied := map[string]string{}
	for rows.Next() {
		var n, c string
		if err := rows.Scan(&n, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: read meta.repeatable_migrations: %w", err)
		}
		applied[n] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read meta.repeatable_migrations: %w", err)
	}
	var pending []string
	for _, f := range files {
		if applied[f.Name] != f.Checksum {
			pending = append(pending, f.Name)
		}
		delete(applied, f.Name)
	}
	for n := range applied {
		pending = append(pending, n+" (removed)")
	}
	sort.Strings(pending)
	return pending, nil
}

// applyRepeatables applies every repeatable file, in order and in one
// transaction, when any of them differs from what was last applied, and
// records their checksums. It returns the files that were pending.
func (g *Migrator) applyRepeatables(ctx context.Context) ([]string, error) {
	conn, err := pgx.ConnectConfig(ctx, g.cfg)
	if err != nil {
		return nil, fmt.Errorf("migrate: repeatable files: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: repeatable files: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // committed below
	if err := pglock.Xact(ctx, tx, pglock.Migrate); err != nil {
		return nil, fmt.Errorf("migrate: repeatable files: %w", err)
	}
	pending, err := PendingRepeatables(ctx, tx)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	files, err := Repeatables()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if _, err := tx.Exec(ctx, f.SQL); err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", f.location(err), err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM meta.repeatable_migrations`); err != nil {
		return nil, fmt.Errorf("migrate: record repeatable files: %w", err)
	}
	for _, f := range files {
		if _, err := tx.Exec(ctx, `INSERT INTO meta.repeatable_migrations (name, checksum) VALUES ($1, $2)`, f.Name, f.Checksum); err != nil {
			return nil, fmt.Errorf("migrate: record %s: %w", f.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("migrate: repeatable files: commit: %w", err)
	}
	return pending, nil
}

// location is "migrations/transform/<file>:<line>" for a PostgreSQL error
// with a position inside the file.
func (r Repeatable) location(err error) string {
	loc := "migrations/" + RepeatableDir + "/" + r.Name
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Position > 0 && int(pe.Position) <= len([]rune(r.SQL)) {
		line := 1 + strings.Count(string([]rune(r.SQL)[:pe.Position-1]), "\n")
		loc = fmt.Sprintf("%s:%d", loc, line)
	}
	return loc
}

// dropRepeatables drops every view and function the repeatable files
// create (views first) and forgets what was applied, so that versioned down
// migrations never trip over them and the next Up re-applies them all.
func (g *Migrator) dropRepeatables(ctx context.Context) error {
	files, err := Repeatables()
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, g.cfg)
	if err != nil {
		return fmt.Errorf("migrate: repeatable files: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: repeatable files: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // committed below
	if err := pglock.Xact(ctx, tx, pglock.Migrate); err != nil {
		return fmt.Errorf("migrate: repeatable files: %w", err)
	}
	var stmts []string
	for i := len(files) - 1; i >= 0; i-- {
		for _, v := range files[i].Views {
			stmts = append(stmts, "DROP VIEW IF EXISTS "+v+" CASCADE")
		}
	}
	for i := len(files) - 1; i >= 0; i-- {
		for _, f := range files[i].Functions {
			stmts = append(stmts, "DROP FUNCTION IF EXISTS "+f)
		}
	}
	stmts = append(stmts, `DO $$ BEGIN
		IF to_regclass('meta.repeatable_migrations') IS NOT NULL THEN DELETE FROM meta.repeatable_migrations; END IF;
	END $$`)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("migrate: %s: %w", s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: repeatable files: commit: %w", err)
	}
	return nil
}
