// Package config reads novawh.yaml. The file has one top-level section per
// area (sources, pull, run, serve, export); each package decodes its own
// section with Decode, strictly, and errors name the file, line and column.
package config
