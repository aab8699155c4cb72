package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/novacorrente/novawh/internal/logx"
)

// healthResponse is the body of GET /health. Without credentials it tells
// no secrets: the verdicts only (database, parquet_access and the ML check
// without their details, no module list). With the API token it adds the
// details: error texts, the remote export target, checked_packages and
// violations.
type healthResponse struct {
	Status            string   `json:"status"`
	Database          string   `json:"database"`
	DatabaseLatencyMS float64  `json:"database_latency_ms"`
	ParquetAccess     string   `json:"parquet_access"`
	Cache             string   `json:"cache"`
	CacheEntries      int      `json:"cache_entries"`
	CacheBytes        int64    `json:"cache_bytes"`
	CacheMaxBytes     int64    `json:"cache_max_bytes"`
	CacheTTLSeconds   float64  `json:"cache_ttl_seconds"`
	Refresh           string   `json:"refresh"`
	MLDependencies    MLReport `json:"ml_dependencies"`
	Details           bool     `json:"details"` // true when the token was given
	Timestamp         string   `json:"timestamp"`
}

func (s *Handler) handleHealth(w http.ResponseWriter, r *http.Request) {
	details := false
	if hasCredentials(r) {
		if ae := s.checkToken(r); ae != nil {
			writeError(w, ae)
			return
		}
		details = true
	}
	h := healthResponse{Status: "ok", Database: "ok", Cache: "disabled", Refresh: s.RefreshState(), MLDependencies: s.ml,
		Details: details, Timestamp: s.opts.Now().UTC().Format(time.RFC3339)}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	t0 := time.Now()
	var one bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM gold.dim_item)").Scan(&one); err != nil {
		h.Database = "error: " + logx.OneLine(err.Error())
		h.Status = "error"
	}
	h.DatabaseLatencyMS = float64(time.Since(t0).Microseconds()) / 1000
	h.ParquetAccess = parquetAccess(s.opts.ParquetDir)
	if s.cache.enabled() {
		st := s.cache.snapshot()
		h.Cache, h.CacheEntries, h.CacheBytes, h.CacheMaxBytes, h.CacheTTLSeconds = "enabled", st.Entries, st.Bytes, st.MaxBytes, s.cache.ttl.Seconds()
	}
	if s.ml.Status == "violation" {
		h.Status = "error"
	}
	if h.Status == "ok" && h.ParquetAccess != "ok" && h.ParquetAccess != "not_configured" && !strings.HasPrefix(h.ParquetAccess, "not_checked") {
		h.Status = "degraded"
	}
	if !details {
		// The verdicts only: "error: <text>" -> "error", "not_checked
		// (remote target s3://...)" -> "not_checked", no module list.
		h.Database = verdict(h.Database)
		h.ParquetAccess = verdict(h.ParquetAccess)
		h.MLDependencies.CheckedPackages, h.MLDependencies.Violations = nil, nil
	}
	code := http.StatusOK
	if h.Status == "error" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// verdict is the first word of a health value ("error: ..." -> "error").
func verdict(v string) string {
	if i := strings.IndexAny(v, ": ("); i > 0 {
		return v[:i]
	}
	return v
}

// parquetAccess reports whether the Parquet export folder can be read.
func parquetAccess(dir string) string {
	switch {
	case dir == "":
		return "not_configured"
	case strings.Contains(dir, "://"):
		return "not_checked (remote target " + dir + ")"
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "error: " + logx.OneLine(err.Error())
	}
	if !st.IsDir() {
		return "error: " + dir + " is not a directory"
	}
	f, err := os.Open(dir)
	if err != nil {
		return "error: " + logx.OneLine(err.Error())
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return "error: " + logx.OneLine(err.Error())
	}
	return "ok"
}
