package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/novacorrente/novawh/api"
)

// Mounting the API under /dash/ of a backend's own server (compiled, not
// run: it needs a database).
func ExampleNew() {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	pool, err := api.OpenPool(ctx, os.Getenv("DATABASE_URL"), api.PoolOptions{ReaderRole: "novawh_reader", StatementTimeout: 5 * time.Second}, log)
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	h, err := api.New(pool, api.Options{Logger: log, BasePath: "/dash"})
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx) //nolint:errcheck
	mux := http.NewServeMux()
	mux.Handle("/dash/", http.StripPrefix("/dash", h))
	ln, err := net.Listen("tcp", "127.0.0.1:8090")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	_ = srv.Serve(api.JSONErrorListener(ln))
}

// A request net/http refuses before any handler runs (an invalid
// percent-escape in the path) gets the API's JSON error body.
func ExampleJSONErrorListener() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(api.JSONErrorListener(ln)) //nolint:errcheck
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /api/v1/items/A%ZZ/timeseries HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	fmt.Print(string(body))
	// Output:
	// 400 application/json; charset=utf-8
	// {"error":{"code":"invalid_parameter","message":"the request path \"/api/v1/items/A%ZZ/timeseries\" is not a valid URL: invalid percent-escape \"%ZZ\" (a literal % is written %25)"}}
}

// The OpenAPI document, as GET /api/v1/openapi.json serves it.
func ExampleSpecJSON() {
	b, err := api.SpecJSON()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(b) > 1000, string(b[:1]))
	// Output: true {
}
