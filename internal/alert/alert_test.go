package alert

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type hook struct {
	mu     sync.Mutex
	codes  []int // answer per attempt; the last repeats
	bodies []string
	ctypes []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	n := len(h.bodies)
	h.bodies = append(h.bodies, string(b))
	h.ctypes = append(h.ctypes, r.Header.Get("Content-Type"))
	code := h.codes[min(n, len(h.codes)-1)]
	h.mu.Unlock()
	if code == 429 {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, http.StatusText(code))
}

func TestSendRetries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		codes    []int
		attempts int
		wantErr  string
		wantHits int
	}{
		{"ok first time", []int{200}, 4, "", 1},
		{"5xx then ok", []int{500, 503, 204}, 4, "", 3},
		{"429 then ok", []int{429, 200}, 4, "", 2},
		{"4xx is final", []int{400, 200}, 4, "HTTP 400", 1},
		{"gives up", []int{502}, 3, "failed after 3 attempt(s): HTTP 502", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &hook{codes: tc.codes}
			srv := httptest.NewServer(h)
			defer srv.Close()
			s := New(srv.URL+"/services/T000/B000/SECRETTOKEN", nil)
			s.Attempts, s.Backoff = tc.attempts, time.Millisecond
			err := s.Send(context.Background(), "run 7 failed")
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Send: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Send error = %v, want it to contain %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETTOKEN") {
				t.Fatalf("error leaks the webhook path: %v", err)
			}
			if len(h.bodies) != tc.wantHits {
				t.Fatalf("webhook hit %d times, want %d", len(h.bodies), tc.wantHits)
			}
			var m Message
			if err := json.Unmarshal([]byte(h.bodies[0]), &m); err != nil || m.Text != "run 7 failed" {
				t.Fatalf("body %q: %v", h.bodies[0], err)
			}
			if h.ctypes[0] != "application/json" {
				t.Fatalf("content type %q", h.ctypes[0])
			}
		})
	}
}

func TestSendUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/hook/SECRETTOKEN"
	srv.Close() // nothing listens any more
	s := New(u, nil)
	s.Attempts, s.Backoff = 2, time.Millisecond
	err := s.Send(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "failed after 2 attempt(s)") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "SECRETTOKEN") {
		t.Fatalf("error leaks the webhook path: %v", err)
	}
}

func TestDisabled(t *testing.T) {
	t.Parallel()
	var s *Sender
	if s.Enabled() || New("", nil).Enabled() {
		t.Fatal("a sender without URL must be disabled")
	}
	if err := New("", nil).Send(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"connect to postgres://novawh:s3cr3t@db:5432/wh failed", "connect to postgres://novawh:xxxxx@db:5432/wh failed"},
		{"host=db user=x password=hunter2 dbname=wh", "host=db user=x password=xxxxx dbname=wh"},
		{"s3://bucket/prefix?secret_key=ABC&x=1", "s3://bucket/prefix?secret_key=xxxxx&x=1"},
		{"postgres://postgres@127.0.0.1:5432/db", "postgres://postgres@127.0.0.1:5432/db"},
		{"AWS token: abc", "AWS token: xxxxx"},
		{"plain error on line 3", "plain error on line 3"},
	}
	for _, tc := range cases {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "https://hooks.slack.com/services/a/b/c", "http://127.0.0.1:9/x"} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"hooks.slack.com/x", "ftp://x/y", "http://"} {
		if err := Validate(bad); err == nil {
			t.Errorf("Validate(%q) accepted", bad)
		}
	}
}
