// Package registry reads data/schema_registry.json, the single source of
// truth for every warehouse table's columns, types, nullability, keys,
// allowed ranges and ML metadata, and compares it with the live catalog
// of a migrated database (`novawh registry check`).
package registry
