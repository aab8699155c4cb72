package cli

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/migrate"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testbin"
	"github.com/novacorrente/novawh/migrations"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	testbin.Cleanup()
	os.Exit(code)
}

// The migrate and registry commands against a real, initially empty database.
func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	latest, err := migrate.Latest()
	if err != nil {
		t.Fatal(err)
	}
	url := db.URL
	step := func(want int, wantOut string, args ...string) {
		t.Helper()
		code, out, errOut := run(append(args, "--database-url", url)...)
		if code != want || !strings.Contains(out, wantOut) {
			t.Fatalf("novawh %v: exit %d (want %d), stdout %q (want %q), stderr %q", args, code, want, out, wantOut, errOut)
		}
	}
	step(0, "version 0, latest", "migrate", "version")
	step(1, "", "registry", "check")
	step(0, fmt.Sprintf("schema at version %d", latest), "migrate", "up")
	step(0, "database matches the registry", "registry", "check")
	step(0, fmt.Sprintf("version %d, latest %d, clean", latest, latest), "migrate", "version")
	// Roll back to just before the newest migration that creates tables (the
	// ones after it may only add views or functions, which the registry
	// does not describe): the registry then sees drift.
	step(0, "schema at version", "migrate", "down", strconv.Itoa(migrationsSinceLastTable(t)))
	step(1, "drift:", "registry", "check")
	step(0, fmt.Sprintf("schema at version %d", latest), "migrate", "up")
	step(0, fmt.Sprintf("schema forced to version %d", latest), "migrate", "force", fmt.Sprint(latest))
	if _, err := db.Pool.Exec(context.Background(), `ALTER TABLE bronze.raw_responses DROP COLUMN content_type`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run("registry", "check", "--database-url", url)
	if code != 1 || !strings.Contains(out, "drift: bronze.raw_responses.content_type: missing from the database") ||
		!strings.Contains(errOut, "bronze.raw_responses.content_type") {
		t.Fatalf("dropped column not reported by name: exit %d\n%s\n%s", code, out, errOut)
	}
}

// migrationsSinceLastTable counts the up migrations from the newest one
// that creates a table to the last one.
func migrationsSinceLastTable(t *testing.T) int {
	t.Helper()
	ups, err := fs.Glob(migrations.FS, "*.up.sql")
	if err != nil || len(ups) == 0 {
		t.Fatalf("migrations: %v", err)
	}
	sort.Strings(ups)
	for i := len(ups) - 1; i >= 0; i-- {
		b, err := fs.ReadFile(migrations.FS, ups[i])
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "CREATE TABLE") {
			return len(ups) - i
		}
	}
	t.Fatal("no migration creates a table")
	return 0
}
