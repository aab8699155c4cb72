// Package migrate applies the embedded golang-migrate files of the
// migrations folder to a PostgreSQL database through the pgx/v5 driver.
// It is what `novawh migrate` runs and what test templates are built with.
package migrate
