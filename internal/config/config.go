package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/novacorrente/novawh"
)

// DefaultPath is used when --config is not given.
const DefaultPath = "novawh.yaml"

// File is a parsed configuration file.
type File struct {
	Path     string
	Version  int
	sections map[string]*yaml.Node
}

// Load reads path; "" reads ./novawh.yaml when present, else the copy built
// into the binary.
func Load(path string) (*File, error) {
	if path == "" {
		if _, err := os.Stat(DefaultPath); err == nil {
			path = DefaultPath
		} else {
			return Parse(novawh.DefaultConfig, "novawh.yaml (built in)")
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(b, path)
}

// Parse reads a configuration document; name is used in errors.
func Parse(b []byte, name string) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &File{Path: name, sections: map[string]*yaml.Node{}}
	if len(doc.Content) == 0 {
		return f, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d:%d: top level must be a mapping", name, top.Line, top.Column)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "version":
			if err := v.Decode(&f.Version); err != nil {
				return nil, fmt.Errorf("%s:%d:%d: version: %w", name, v.Line, v.Column, err)
			}
		case "sources", "pull", "run", "serve", "export":
			f.sections[k.Value] = v
		default:
			return nil, fmt.Errorf("%s:%d:%d: unknown section %q (known: version, sources, pull, run, serve, export)", name, k.Line, k.Column, k.Value)
		}
	}
	return f, nil
}

// Has reports whether the section is present.
func (f *File) Has(section string) bool { return f.sections[section] != nil }

// Decode decodes section into v, rejecting unknown keys. A missing section
// leaves v untouched.
func (f *File) Decode(section string, v any) error {
	n := f.sections[section]
	if n == nil {
		return nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(n); err != nil {
		return fmt.Errorf("%s: section %s: %w", f.Path, section, err)
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			// Line numbers of the re-encoded section are offset from the file:
			// report them relative to the section's start.
			return fmt.Errorf("%s: section %q (starting at line %d): %s", f.Path, section, n.Line, te.Error())
		}
		return fmt.Errorf("%s: section %q (line %d): %w", f.Path, section, n.Line, err)
	}
	return nil
}
