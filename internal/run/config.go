package run

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/pull"
	"github.com/novacorrente/novawh/internal/schedule"
)

// Input is one configured file source: every file matching Paths (files,
// folders or globs, relative to the working directory) is loaded into
// Source. Files already loaded with the same content are skipped by the
// loader, so the same folders can be listed every night.
type Input struct {
	Source string   `yaml:"source"`
	Paths  []string `yaml:"paths"`
	// Optional: paths that do not exist, empty folders and globs matching
	// nothing are ignored instead of failing the load step (inbound
	// folders that are empty on most nights).
	Optional bool `yaml:"optional"`
	// Optional ML metadata for files that do not carry it (see docs/load.md).
	ModelVersion string `yaml:"model_version"`
	GeneratedAt  string `yaml:"generated_at"`
	MLSource     string `yaml:"ml_source"`
	DatasetID    string `yaml:"dataset_id"`
}

// Config is the `run:` section of novawh.yaml.
type Config struct {
	Inputs []Input `yaml:"inputs"`
	Pull   struct {
		// Sources to pull; empty means every configured API source.
		Sources []string `yaml:"sources"`
		// Offline skips every pull with a warning (no network).
		Offline bool `yaml:"offline"`
		// Enabled=false skips the pull step entirely.
		Enabled *bool `yaml:"enabled"`
	} `yaml:"pull"`
	Refresh struct {
		Full bool `yaml:"full"`
	} `yaml:"refresh"`
	// Check tunes the quality checks (as the flags of `novawh check`).
	Check struct {
		FreshnessMaxAge time.Duration `yaml:"freshness_max_age"`
		FreshnessLevel  string        `yaml:"freshness_level"`
		MaxKeyNullRatio float64       `yaml:"max_key_null_ratio"`
	} `yaml:"check"`
	Export struct {
		Enabled *bool  `yaml:"enabled"`
		To      string `yaml:"to"`
		Full    bool   `yaml:"full"`
		// Layers exported by the job (default: the export section's, gold).
		Layers []string `yaml:"layers"`
	} `yaml:"export"`
	Alert struct {
		Webhook   string        `yaml:"webhook"`
		OnWarning bool          `yaml:"on_warning"`
		Attempts  int           `yaml:"attempts"`
		Backoff   time.Duration `yaml:"backoff"`
	} `yaml:"alert"`
	// LockWait: how long a run waits for a running one (0 = exit at once).
	LockWait time.Duration `yaml:"lock_wait"`
	// Schedule and ScheduleTZ are used by `novawh serve` when --schedule is not given.
	Schedule   string `yaml:"schedule"`
	ScheduleTZ string `yaml:"schedule_tz"`
}

// DefaultTZ is the scheduler's default time zone.
const DefaultTZ = schedule.DefaultTZ

// Environment variables read by the run configuration (flags beat them,
// they beat the file).
const (
	// EnvExportTo overrides run.export.to (--export-to beats it).
	EnvExportTo = "NOVAWH_EXPORT_TO"
	// EnvExportLayers overrides run.export.layers (--export-layers beats it).
	EnvExportLayers = "NOVAWH_EXPORT_LAYERS"
	// EnvOffline (1 or true) sets run.pull.offline (--offline beats it).
	EnvOffline = pull.EnvOffline
	// EnvWebhook overrides run.alert.webhook (--alert-webhook beats it).
	EnvWebhook = alert.EnvWebhook
)

// DefaultConfig is the run section's defaults.
func DefaultConfig() *Config {
	c := &Config{ScheduleTZ: DefaultTZ}
	c.Export.To = "exports"
	c.Alert.Attempts = 4
	c.Alert.Backoff = time.Second
	return c
}

// Settings binds the fields of c to the flags of `novawh run` and `novawh
// serve` and to the environment; a flag a command lacks is not looked at.
func (c *Config) Settings() []config.Setting {
	return []config.Setting{
		config.Bind(&c.Pull.Offline, "offline", EnvOffline),
		config.Bind(&c.Refresh.Full, "full", ""),
		config.Bind(&c.Export.To, "export-to", EnvExportTo),
		config.Bind(&c.Export.Full, "full", ""),
		config.Bind(&c.Export.Layers, "export-layers", EnvExportLayers),
		config.Bind(&c.Alert.Webhook, "alert-webhook", EnvWebhook),
		config.Bind(&c.Alert.OnWarning, "alert-on-warning", ""),
		config.Bind(&c.LockWait, "wait", ""),
		config.Bind(&c.Schedule, "schedule", ""),
		config.Bind(&c.ScheduleTZ, "schedule-tz", ""),
	}
}

