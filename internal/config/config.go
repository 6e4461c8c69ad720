// Package config reads lifeboat's YAML configuration: schema, defaults, validation with
// errors that name the exact field, and secrets that are read from files or the
// environment, never written inline.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"
)

// Load reads and parses the config file at path (see Parse).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w; pass the path of a lifeboat YAML config", err)
	}
	c, err := Parse(data)
	var ve *ValidationError
	if errors.As(err, &ve) {
		ve.File = path
	} else if err != nil {
		err = fmt.Errorf("config %s: %w", path, err)
	}
	return c, err
}

// Parse decodes a YAML config strictly (unknown or misspelled fields are errors), applies
// the defaults (SetDefaults) and validates it (Validate). Problems with the document's
// content are returned together as one *ValidationError; a document that is not YAML at
// all gives a plain error with the line number.
func Parse(data []byte) (*Config, error) {
	// YAMLToJSONStrict rejects duplicate keys, which YAML forbids and which would
	// otherwise silently let the later value win.
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("not a valid YAML document: %w", err)
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("not a valid YAML document: %w", err)
	}
	if tree == nil {
		tree = map[string]any{} // an empty file: let validation say what is missing
	}
	var shape shapeChecker
	var ve *ValidationError
	if tree, _ = shape.value(tree, reflect.TypeFor[Config](), ""); tree == nil {
		return nil, &ValidationError{Errors: shape.list}
	}
	js, err = json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("re-encode config: %w", err)
	}
	var c Config
	dec = json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		// The shape check admits only what decodes; reaching this is a lifeboat bug.
		return nil, fmt.Errorf("decode config (please report this as a bug): %w", err)
	}
	c.SetDefaults()
	all := shape.list
	if err := c.Validate(); errors.As(err, &ve) {
		// A field the shape check already rejected was dropped; whatever validation
		// then says about it (e.g. "required") would only repeat the problem.
		for _, fe := range ve.Errors {
			if !under(fe.Path, shape.list) {
				all = append(all, fe)
			}
		}
	}
	if len(all) > 0 {
		return nil, &ValidationError{Errors: all}
	}
	return &c, nil
}

// Source returns the source called name.
func (c *Config) Source(name string) (*Source, error) {
	var names []string
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], nil
		}
		names = append(names, c.Sources[i].Name)
	}
	return nil, fmt.Errorf("no source %q in the config (configured: %s)", name, orNone(names))
}

// Destination returns the destination called name.
func (c *Config) Destination(name string) (*Destination, error) {
	var names []string
	for i := range c.Destinations {
		if c.Destinations[i].Name == name {
			return &c.Destinations[i], nil
		}
		names = append(names, c.Destinations[i].Name)
	}
	return nil, fmt.Errorf("no destination %q in the config (configured: %s)", name, orNone(names))
}

// DestinationsFor returns the destinations the named source is backed up to, in the
// order the source lists them, or every destination in config order when it lists none.
func (c *Config) DestinationsFor(source string) ([]*Destination, error) {
	s, err := c.Source(source)
	if err != nil {
		return nil, err
	}
	var out []*Destination
	if len(s.Destinations) == 0 {
		for i := range c.Destinations {
			out = append(out, &c.Destinations[i])
		}
		return out, nil
	}
	for _, name := range s.Destinations {
		d, err := c.Destination(name)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", source, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
