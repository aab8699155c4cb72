package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeCommand runs `novawh serve` against a migrated database: the
// config file's serve: section applies, flags beat it, /health answers,
// requests are logged with their latency, and cancelling the context (what
// SIGTERM does in main) stops it with exit 0.
func TestServeCommand(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	if _, err := db.Pool.Exec(context.Background(), `INSERT INTO gold.dim_item (item_id, name) VALUES ('ABRASIVOS_DISCO DE LIXA 4.1/2 G36', 'DISCO DE LIXA 4.1/2 G36')`); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "novawh.yaml")
	if err := os.WriteFile(cfg, []byte("version: 1\nserve:\n  reader_role: novawh_reader\n  max_item_ids: 2\n  max_span_days: 10\n  cache_ttl: 0s\n  cache_max_bytes: 1048576\n  parquet_dir: \"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--config", cfg, "--addr", addr, "--max-span-days", "400",
			"--database-url", db.URL, "--log-file", "", "--log-format", "json"}, &bytes.Buffer{}, stderr)
	}()
	base := "http://" + addr
	var health map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/health")
		if err == nil {
			err = json.NewDecoder(res.Body).Decode(&health)
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if health["status"] != "ok" || health["cache"] != "disabled" || health["parquet_access"] != "not_configured" {
		t.Errorf("health: %v", health)
	}
	get := func(path string) (int, string) {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		code := ""
		if e, ok := m["error"].(map[string]any); ok {
			code, _ = e["code"].(string)
		}
		return res.StatusCode, code
	}
	// max_item_ids: 2 from the file.
	if st, code := get("/api/v1/forecasts/summary?start=2025-01-01&end=2025-01-05&item_ids=a,b,c"); st != 400 || code != "too_many_items" {
		t.Errorf("3 ids with max_item_ids 2: %d %s", st, code)
	}
	// --max-span-days 400 beats the file's 10.
	if st, _ := get("/api/v1/forecasts/summary?start=2025-01-01&end=2025-06-30"); st != 200 {
		t.Errorf("181-day span with --max-span-days 400: %d", st)
	}
	if st, _ := get("/api/v1/items/" + url.PathEscape("ABRASIVOS_DISCO DE LIXA 4.1/2 G36") + "/timeseries?start=2025-01-01&end=2025-01-05"); st != 200 {
		t.Errorf("timeseries: %d", st)
	}
	// The refresh endpoint is disabled without NOVAWH_API_TOKEN.
	res, err := http.Post(base+"/api/v1/data/refresh", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("refresh without a token: %d", res.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after the context ended")
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"http request"`, `"latency_ms":`, `"status":400`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}

func TestServeCommandBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("serve:\n  adress: 1.2.3.4:80\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--cache-ttl", "-1s"},
		{"serve", "--max-span-days", "0"},
		{"serve", "--max-item-ids", "-3"},
		{"serve", "--cache-max-bytes", "0"},
		{"serve", "--config", unknown},
		{"serve", "--config", filepath.Join(dir, "missing.yaml")},
		{"serve", "extra-arg"},
	} {
		code, _, errOut := run(append(args, "--database-url", "postgres://127.0.0.1:1/x")...)
		if code != ExitUsage || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	// A database that does not answer: exit 1, one line.
	code, _, errOut := run("serve", "--addr", freeAddr(t), "--database-url", fmt.Sprintf("postgres://nobody@%s/x?connect_timeout=2", freeAddr(t)))
	if code != ExitFailed || !strings.Contains(errOut, "connect to") {
		t.Errorf("no database: exit %d, %q", code, errOut)
	}
}
