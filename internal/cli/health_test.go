package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// novawh health: exit 0 only when the API answers 200 with ok or degraded.
func TestHealthCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		code   int
		body   string
		exit   int
		stdout string
	}{
		{"ok", 200, `{"status":"ok","database":"ok"}`, ExitOK, `status "ok"`},
		{"degraded", 200, `{"status":"degraded","database":"ok"}`, ExitOK, `status "degraded"`},
		{"error", 503, `{"status":"error","database":"error: connection refused"}`, ExitFailed, "HTTP 503"},
		{"not the API", 200, `<html>hello</html>`, ExitFailed, `status ""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/health" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.code)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			code, out, errOut := run("health", "--url", srv.URL+"/health")
			if code != tc.exit || !strings.Contains(out, tc.stdout) {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", code, tc.exit, out, errOut)
			}
		})
	}
	// Nothing listening: exit 1 with one line.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/health"
	srv.Close()
	if code, _, errOut := run("health", "--url", url); code != ExitFailed || !strings.HasPrefix(errOut, "novawh: error: health:") {
		t.Fatalf("no server: exit %d, %q", code, errOut)
	}
}
