package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem in a config, at the exact field path an operator edits,
// e.g. "destinations[1].s3.bucket".
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ValidationError lists every problem found in a config, so an operator fixes them all in
// one edit instead of one per run.
type ValidationError struct {
	File   string // empty when the config did not come from a file
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	name := "config"
	if e.File != "" {
		name = "config " + e.File
	}
	if len(e.Errors) == 1 {
		return name + ": " + e.Errors[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d problems:", name, len(e.Errors))
	for _, fe := range e.Errors {
		b.WriteString("\n  " + fe.Error())
	}
	return b.String()
}

// problems collects FieldErrors during validation.
type problems struct {
	list []FieldError
}

func (p *problems) add(path, format string, args ...any) {
	p.list = append(p.list, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// required reports path as missing when value is empty.
func (p *problems) required(path, value string) {
	if value == "" {
		p.add(path, "required")
	}
}

// under reports whether path is at or below one of the prefixes.
func under(path string, prefixes []FieldError) bool {
	for _, fe := range prefixes {
		if path == fe.Path || strings.HasPrefix(path, fe.Path+".") || strings.HasPrefix(path, fe.Path+"[") {
			return true
		}
	}
	return false
}

func field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
