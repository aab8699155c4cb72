package serve

import (
	"errors"
	"time"

	"github.com/novacorrente/novawh/api"
)

// DefaultAddr is where `novawh serve` listens by default.
const DefaultAddr = "127.0.0.1:8080"

// DefaultShutdownTimeout is the grace period of Run and Serve.
const DefaultShutdownTimeout = 30 * time.Second

// Config is the serve: section of novawh.yaml; every key has a flag of the
// same name with dashes (see docs/api.md).
type Config struct {
	Addr             string        `yaml:"addr"`
	ReaderRole       string        `yaml:"reader_role"`
	StatementTimeout time.Duration `yaml:"statement_timeout"`
	RequestTimeout   time.Duration `yaml:"request_timeout"`
	ShutdownTimeout  time.Duration `yaml:"shutdown_timeout"`
	MaxSpanDays      int           `yaml:"max_span_days"`
	MaxItemIDs       int           `yaml:"max_item_ids"`
	MaxPageSize      int           `yaml:"max_page_size"`
	CacheTTL         time.Duration `yaml:"cache_ttl"` // 0 disables the cache
	CacheMaxEntries  int           `yaml:"cache_max_entries"`
	CacheMaxBytes    int64         `yaml:"cache_max_bytes"`
	MaxConns         int32         `yaml:"max_conns"`
	ParquetDir       string        `yaml:"parquet_dir"`
	RefreshSources   []string      `yaml:"refresh_sources"`
	// APIToken enables POST /api/v1/data/refresh; it is only read from the
	// environment (NOVAWH_API_TOKEN), never from the file.
	APIToken string `yaml:"-"`
}

// DefaultConfig is the configuration without a file or flags.
func DefaultConfig() Config {
	return Config{
		Addr:             DefaultAddr,
		StatementTimeout: 5 * time.Second,
		RequestTimeout:   api.DefaultRequestTimeout,
		ShutdownTimeout:  DefaultShutdownTimeout,
		MaxSpanDays:      api.DefaultMaxSpanDays,
		MaxItemIDs:       api.DefaultMaxItemIDs,
		MaxPageSize:      api.DefaultMaxPageSize,
		CacheTTL:         api.DefaultCacheTTL,
		CacheMaxEntries:  api.DefaultCacheEntries,
		CacheMaxBytes:    api.DefaultCacheBytes,
		MaxConns:         10,
		ParquetDir:       "exports",
	}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("serve: addr is empty")
	case c.StatementTimeout < 0, c.RequestTimeout <= 0, c.ShutdownTimeout <= 0:
		return errors.New("serve: statement_timeout must be >= 0 and request_timeout, shutdown_timeout > 0")
	case c.MaxSpanDays <= 0, c.MaxItemIDs <= 0, c.MaxPageSize <= 0, c.CacheMaxEntries <= 0, c.CacheMaxBytes <= 0, c.MaxConns <= 0:
		return errors.New("serve: max_span_days, max_item_ids, max_page_size, cache_max_entries, cache_max_bytes and max_conns must be positive")
	case c.CacheTTL < 0:
		return errors.New("serve: cache_ttl must not be negative (0 disables the cache)")
	}
	return nil
}

// PoolOptions are the API pool's settings.
func (c Config) PoolOptions() api.PoolOptions {
	return api.PoolOptions{ReaderRole: c.ReaderRole, StatementTimeout: c.StatementTimeout, MaxConns: c.MaxConns}
}

// HandlerOptions are the API handler's settings; the caller adds the
// logger, the token and the refresher.
func (c Config) HandlerOptions() api.Options {
	return api.Options{
		MaxSpanDays: c.MaxSpanDays, MaxItemIDs: c.MaxItemIDs, MaxPageSize: c.MaxPageSize,
		CacheTTL: c.CacheTTL, CacheDisabled: c.CacheTTL == 0, CacheMaxEntries: c.CacheMaxEntries, CacheMaxBytes: c.CacheMaxBytes,
		RequestTimeout: c.RequestTimeout, RefreshSources: c.RefreshSources, ParquetDir: c.ParquetDir,
	}
}