// ResolveConfig reads the run section through r (flags, environment, the
// file over DefaultConfig) and validates it.
func ResolveConfig(r config.Resolver) (*Config, error) {
	c := DefaultConfig()
	if err := r.Resolve("run", c, c.Settings()...); err != nil {
		return nil, err
	}
	name := "configuration"
	if r.File != nil {
		name = r.File.Path
	}
	if err := c.validate(name); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadConfig reads the run section of f without flags or environment.
func LoadConfig(f *config.File) (*Config, error) {
	return ResolveConfig(config.Resolver{File: f, LookupEnv: func(string) (string, bool) { return "", false }})
}

// NewAlert is the alert sender of the configured webhook (nil-safe to
// Send when none is set).
func (c *Config) NewAlert(log *slog.Logger) *alert.Sender {
	s := alert.New(c.Alert.Webhook, log)
	s.Attempts, s.Backoff = c.Alert.Attempts, c.Alert.Backoff
	return s
}

func (c *Config) validate(path string) error {
	if err := alert.Validate(c.Alert.Webhook); err != nil {
		return err
	}
	for i, in := range c.Inputs {
		if in.Source == "" {
			return fmt.Errorf("%s: run.inputs[%d]: source is required", path, i)
		}
		if len(in.Paths) == 0 {
			return fmt.Errorf("%s: run.inputs[%d] (%s): paths is required", path, i, in.Source)
		}
		if in.GeneratedAt != "" {
			if _, err := time.Parse(time.RFC3339, in.GeneratedAt); err != nil {
				return fmt.Errorf("%s: run.inputs[%d] (%s): generated_at must be RFC 3339 (2025-11-11T00:00:00Z): %w", path, i, in.Source, err)
			}
		}
	}
	// Keys set to their zero value in the file take the defaults.
	d := DefaultConfig()
	if c.Export.To == "" {
		c.Export.To = d.Export.To
	}
	if c.Alert.Attempts <= 0 {
		c.Alert.Attempts = d.Alert.Attempts
	}
	if c.Alert.Backoff <= 0 {
		c.Alert.Backoff = d.Alert.Backoff
	}
	if c.ScheduleTZ == "" {
		c.ScheduleTZ = d.ScheduleTZ
	}
	if c.LockWait < 0 {
		return fmt.Errorf("%s: run.lock_wait (or --wait) must not be negative", path)
	}
	return nil
}

// PullEnabled reports whether the pull step runs.
func (c *Config) PullEnabled() bool { return c.Pull.Enabled == nil || *c.Pull.Enabled }

// ExportEnabled reports whether the export step runs.
func (c *Config) ExportEnabled() bool { return c.Export.Enabled == nil || *c.Export.Enabled }

// CommandLineInputs are the inputs `novawh run` was given instead of
// run.inputs: every sub-folder of dir (--inputs-dir, "" for none), then
// each --input flag; nil when neither was given.
func CommandLineInputs(dir string, flags []string, meta Input) ([]Input, error) {
	if dir == "" && len(flags) == 0 {
		return nil, nil
	}
	var all []Input
	if dir != "" {
		var err error
		if all, err = InputsFromDir(dir); err != nil {
			return nil, err
		}
	}
	flagged, err := ParseInputs(flags, meta)
	if err != nil {
		return nil, err
	}
	return append(all, flagged...), nil
}

// ParseInputs reads --input SOURCE=PATH[,PATH...] flags; meta's ML metadata
// applies to each of them.
func ParseInputs(flags []string, meta Input) ([]Input, error) {
	if meta.GeneratedAt != "" {
		if _, err := time.Parse(time.RFC3339, meta.GeneratedAt); err != nil {
			return nil, fmt.Errorf("--generated-at must be RFC 3339 (2025-11-11T00:00:00Z): %w", err)
		}
	}
	var out []Input
	for _, f := range flags {
		src, paths, ok := strings.Cut(f, "=")
		src = strings.TrimSpace(src)
		if !ok || src == "" || strings.TrimSpace(paths) == "" {
			return nil, fmt.Errorf("--input %q: want SOURCE=PATH[,PATH...]", f)
		}
		in := meta
		in.Source, in.Paths, in.Optional = src, nil, false
		for _, p := range strings.Split(paths, ",") {
			if p = strings.TrimSpace(p); p != "" {
				in.Paths = append(in.Paths, p)
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// InputsFromDir makes one input per sub-folder of dir, the folder's name
// being the source (data/raw/samples/ml_forecasts -> ml_forecasts).
func InputsFromDir(dir string) ([]Input, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--inputs-dir: %w", err)
	}
	var out []Input
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, Input{Source: e.Name(), Paths: []string{filepath.Join(dir, e.Name())}})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--inputs-dir %s: no sub-folder (want one folder per source, named after it)", dir)
	}
	return out, nil
}
