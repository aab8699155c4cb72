package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// EnvWebhook is the environment variable read when no webhook flag is given.
const EnvWebhook = "NOVAWH_ALERT_WEBHOOK"

// Message is the JSON body: Slack-compatible (only "text" is required by
// Slack, Mattermost, Rocket.Chat, Google Chat and Teams workflows).
type Message struct {
	Text string `json:"text"`
}

// Sender posts messages to one webhook.
type Sender struct {
	URL      string
	Client   *http.Client
	Attempts int           // total tries, default 4
	Backoff  time.Duration // first pause between tries, doubled each time, default 1s
	Log      *slog.Logger
}

// New returns a Sender for webhook (which may be empty: Send then does nothing).
func New(webhook string, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{URL: webhook, Client: &http.Client{Timeout: 10 * time.Second}, Attempts: 4, Backoff: time.Second, Log: log}
}

// Enabled reports whether a webhook is configured.
func (s *Sender) Enabled() bool { return s != nil && s.URL != "" }

// Validate checks the webhook is an absolute http(s) URL.
func Validate(webhook string) error {
	if webhook == "" {
		return nil
	}
	u, err := url.Parse(webhook)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("alert webhook must be an http(s) URL, not %q", Redact(webhook))
	}
	return nil
}

// Send posts text (redacted) and retries transient failures. The error
// names the webhook host only: webhook paths are secrets (Slack tokens).
func (s *Sender) Send(ctx context.Context, text string) error {
	if !s.Enabled() {
		return nil
	}
	body, err := json.Marshal(Message{Text: Redact(text)})
	if err != nil {
		return fmt.Errorf("alert: encode: %w", err)
	}
	host := hostOf(s.URL)
	attempts := max(s.Attempts, 1)
	pause := s.Backoff
	if pause <= 0 {
		pause = time.Second
	}
	var last error
	for i := 1; i <= attempts; i++ {
		retry, err := s.post(ctx, body)
		if err == nil {
			s.Log.Info("alert sent", "webhook_host", host, "attempt", i)
			return nil
		}
		last = err
		if !retry || i == attempts {
			break
		}
		s.Log.Warn("alert failed, retrying", "webhook_host", host, "attempt", i, "err", err, "pause_ms", pause.Milliseconds())
		select {
		case <-ctx.Done():
			return fmt.Errorf("alert to %s: %w (last error: %v)", host, ctx.Err(), last)
		case <-time.After(pause):
		}
		pause *= 2
	}
	return fmt.Errorf("alert to %s failed after %d attempt(s): %w", host, attempts, last)
}

// post sends one request; retry says whether another attempt may succeed.
func (s *Sender) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("bad webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "novawh-alert")
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// Do not print err as is: *url.Error embeds the full webhook URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ctx.Err() == nil, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout, err
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(webhook)"
	}
	return u.Scheme + "://" + u.Host
}

var (
	// scheme://user:password@host -> scheme://user:xxxxx@host
	urlCreds = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s/:@"']+):[^\s@"']*@`)
	// password=... in key=value connection strings and query strings
	kvPassword = regexp.MustCompile(`(?i)\b(password|passwd|pwd|secret|token|access_key|secret_key|sslpassword)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,]+)`)
)

// Redact masks credentials in free text: passwords in URLs
// (postgres://u:pw@h -> postgres://u:xxxxx@h) and key=value secrets.
func Redact(s string) string {
	s = urlCreds.ReplaceAllString(s, "${1}:xxxxx@")
	s = kvPassword.ReplaceAllString(s, "${1}${2}xxxxx")
	return s
}

// FormatDuration renders d with a sensible precision for messages.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
