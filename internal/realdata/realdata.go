package realdata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the real-data folder, or "" when it is absent.
func Dir() string {
	if d := os.Getenv("NOVAWH_REAL_DATA"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		return ""
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// internal/realdata/realdata.go -> repository root -> ../shared/data/nova
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	d := filepath.Join(root, "..", "shared", "data", "nova")
	if st, err := os.Stat(filepath.Join(d, "MANIFEST.md")); err == nil && !st.IsDir() {
		return filepath.Clean(d)
	}
	return ""
}

// Path joins parts under the real-data folder and skips tb when the folder
// or the file is absent.
func Path(tb testing.TB, parts ...string) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		tb.Skip("real data folder ../shared/data/nova absent (set NOVAWH_REAL_DATA to use another)")
	}
	p := filepath.Join(append([]string{d}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("real data file absent: %s", p)
	}
	return p
}
