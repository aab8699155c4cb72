// Package realdata locates the company's real files (../shared/data/nova,
// or NOVAWH_REAL_DATA) for tests and benchmarks, which skip cleanly when
// the folder is absent. The files are never copied into the repository.
package realdata
