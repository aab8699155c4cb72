// Package dbconn resolves which database a command talks to (flag, then
// DATABASE_URL, then the standard PG* variables) and opens pgx pools with
// errors that fit on one line and never show a password.
package dbconn
