package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/serve"
)

// TestServeGracefulShutdown: Serve serves until its context ends, lets a
// request in flight finish, cancels a running refresh job, and answers a
// request net/http cannot parse with the JSON error body.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	started := make(chan struct{})
	canceled := make(chan struct{})
	h, err := api.New(db.Pool, api.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), APIToken: "tok",
		Refresher: api.RefresherFunc(func(ctx context.Context, _ string, _ bool) (any, error) {
			close(started)
			// A long statement the shutdown must cancel.
			_, err := db.Pool.Exec(ctx, "SELECT pg_sleep(60)")
			close(canceled)
			return nil, err
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.Serve(ctx, ln, h, serve.ServeOptions{ShutdownTimeout: 10 * time.Second}) }()
	base := "http://" + ln.Addr().String()
	res, err := http.Get(base + "/health")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("health: %v %v", res, err)
	}
	res.Body.Close()

	// A path net/http refuses itself still gets the JSON error.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /api/v1/items/A%ZZ/timeseries HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	bad, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]map[string]string
	if err := json.NewDecoder(bad.Body).Decode(&body); err != nil || bad.StatusCode != 400 || body["error"]["code"] != api.CodeInvalidParameter {
		t.Errorf("bad escape: %d %v %v", bad.StatusCode, body, err)
	}
	c.Close()

	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/data/refresh", strings.NewReader(`{"source":"erp"}`))
	req.Header.Set("X-API-Key", "tok")
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("refresh: %v %v", res, err)
	}
	res.Body.Close()
	<-started
	t0 := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after the context ended")
	}
	<-canceled
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Errorf("still serving after shutdown")
	} else if !errors.Is(err, os.ErrDeadlineExceeded) && !strings.Contains(err.Error(), "refused") {
		t.Logf("after shutdown: %v", err)
	}
}
