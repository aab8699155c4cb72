package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTypeScriptClient: the README's claim that a TypeScript client can be
// generated from the spec, run for real (openapi-typescript from npm).
// Skipped when npx is not installed or cannot fetch the package, except
// under CI=true (.ci/run installs npm), where that fails.
func TestTypeScriptClient(t *testing.T) {
	t.Parallel()
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	if _, err := exec.LookPath("npx"); err != nil {
		skip("npx not installed: cannot run openapi-typescript (apt-get install -y npm)")
	}
	out := filepath.Join(t.TempDir(), "dash.d.ts")
	cmd := exec.Command("npx", "--yes", "openapi-typescript@7.13.0", "openapi.yaml", "-o", out)
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		skip("openapi-typescript could not run here (no npm registry?): %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"/api/v1/items/{id}/demand"`, "DemandResponse", "total_30d: number", "has_forecast: boolean"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("generated client lacks %q", want)
		}
	}
}
