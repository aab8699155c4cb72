package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TagFaultInject builds the binary with the fault-injection hooks of
// internal/run/fault (fault tests only; production builds have none).
const TagFaultInject = "faultinject"

type build struct {
	once sync.Once
	path string
	err  error
}

var (
	mu     sync.Mutex
	dir    string
	dirErr error
	builds = map[string]*build{}
)

// Build compiles cmd/novawh without build tags (once per process) and
// returns its path.
func Build() (string, error) { return BuildTags("") }

// BuildTags compiles cmd/novawh with the comma-separated build tags (once
// per process and tag set) and returns its path.
func BuildTags(tags string) (string, error) {
	mu.Lock()
	if dir == "" && dirErr == nil {
		dir, dirErr = os.MkdirTemp("", "novawh-test-bin-")
	}
	b := builds[tags]
	if b == nil {
		b = &build{}
		builds[tags] = b
	}
	d, derr := dir, dirErr
	mu.Unlock()
	if derr != nil {
		return "", derr
	}
	b.once.Do(func() {
		name := "novawh"
		if tags != "" {
			name += "-" + tags
		}
		b.path = filepath.Join(d, name)
		args := []string{"build", "-o", b.path}
		if tags != "" {
			args = append(args, "-tags", tags)
		}
		cmd := exec.Command("go", append(args, "github.com/novacorrente/novawh/cmd/novawh")...)
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go %v: %w\n%s", args, err, out)
		}
	})
	return b.path, b.err
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

// PathTags is BuildTags for a test: it fails tb when the build fails.
func PathTags(tb testing.TB, tags string) string {
	tb.Helper()
	p, err := BuildTags(tags)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Cleanup removes the built binaries; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
