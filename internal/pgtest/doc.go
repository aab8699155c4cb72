// Package pgtest gives tests a real PostgreSQL database of their own.
//
// A test binary calls Run from TestMain. When TEST_DATABASE_URL is set the
// tests use that server; otherwise Run starts a private server (pglocal)
// for the binary and stops it at the end. Each call to New clones a fresh
// database from a template that was migrated once per migration set, so
// parallel tests never see each other's rows and cost ~50 ms each.
package pgtest
