package api_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPublicPackagesStayLean: a backend importing the public packages must
// not pull the CLI, S3 or Parquet libraries, nor any internal code that
// does (checked on the real import graph, go list -deps).
func TestPublicPackagesStayLean(t *testing.T) {
	t.Parallel()
	forbidden := []string{
		"github.com/spf13/cobra",
		"github.com/minio/minio-go",
		"github.com/parquet-go/parquet-go",
		"github.com/novacorrente/novawh/internal/cli",
		"github.com/novacorrente/novawh/internal/export",
		"github.com/novacorrente/novawh/internal/load",
		"github.com/novacorrente/novawh/internal/run",
	}
	for _, pkg := range []string{"github.com/novacorrente/novawh/api", "github.com/novacorrente/novawh/store", "github.com/novacorrente/novawh/migrations"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 5 {
			t.Fatalf("go list -deps %s listed only %q", pkg, deps)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
