// Package data embeds the schema registry so that the binary validates
// rows without reading the checkout; --registry overrides it with a file.
package data

import _ "embed"

// SchemaRegistry is data/schema_registry.json.
//
//go:embed schema_registry.json
var SchemaRegistry []byte
