package api_test

import (
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestCheckMLDependencies(t *testing.T) {
	t.Parallel()
	mods := func(paths ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/novacorrente/novawh"}}
		for _, p := range paths {
			bi.Deps = append(bi.Deps, &debug.Module{Path: p, Version: "v1.0.0"})
		}
		return bi
	}
	replaced := mods("github.com/jackc/pgx/v5")
	replaced.Deps[0].Replace = &debug.Module{Path: "github.com/sjwhitworth/golearn", Version: "v0.0.1"}
	cases := []struct {
		name       string
		bi         *debug.BuildInfo
		ok         bool
		status     string
		violations []string
	}{
		{"clean", mods("github.com/jackc/pgx/v5", "gonum.org/v1/gonum", "github.com/parquet-go/parquet-go"), true, "ok", nil},
		{"gorgonia", mods("github.com/jackc/pgx/v5", "gorgonia.org/gorgonia", "gorgonia.org/tensor"), true, "violation",
			[]string{"gorgonia.org/gorgonia", "gorgonia.org/tensor"}},
		{"golearn and tfgo", mods("github.com/sjwhitworth/golearn", "github.com/galeone/tfgo"), true, "violation",
			[]string{"github.com/sjwhitworth/golearn", "github.com/galeone/tfgo"}},
		{"tensorflow subpackage", mods("github.com/tensorflow/tensorflow/tensorflow/go"), true, "violation", []string{"github.com/tensorflow/tensorflow/tensorflow/go"}},
		{"onnx runtime", mods("github.com/yalue/onnxruntime_go"), true, "violation", []string{"github.com/yalue/onnxruntime_go"}},
		{"prefix is not a match", mods("github.com/sjwhitworth/golearnish", "gorgonia.orgx/foo"), true, "ok", nil},
		{"case-insensitive", mods("github.com/Sjwhitworth/GoLearn"), true, "violation", []string{"github.com/Sjwhitworth/GoLearn"}},
		{"replace target", replaced, true, "violation", []string{"github.com/sjwhitworth/golearn"}},
		{"no build info", nil, false, "unknown", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := api.CheckMLDependencies(c.bi, c.ok, api.DefaultMLDenyList)
			if rep.Status != c.status {
				t.Errorf("status %q, want %q (%s)", rep.Status, c.status, rep.Message)
			}
			if len(rep.Violations) != len(c.violations) {
				t.Fatalf("violations %q, want %q", rep.Violations, c.violations)
			}
			for i, v := range c.violations {
				if !strings.HasPrefix(rep.Violations[i], v+" ") {
					t.Errorf("violation %d = %q, want %s", i, rep.Violations[i], v)
				}
			}
			if c.ok && len(rep.CheckedPackages) != len(c.bi.Deps)+1 {
				t.Errorf("checked %d packages, want %d", len(rep.CheckedPackages), len(c.bi.Deps)+1)
			}
			if rep.Message == "" || rep.Violations == nil || rep.CheckedPackages == nil {
				t.Errorf("incomplete report %+v", rep)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, func(o *api.Options, _ *pgtest.DB) { o.ParquetDir, o.APIToken = dir, "tok" })
	r := e.get(t, "/health")
	m := r.json.(map[string]any)
	if r.status != 200 || m["status"] != "ok" || m["database"] != "ok" || m["parquet_access"] != "ok" || m["cache"] != "enabled" || m["details"] != false {
		t.Fatalf("health %d %s", r.status, r.body)
	}
	// Public: the verdict, no module list.
	ml := m["ml_dependencies"].(map[string]any)
	if ml["status"] != "ok" || ml["message"] == "" {
		t.Errorf("ml_dependencies %v", ml)
	}
	for _, secret := range []string{"checked_packages", "violations"} {
		if _, ok := ml[secret]; ok {
			t.Errorf("the public health body lists %s: %s", secret, r.body)
		}
	}
	if strings.Contains(string(r.body), "github.com/") {
		t.Errorf("the public health body names modules: %s", r.body)
	}
	// With the token: the real module list of this binary (a test binary
	// lists its main module; the built novawh lists every dependency).
	for _, h := range []map[string]string{{"Authorization": "Bearer tok"}, {"X-API-Key": "tok"}} {
		r = e.do(t, http.MethodGet, "/health", h, "")
		m = r.json.(map[string]any)
		ml = m["ml_dependencies"].(map[string]any)
		found := false
		for _, p := range ml["checked_packages"].([]any) {
			found = found || strings.HasPrefix(p.(string), "github.com/novacorrente/novawh@")
		}
		if r.status != 200 || m["details"] != true || !found || len(ml["violations"].([]any)) != 0 {
			t.Errorf("health with %v: %d %s", h, r.status, r.body)
		}
	}
	// A wrong token is refused, not silently treated as public.
	if r = e.do(t, http.MethodGet, "/health", map[string]string{"X-API-Key": "nope"}, ""); r.status != http.StatusUnauthorized {
		t.Errorf("health with a wrong token: %d %s", r.status, r.body)
	}

	// An ML module in the binary makes the service unhealthy (503); the
	// public body says so without naming it, the token shows it.
	bad := newEnv(t, func(o *api.Options, _ *pgtest.DB) {
		o.ParquetDir, o.APIToken = filepath.Join(dir, "missing"), "tok"
		o.BuildInfo = func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Deps: []*debug.Module{{Path: "github.com/patrikeh/go-deep", Version: "v0.1.0"}}}, true
		}
	})
	r = bad.get(t, "/health")
	m = r.json.(map[string]any)
	if r.status != http.StatusServiceUnavailable || m["status"] != "error" || m["parquet_access"] != "error" ||
		m["ml_dependencies"].(map[string]any)["status"] != "violation" || strings.Contains(string(r.body), "go-deep") || strings.Contains(string(r.body), dir) {
		t.Errorf("public health with an ML module: %d %s", r.status, r.body)
	}
	r = bad.do(t, http.MethodGet, "/health", map[string]string{"X-API-Key": "tok"}, "")
	m = r.json.(map[string]any)
	if r.status != http.StatusServiceUnavailable || !strings.HasPrefix(m["parquet_access"].(string), "error: ") {
		t.Errorf("health with an ML module and the token: %d %s", r.status, r.body)
	}
	if v := m["ml_dependencies"].(map[string]any)["violations"].([]any); len(v) != 1 || !strings.HasPrefix(v[0].(string), "github.com/patrikeh/go-deep") {
		t.Errorf("violations %v", v)
	}

	// No token configured: nobody gets the details.
	open := newEnv(t, nil)
	if r = open.do(t, http.MethodGet, "/health", map[string]string{"X-API-Key": "anything"}, ""); r.status != http.StatusUnauthorized {
		t.Errorf("health details without a configured token: %d %s", r.status, r.body)
	}
}

func TestHealthDatabaseDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.reader.Close() // a closed pool fails like a lost database
	r := e.get(t, "/health")
	m := r.json.(map[string]any)
	if r.status != http.StatusServiceUnavailable || m["status"] != "error" || m["database"] != "error" {
		t.Errorf("health with the database gone: %d %s", r.status, r.body)
	}
	// Read endpoints answer a JSON 5xx, not a hang or a crash.
	r = e.get(t, "/api/v1/items")
	if r.status < 500 {
		t.Errorf("items with the database gone: %d %s", r.status, r.body)
	}
	checkShape(t, "$", r.json, errorShape)
}
