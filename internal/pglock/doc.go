// Package pglock is novawh's one advisory-lock helper and its one key scheme.
//
// Every lock is named: the key is hashtextextended('novawh/' || name, 0), so
// the names below are the whole list of locks novawh takes and two parts of
// the program can never pick colliding numbers. Session locks (Acquire)
// serialise long jobs (the nightly run, a refresh, an export to one target)
// on a dedicated connection; transaction locks (Xact, TryXact) serialise the
// work of one input and are released by its commit or rollback.
//
// PostgreSQL releases both kinds when the session ends, so a killed process
// never leaves a lock behind.
package pglock
