// Package serve is the `novawh serve` program around the dashboards' HTTP
// API: its configuration (the serve: section of novawh.yaml, Config), the
// refresh-source policy of POST /api/v1/data/refresh (which nightly-job
// options each source runs, NightlyRefresher), and the listener with its
// graceful shutdown (Run, Serve).
//
// The API itself is the public package github.com/novacorrente/novawh/api
// (an embeddable http.Handler); this package only wires it for the binary.
// See docs/api.md.
package serve
