package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/novacorrente/novawh/api"
)

// ServeOptions tune Serve.
type ServeOptions struct {
	Log             *slog.Logger  // nil: discard
	RequestTimeout  time.Duration // the handler's; the write timeout leaves it room
	ShutdownTimeout time.Duration // 0: DefaultShutdownTimeout
	// UI, when set, serves every path the API does not (/, /items, ...:
	// the web pages) on the same listener.
	UI http.Handler
}

// Routes is the handler Serve serves: the API for /api/, /health and
// /metrics, ui (when not nil) for everything else.
func Routes(h *api.Handler, ui http.Handler) http.Handler {
	if ui == nil {
		return h
	}
	m := http.NewServeMux()
	m.Handle("/api/", h)
	m.Handle("/health", h)
	m.Handle("/metrics", h)
	m.Handle("/", ui)
	return m
}

// Run listens on addr and serves h until ctx ends (see Serve).
func Run(ctx context.Context, addr string, h *api.Handler, o ServeOptions) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, h, o)
}

// Serve serves h on ln until ctx ends: then it stops accepting, lets
// running requests finish (up to ShutdownTimeout) and closes h (which
// cancels a running refresh job), waiting for it within the same grace
// period. Requests net/http cannot parse get the API's JSON error body
// (api.JSONErrorListener).
func Serve(ctx context.Context, ln net.Listener, h *api.Handler, o ServeOptions) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = api.DefaultRequestTimeout
	}
	hs := &http.Server{
		Handler:           Routes(h, o.UI),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      o.RequestTimeout + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(api.JSONErrorListener(ln)) }()
	o.Log.Info("serving the API", "addr", ln.Addr().String(), "refresh", h.RefreshState())
	select {
	case err := <-errc:
		_ = h.Close(context.Background())
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	o.Log.Info("shutting down", "grace_ms", o.ShutdownTimeout.Milliseconds())
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if jerr := h.Close(sctx); jerr != nil && err == nil {
		err = jerr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	o.Log.Info("stopped")
	return nil
}
