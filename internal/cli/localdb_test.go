package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pglocal"
)

// The newcomer path: `novawh db start` (what make demo does) in a checkout,
// then, from another folder of it and with no variable set, `db url` and
// `db env` find the server and every command uses it: `migrate up`, then
// `export --to out/` (which failed with "connect to /var/run/postgresql").
func TestLocalServerFoundFromAnyFolder(t *testing.T) {
	t.Parallel()
	if _, err := pglocal.BinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	bin := binary(t)
	// A checkout of its own (its go.mod names the module), so the demo
	// server folder is this test's: /tmp/novawh-pg-demo-<hash of root>.
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+pglocal.Module+"\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	docs := filepath.Join(root, "docs", "data")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv()
	novawh := func(dir string, args ...string) (int, string, string) {
		t.Helper()
		return runBinary(t, bin, dir, env, append(args, "--log-file", "")...)
	}
	if code, _, stderr := novawh(docs, "db", "url"); code == 0 || !strings.Contains(stderr, `local server "demo" is not running`) {
		t.Fatalf("db url before start: exit %d, %s", code, stderr)
	}
	code, url, stderr := novawh(root, "db", "start")
	if code != 0 {
		t.Fatalf("db start: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() {
		// t.Context() is over by now.
		stop := exec.Command(bin, "db", "stop", "--purge", "--yes", "--log-file", "")
		stop.Dir, stop.Env = root, cleanEnv()
		if out, err := stop.CombinedOutput(); err != nil {
			t.Errorf("db stop --purge: %v: %s", err, out)
		}
	})
	url = strings.TrimSpace(url)
	if dir := pglocal.DirFor(pglocal.DemoName, root); !strings.HasPrefix(dir, os.TempDir()) {
		t.Fatalf("server folder %s", dir)
	}
	if code, got, stderr := novawh(docs, "db", "url"); code != 0 || strings.TrimSpace(got) != url {
		t.Fatalf("db url from docs/data: exit %d, %q (want %q): %s", code, got, url, stderr)
	}
	code, exports, stderr := novawh(docs, "db", "env")
	if code != 0 || !strings.Contains(exports, "export DATABASE_URL='"+url+"'") || !strings.Contains(exports, "PGHOST=127.0.0.1") {
		t.Fatalf("db env: exit %d, %q: %s", code, exports, stderr)
	}
	if code, out, stderr := novawh(docs, "-v", "migrate", "up"); code != 0 || !strings.Contains(out, "schema at version") ||
		!strings.Contains(stderr, "using the local server") {
		t.Fatalf("migrate up with no variable set: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, out, stderr := novawh(root, "export", "--to", "out/"); code != 0 || !strings.Contains(out, "exported to") {
		t.Fatalf("export --to out/ with no variable set: exit %d\n%s\n%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "out", "gold", "fact_forecast")); err != nil {
		t.Fatalf("export --to out/: %v", err)
	}
	// A PG* variable or DATABASE_URL means the user chose a server: the
	// local one is not used.
	env = append(cleanEnv(), "PGHOST=127.0.0.1", "PGPORT=1", "PGCONNECT_TIMEOUT=5")
	if code, _, stderr := novawh(docs, "migrate", "version"); code == 0 || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Fatalf("PGPORT=1 ignored: exit %d: %s", code, stderr)
	}
}
