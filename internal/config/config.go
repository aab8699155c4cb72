package config

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

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
	raw      []byte
}

// sectionNames are the top-level sections besides version.
var sectionNames = []string{"sources", "pull", "run", "serve", "export"}

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
	f := &File{Path: name, sections: map[string]*yaml.Node{}, raw: b}
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
		default:
			if !slices.Contains(sectionNames, k.Value) {
				return nil, fmt.Errorf("%s:%d:%d: unknown section %q (known: version, %s)", name, k.Line, k.Column, k.Value, strings.Join(sectionNames, ", "))
			}
			f.sections[k.Value] = v
		}
	}
	return f, nil
}

// Has reports whether the section is present.
func (f *File) Has(section string) bool { return f.sections[section] != nil }

// Decode decodes section into v, rejecting unknown keys; errors carry the
// file's own line numbers. A missing section leaves v untouched.
func (f *File) Decode(section string, v any) error {
	if f.sections[section] == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: Decode needs a non-nil pointer, not %T", v)
	}
	// Decode the whole document into a struct whose only typed field is the
	// wanted section (the others are kept as nodes): strict decoding then
	// applies to that section and positions stay those of the file.
	fields := make([]reflect.StructField, 0, len(sectionNames)+1)
	for _, name := range append([]string{"version"}, sectionNames...) {
		typ := reflect.TypeFor[yaml.Node]()
		if name == section {
			typ = rv.Type()
		}
		fields = append(fields, reflect.StructField{
			Name: "F_" + name, Type: typ, Tag: reflect.StructTag(`yaml:"` + name + `"`),
		})
	}
	holder := reflect.New(reflect.StructOf(fields))
	holder.Elem().FieldByName("F_" + section).Set(rv)
	dec := yaml.NewDecoder(bytes.NewReader(f.raw))
	dec.KnownFields(true)
	if err := dec.Decode(holder.Interface()); err != nil {
		return fmt.Errorf("%s: section %s: %w", f.Path, section, err)
	}
	return nil
}
