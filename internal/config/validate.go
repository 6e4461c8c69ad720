package config

import (
	"net/url"
	"slices"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// Validate checks the whole config and returns a *ValidationError listing every problem,
// or nil. It expects SetDefaults to have run (Parse does both).
func (c *Config) Validate() error {
	var p problems
	if len(c.Sources) == 0 {
		p.add("sources", "at least one source is required")
	}
	if len(c.Destinations) == 0 {
		p.add("destinations", "at least one destination is required")
	}
	var destNames []string
	for i := range c.Destinations {
		destNames = append(destNames, c.Destinations[i].Name)
	}
	seen := map[string]bool{}
	for i := range c.Sources {
		path := index("sources", i)
		s := &c.Sources[i]
		checkName(&p, path, s.Name, seen, "source")
		validateSource(&p, path, s, destNames)
	}
	seen = map[string]bool{}
	for i := range c.Destinations {
		path := index("destinations", i)
		d := &c.Destinations[i]
		checkName(&p, path, d.Name, seen, "destination")
		validateDestination(&p, path, d)
	}
	validateEncryption(&p, "encryption", c.Encryption)
	validateSigning(&p, "signing", c.Signing)
	validateServer(&p, "server", &c.Server)
	if c.Pushgateway != "" {
		checkURL(&p, "pushgateway", c.Pushgateway)
	}
	validateNotifications(&p, "notifications", c.Notifications)
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Errors: p.list}
}

func checkName(p *problems, path, name string, seen map[string]bool, what string) {
	switch {
	case name == "":
		p.add(field(path, "name"), "required")
	case catalog.ValidName(name) != nil:
		p.add(field(path, "name"), "%s", catalog.ValidName(name))
	case seen[name]:
		p.add(field(path, "name"), "duplicate %s name %q", what, name)
	}
	seen[name] = true
}

// checkKind reports a kind outside allowed and a kind-specific block that does not match
// the kind; blocks maps each kind to whether its block is present.
func checkKind(p *problems, path, kind string, allowed []string, blocks map[string]bool) {
	switch {
	case kind == "":
		p.add(field(path, "kind"), "required; one of %s", strings.Join(allowed, ", "))
	case !slices.Contains(allowed, kind):
		p.add(field(path, "kind"), "must be one of %s (got %q)", strings.Join(allowed, ", "), kind)
	case !blocks[kind]:
		p.add(field(path, kind), "required for kind %s", kind)
	}
	for _, k := range allowed {
		if blocks[k] && k != kind && kind != "" {
			p.add(field(path, k), "not allowed for kind %s", kind)
		}
	}
}

// checkURL accepts an absolute http(s) URL.
func checkURL(p *problems, path, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		// url.Parse's error and the raw value may hold credentials: never echo them.
		p.add(path, "must be an http:// or https:// URL with a host")
	case u.User != nil:
		p.add(path, "must not carry credentials (user:password@): secrets never go in the config")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.add(path, "must be an http:// or https:// URL with a host (got %q)", s)
	}
}

// oneOf reports value when it is not among allowed.
func oneOf(p *problems, path, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		p.add(path, "must be one of %s (got %q)", strings.Join(allowed, ", "), value)
	}
}

// bothOrNeither reports a pair of settings of which only one is given.
func bothOrNeither(p *problems, path, aName string, aSet bool, bName string, bSet bool) {
	switch {
	case aSet && !bSet:
		p.add(field(path, bName), "required when %s is set", aName)
	case bSet && !aSet:
		p.add(field(path, aName), "required when %s is set", bName)
	}
}

func between(p *problems, path string, v, lo, hi int, unit string) {
	if v < lo || v > hi {
		p.add(path, "must be between %d and %d%s (got %d)", lo, hi, unit, v)
	}
}
