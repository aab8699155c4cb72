package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string
	path string
	err  error
)

// Build compiles cmd/novawh (once per process) and returns its path.
func Build() (string, error) {
	once.Do(func() {
		dir, err = os.MkdirTemp("", "novawh-test-bin-")
		if err != nil {
			return
		}
		path = filepath.Join(dir, "novawh")
		cmd := exec.Command("go", "build", "-o", path, "github.com/novacorrente/novawh/cmd/novawh")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if out, berr := cmd.CombinedOutput(); berr != nil {
			err = fmt.Errorf("go build ./cmd/novawh: %w\n%s", berr, out)
		}
	})
	return path, err
}

// Path is Build for a test: it fails tb when the build fails.
func Path(tb testing.TB) string {
	tb.Helper()
	p, err := Build()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Cleanup removes the built binary; call it from TestMain after m.Run.
func Cleanup() {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
