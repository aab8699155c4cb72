package pgtest

import "net/url"

// withDatabase returns u with its database (path) replaced by db.
func withDatabase(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + db
	return p.String()
}

// redact hides a password in a URL for error messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable database URL)"
	}
	return p.Redacted()
}
