// Package cli holds the cobra commands of novawh. Commands parse flags,
// build their dependencies (logger, pool, registry) and call the packages
// that do the work; no business logic lives here. Each command registers
// itself from its own file with register, so adding one touches no other.
package cli
