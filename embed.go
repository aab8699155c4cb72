// Package novawh embeds the project's default configuration file so that
// the binary runs outside a checkout; see internal/config.
package novawh

import _ "embed"

// DefaultConfig is novawh.yaml as shipped.
//
//go:embed novawh.yaml
var DefaultConfig []byte
