// Package testbin builds the novawh binary once per test process for tests
// that drive it as a subprocess (kill -9, exit codes, crash safety).
package testbin
