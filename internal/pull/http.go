package pull

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"
)

// response is one fetched HTTP response, body fully read.
type response struct {
	URL         string
	Status      int
	ContentType string
	Body        []byte
	FetchedAt   time.Time
}

// fetcher does GET requests with timeout, retries, rate limit and User-Agent.
type fetcher struct {
	client  *retryablehttp.Client
	maxBody int64
}

func newFetcher(cfg Config, log *slog.Logger) *fetcher {
	tr := cleanhttp.DefaultPooledTransport()
	hc := &http.Client{
		Timeout:   cfg.Timeout,
		Transport: &politeTransport{base: tr, ua: cfg.UserAgent, every: rate.Limit(cfg.RatePerSecond), burst: cfg.RateBurst, limiters: map[string]*rate.Limiter{}},
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	rc.RetryMax = cfg.Attempts - 1
	rc.RetryWaitMin = cfg.BackoffMin
	rc.RetryWaitMax = cfg.BackoffMax
	rc.Logger = retryLogger{log}
	rc.CheckRetry = retryablehttp.DefaultRetryPolicy
	rc.Backoff = backoff(cfg.RetryAfterMax)
	// Give the last response back (status checked by get) instead of a
	// generic "giving up" error that hides the status.
	rc.ErrorHandler = func(resp *http.Response, err error, n int) (*http.Response, error) {
		if err != nil {
			return resp, fmt.Errorf("giving up after %d attempt(s): %w", n, err)
		}
		return resp, nil
	}
	return &fetcher{client: rc, maxBody: cfg.MaxBodyBytes}
}

// backoff waits the server's Retry-After (seconds or HTTP date, capped)
// after 429 and 503, else min*2^attempt with full jitter, capped at max.
func backoff(retryAfterMax time.Duration) retryablehttp.Backoff {
	return func(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				return min(d, retryAfterMax)
			}
		}
		ceil := minWait << min(attempt, 30)
		if ceil <= 0 || ceil > maxWait {
			ceil = maxWait
		}
		// Full jitter between half the ceiling and the ceiling.
		half := ceil / 2
		return half + time.Duration(rand.Int64N(int64(half)+1))
	}
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// get fetches url. A response other than 200 is an error naming the status
// and the start of the body.
func (f *fetcher) get(ctx context.Context, url string) (*response, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	var body []byte
	// The body is read inside the retry loop, so a connection that breaks
	// or hangs while sending the body is retried like any network error.
	req.SetResponseHandler(func(resp *http.Response) error {
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		if int64(len(b)) > f.maxBody {
			return fmt.Errorf("body larger than max_body_bytes (%d)", f.maxBody)
		}
		body = b
		return nil
	})
	resp, err := f.client.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if body == nil {
		// The handler did not run (the last attempt was retryable): drain.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		body = b
	}
	r := &response{URL: url, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body, FetchedAt: time.Now().UTC()}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("GET %s: HTTP %s: %s", url, resp.Status, snippet(body))
	}
	return r, nil
}

// checkJSON fails on bodies that cannot be the JSON an API sent: empty,
// HTML error pages served with 200, other content types.
func checkJSON(r *response) error {
	b := bytes.TrimLeft(bytes.TrimPrefix(r.Body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(b) == 0 {
		return fmt.Errorf("GET %s: empty body (HTTP %d)", r.URL, r.Status)
	}
	mt, _, _ := mime.ParseMediaType(r.ContentType)
	if b[0] == '<' || mt == "text/html" || mt == "application/xhtml+xml" {
		return fmt.Errorf("GET %s: HTTP %d returned an HTML/XML page (Content-Type %q), not JSON: %s", r.URL, r.Status, r.ContentType, snippet(r.Body))
	}
	if b[0] != '[' && b[0] != '{' {
		return fmt.Errorf("GET %s: body is not JSON (Content-Type %q): %s", r.URL, r.ContentType, snippet(r.Body))
	}
	return nil
}

// snippet is the start of a body for error messages: an HTML title when
// there is one, else the first 200 bytes on one line.
func snippet(b []byte) string {
	s := string(b)
	if i := strings.Index(strings.ToLower(s), "<title>"); i >= 0 {
		rest := s[i+7:]
		if j := strings.Index(strings.ToLower(rest), "</title>"); j >= 0 {
			return "title " + strconv.Quote(strings.TrimSpace(rest[:j]))
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return strconv.Quote(s)
}

// politeTransport adds the User-Agent and waits for the host's rate limiter
// before every attempt.
type politeTransport struct {
	base     http.RoundTripper
	ua       string
	every    rate.Limit
	burst    int
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func (t *politeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	l, ok := t.limiters[req.URL.Host]
	if !ok {
		l = rate.NewLimiter(t.every, t.burst)
		t.limiters[req.URL.Host] = l
	}
	t.mu.Unlock()
	if err := l.Wait(req.Context()); err != nil {
		return nil, fmt.Errorf("rate limit for %s: %w", req.URL.Host, err)
	}
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.ua)
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "application/json, text/csv;q=0.9, */*;q=0.5")
	}
	return t.base.RoundTrip(r)
}

// retryLogger adapts slog to retryablehttp (its per-attempt "request
// failed" is a warning here: the final outcome is reported by the window).
type retryLogger struct{ log *slog.Logger }

func (l retryLogger) Error(msg string, kv ...any) { l.log.Warn("http: "+msg, kv...) }
func (l retryLogger) Info(msg string, kv ...any)  { l.log.Info("http: "+msg, kv...) }
func (l retryLogger) Debug(msg string, kv ...any) { l.log.Debug("http: "+msg, kv...) }
func (l retryLogger) Warn(msg string, kv ...any)  { l.log.Warn("http: "+msg, kv...) }
