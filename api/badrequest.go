package api

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// net/http answers a request it cannot parse (an invalid percent-escape in
// the path such as /api/v1/items/A%ZZ, a malformed request line or header,
// headers too large) itself, before any handler runs, with a plain-text
// body written straight to the connection:
//
//	HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request
//
// JSONErrorListener wraps a listener so that such an answer becomes the
// API's JSON error body with the same status. It recognises the exact
// shape net/http writes for these errors (no Date, no Content-Length,
// "Connection: close"), which no response of a handler has, so handler
// responses pass through untouched.
func JSONErrorListener(ln net.Listener) net.Listener { return jsonErrorListener{ln} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c}, nil
}

// recentLimit bounds what a connection remembers of the bytes read since
// its last write: enough for a request line.
const recentLimit = 8 << 10

type jsonErrorConn struct {
	net.Conn
	mu     sync.Mutex
	recent []byte // bytes read since the last write, at most recentLimit
}

func (c *jsonErrorConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if room := recentLimit - len(c.recent); room > 0 {
			c.recent = append(c.recent, p[:min(n, room)]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

// serverError is the shape of net/http's own error answers.
var serverError = regexp.MustCompile(`^HTTP/1\.1 ([45]\d\d) ([^\r\n]*)\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n[^\r\n]*$`)

func (c *jsonErrorConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	recent := c.recent
	c.recent = nil
	c.mu.Unlock()
	m := serverError.FindSubmatch(p)
	if m == nil {
		return c.Conn.Write(p)
	}
	status, _ := strconv.Atoi(string(m[1]))
	e := parseFailure(status, string(m[2]), recent)
	body, _ := jsonBody(errorBody{Error: errorDetail{Code: e.Code, Message: e.Message}})
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), len(body))
	b.Write(body)
	if _, err := c.Conn.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// parseFailure explains a request net/http refused, from its status line
// and the request's first bytes (when they were read after the previous
// response; a pipelined request may not be there).
func parseFailure(status int, text string, request []byte) *apiError {
	line, _, _ := bytes.Cut(request, []byte("\r\n"))
	if f := strings.Fields(string(line)); len(f) == 3 && strings.HasPrefix(f[2], "HTTP/") {
		target := f[1]
		if _, err := url.ParseRequestURI(target); err != nil {
			return &apiError{Status: status, Code: CodeInvalidParameter,
				Message: fmt.Sprintf("the request path %q is not a valid URL: %s (a literal %% is written %%25)", truncate(target, 200), urlErrorDetail(err))}
		}
	}
	reason := strings.TrimPrefix(text, http.StatusText(status))
	reason = strings.TrimPrefix(reason, ": ")
	if reason == "" {
		reason = strings.ToLower(http.StatusText(status))
	}
	return &apiError{Status: status, Code: CodeBadRequest, Message: "the request could not be parsed: " + reason}
}

// checkQuery returns an invalid_parameter error naming the first pair of a
// raw query string that url.ParseQuery refuses (a bad percent-escape, a
// semicolon separator), or nil.
func checkQuery(raw string) *apiError {
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		name, kerr := url.QueryUnescape(key)
		if kerr != nil {
			name = key
		}
		err := kerr
		if err == nil {
			_, err = url.QueryUnescape(value)
		}
		if err == nil && strings.Contains(pair, ";") {
			err = errors.New("a semicolon is not a parameter separator (use &)")
		}
		if err != nil {
			return badRequest(CodeInvalidParameter, "query parameter %q: %s (a literal %% is written %%25)", truncate(name, 80), urlErrorDetail(err))
		}
	}
	return nil
}

// urlErrorDetail says what net/url refused.
func urlErrorDetail(err error) string {
	var ee url.EscapeError
	if errors.As(err, &ee) {
		return fmt.Sprintf("invalid percent-escape %q", string(ee))
	}
	return err.Error()
}
