package cli

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/testbin"
)

// binary is the novawh binary built for subprocess tests (behaviour that
// depends on the working directory or the environment).
func binary(t *testing.T) string {
	t.Helper()
	return testbin.Path(t)
}

// runBinary runs bin in dir with exactly env and returns its exit code,
// stdout and stderr.
func runBinary(t *testing.T, bin, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("novawh %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// cleanEnv is the test process's environment without anything that
// chooses a database, a log file or a local server.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "NOVAWH_") || strings.HasPrefix(k, "TEST_DATABASE") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
