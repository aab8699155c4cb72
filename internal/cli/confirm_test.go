package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/migrate"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// runWith runs novawh with stdin and whether it is a terminal.
func runWith(stdin string, terminal bool, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	app := &App{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin), Interactive: func() bool { return terminal }}
	code := app.Run(context.Background(), append(args, "--log-file", ""))
	return code, out.String(), errb.String()
}

// `migrate down` without N drops everything: it refuses without a
// terminal unless --all or -y is given, and on a terminal it asks as the
// stock golang-migrate CLI does.
func TestMigrateDownAllAsks(t *testing.T) {
	t.Parallel()
	latest, err := migrate.Latest()
	if err != nil {
		t.Fatal(err)
	}
	const previous = ^uint(0) // the version before the latest
	cases := []struct {
		name     string
		stdin    string
		terminal bool
		args     []string
		code     int
		stderr   string
		version  uint // after
	}{
		{"no terminal, no flag: refused", "y\n", false, nil, ExitUsage, "refusing without confirmation (stdin is not a terminal): give --all (or -y)", latest},
		{"terminal, answer n", "n\n", true, nil, ExitFailed, "Are you sure you want to apply all down migrations? [y/N] novawh: error: not applying all down migrations: not confirmed", latest},
		{"terminal, empty answer", "\n", true, nil, ExitFailed, "not applying all down migrations", latest},
		{"terminal, no answer at all", "", true, nil, ExitFailed, "not applying all down migrations", latest},
		{"terminal, answer y", "y\n", true, nil, ExitOK, "Are you sure you want to apply all down migrations? [y/N]", 0},
		{"terminal, answer YES", "YES\n", true, nil, ExitOK, "", 0},
		{"--all", "", false, []string{"--all"}, ExitOK, "", 0},
		{"-y", "", false, []string{"-y"}, ExitOK, "", 0},
		{"N needs no confirmation", "", false, []string{"1"}, ExitOK, "", previous},
		{"N and --all", "", false, []string{"1", "--all"}, ExitUsage, "give N or --all, not both", latest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			code, out, errOut := runWith(tc.stdin, tc.terminal, append([]string{"migrate", "down", "--database-url", db.URL}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q), stdout %q", code, tc.code, errOut, tc.stderr, out)
			}
			var v uint
			err := db.Pool.QueryRow(t.Context(), "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.version
			if want == previous {
				// down 1: the migration before the latest (numbers have gaps).
				if v >= latest || v == 0 {
					t.Fatalf("down 1 left version %d (latest %d)", v, latest)
				}
				return
			}
			if v != want {
				t.Fatalf("schema at version %d after, want %d", v, want)
			}
			if want == latest {
				var n int
				if err := db.Pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname IN ('bronze', 'silver', 'gold', 'meta')").Scan(&n); err != nil || n != 4 {
					t.Fatalf("%d of the 4 schemas left (%v)", n, err)
				}
			}
		})
	}
}

// `db stop --purge` deletes the server's folder: the same rule.
func TestDBPurgeAsks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		stdin    string
		terminal bool
		yes      bool
		code     int
		stderr   string
		deleted  bool
	}{
		{"no terminal: refused", "y\n", false, false, ExitUsage, "refusing without confirmation (stdin is not a terminal): add -y (--yes)", false},
		{"terminal, n", "n\n", true, false, ExitFailed, "and all its data (", false},
		{"terminal, y", "y\n", true, false, ExitOK, "[y/N]", true},
		{"--yes", "", false, true, ExitOK, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "srv")
			// A stopped server's folder (nothing runs in it).
			if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "data", "PG_VERSION"), []byte("15\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"db", "stop", "--purge", "--dir", dir}
			if tc.yes {
				args = append(args, "--yes")
			}
			code, _, errOut := runWith(tc.stdin, tc.terminal, args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.stderr)
			}
			_, err := os.Stat(dir)
			if deleted := os.IsNotExist(err); deleted != tc.deleted {
				t.Fatalf("folder deleted: %v, want %v (%v)", deleted, tc.deleted, err)
			}
		})
	}
}
