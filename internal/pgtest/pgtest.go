package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/dbconn"
	"github.com/novacorrente/novawh/internal/migrate"
	"github.com/novacorrente/novawh/internal/pglocal"
	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/migrations"
)

var (
	adminURL   string
	tmplOnce   sync.Once
	tmplName   string
	tmplErr    error
	skipReason string
)

// Run is meant for TestMain: os.Exit(pgtest.Run(m)).
func Run(m *testing.M) int {
	ctx := context.Background()
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		adminURL = u
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "novawh-pg-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	_ = os.Chmod(dir, 0o755)
	srv, err := pglocal.New(pglocal.Options{Dir: dir})
	if err == nil {
		err = srv.Start(ctx, false)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		if os.Getenv("CI") != "" || os.Getenv("NOVAWH_REQUIRE_PG") != "" {
			fmt.Fprintln(os.Stderr, "pgtest: cannot start PostgreSQL:", err)
			return 1
		}
		skipReason = "no PostgreSQL for tests: " + err.Error()
		return m.Run()
	}
	adminURL = srv.URL("postgres")
	code := m.Run()
	if err := srv.Remove(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: stop:", err)
	}
	return code
}

// DB is one test's private database.
type DB struct {
	Name   string
	URL    string
	Pool   *pgxpool.Pool
	Config *pgx.ConnConfig
}

// New creates an isolated, fully migrated database for t and drops it when
// the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	db, err := NewE(context.Background())
	if err != nil {
		if skipReason != "" {
			t.Skip(skipReason)
		}
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { db.Drop(context.Background()) })
	return db
}

// NewEmpty creates an empty database (no migrations applied) for t, for
// tests of the migrations themselves.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	db, err := newDB(context.Background(), "template0")
	if err != nil {
		if skipReason != "" {
			t.Skip(skipReason)
		}
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { db.Drop(context.Background()) })
	return db
}

// AdminURL is the URL of the server's maintenance database.
func AdminURL() string { return adminURL }

// NewE creates a database outside of a test (benchmarks, TestMain). The
// caller drops it with Drop.
func NewE(ctx context.Context) (*DB, error) {
	if adminURL == "" {
		return nil, errNoServer()
	}
	tmplOnce.Do(func() { tmplName, tmplErr = ensureTemplate(ctx) })
	if tmplErr != nil {
		return nil, tmplErr
	}
	return newDB(ctx, tmplName)
}

func errNoServer() error {
	if skipReason != "" {
		return fmt.Errorf("%s", skipReason)
	}
	return fmt.Errorf("pgtest.Run was not called from TestMain")
}

func newDB(ctx context.Context, template string) (*DB, error) {
	if adminURL == "" {
		return nil, errNoServer()
	}
	name := "t_" + randHex(8)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", dbconn.Redact(adminURL), err)
	}
	defer admin.Close(ctx)
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		_, lastErr = admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template))
		if lastErr == nil {
			break
		}
		// Another process may be connected to the template for a moment.
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	if lastErr != nil {
		return nil, fmt.Errorf("create test database: %w", lastErr)
	}
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, err
	}
	cfg.Database = name
	url := withDatabase(adminURL, name)
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	pcfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	return &DB{Name: name, URL: url, Pool: pool, Config: cfg}, nil
}

// Drop closes the pool and removes the database.
func (d *DB) Drop(ctx context.Context) {
	d.Pool.Close()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return
	}
	defer admin.Close(ctx)
	_, _ = admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", d.Name))
}

// ensureTemplate builds (once per server and migration set) a migrated
// template database; concurrent test binaries serialise on an advisory lock.
func ensureTemplate(ctx context.Context) (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "novawh_tmpl_" + hash[:12]
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", dbconn.Redact(adminURL), err)
	}
	defer admin.Close(ctx)
	if err := pglock.Lock(ctx, admin, pglock.Test("template")); err != nil {
		return "", err
	}
	defer pglock.Unlock(ctx, admin, pglock.Test("template")) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", building)); err != nil {
		return "", err
	}
	cfg, err := pgx.ParseConfig(withDatabase(adminURL, building))
	if err != nil {
		return "", err
	}
	m, err := migrate.New(ctx, cfg)
	if err != nil {
		return "", err
	}
	upErr := m.Up()
	closeErr := m.Close()
	if upErr != nil {
		return "", fmt.Errorf("migrate template: %w", upErr)
	}
	if closeErr != nil {
		return "", closeErr
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", fmt.Errorf("publish template: %w", err)
	}
	return name, nil
}

func migrationsHash() (string, error) {
	h := sha256.New()
	var names []string
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
