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
