package serve_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	nightly "github.com/novacorrente/novawh/internal/run"
	"github.com/novacorrente/novawh/internal/serve"
)

// The refresh-source policy: which nightly-job options each source runs.
func TestRefreshRunOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		source string
		force  bool
		want   nightly.Options
		err    bool
	}{
		{"", false, nightly.Options{SkipExport: true, SkipPull: true}, false},
		{serve.RefreshSourceML, true, nightly.Options{SkipExport: true, SkipPull: true, Full: true}, false},
		{serve.RefreshSourceExternal, false, nightly.Options{SkipExport: true}, false},
		{serve.RefreshSourceAll, false, nightly.Options{SkipExport: true}, false},
		{"weather", false, nightly.Options{}, true},
	}
	for _, c := range cases {
		got, err := serve.RefreshRunOptions(c.source, c.force)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%q force=%v: %+v %v, want %+v (error %v)", c.source, c.force, got, err, c.want, c.err)
		}
	}
}

// NightlyRefresher runs the executor with the policy's options and turns a
// failed run into a failed job that still carries the report.
func TestNightlyRefresher(t *testing.T) {
	t.Parallel()
	var seen []nightly.Options
	outcome := func(rep *nightly.Report, err error) serve.Executor {
		return func(_ context.Context, o nightly.Options) (*nightly.Report, error) {
			seen = append(seen, o)
			return rep, err
		}
	}
	ctx := context.Background()
	ok := &nightly.Report{RunID: 7, Status: "succeeded"}
	if sum, err := serve.NightlyRefresher(outcome(ok, nil)).Refresh(ctx, "external", true); err != nil || sum != ok {
		t.Fatalf("success: %v %v", sum, err)
	}
	if len(seen) != 1 || seen[0] != (nightly.Options{SkipExport: true, Full: true}) {
		t.Fatalf("options %+v", seen)
	}
	failed := &nightly.Report{RunID: 8, Status: "failed", ExitCode: 1, FailedStep: "refresh", Error: "boom"}
	sum, err := serve.NightlyRefresher(outcome(failed, nil)).Refresh(ctx, "ml_results", false)
	if err == nil || sum != failed || !strings.Contains(err.Error(), "run 8 failed at step refresh: boom") {
		t.Fatalf("failed run: %v %v", sum, err)
	}
	busy := &nightly.BusyError{}
	if _, err := serve.NightlyRefresher(outcome(nil, busy)).Refresh(ctx, "", false); !errors.As(err, &busy) || !strings.Contains(err.Error(), "another run") {
		t.Fatalf("busy: %v", err)
	}
	if _, err := serve.NightlyRefresher(outcome(ok, nil)).Refresh(ctx, "weather", false); err == nil {
		t.Fatal("unknown source accepted")
	}
	if len(seen) != 3 {
		t.Errorf("the executor ran %d times (an unknown source must not run it)", len(seen))
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := serve.DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, edit := range map[string]func(*serve.Config){
		"no addr":         func(c *serve.Config) { c.Addr = "" },
		"negative ttl":    func(c *serve.Config) { c.CacheTTL = -1 },
		"zero bytes":      func(c *serve.Config) { c.CacheMaxBytes = 0 },
		"zero conns":      func(c *serve.Config) { c.MaxConns = 0 },
		"no request time": func(c *serve.Config) { c.RequestTimeout = 0 },
	} {
		c := serve.DefaultConfig()
		edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := serve.DefaultConfig()
	c.CacheTTL = 0
	if o := c.HandlerOptions(); !o.CacheDisabled || o.CacheMaxBytes != c.CacheMaxBytes {
		t.Errorf("handler options %+v", o)
	}
}
