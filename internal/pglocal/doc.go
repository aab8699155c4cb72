// Package pglocal starts and stops a private PostgreSQL server from the
// binaries installed on the machine (pg_config --bindir, else
// /usr/lib/postgresql/*/bin). It listens on 127.0.0.1 on a free port with
// a private socket directory and trust authentication, and runs as the
// `postgres` user when the caller is root (PostgreSQL refuses to run as
// root). The demo (`novawh db start`) and the test helper (pgtest) use it.
package pglocal
