package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

func validateGCS(p *problems, path string, g *GCSDest) {
	if g.Bucket == "" {
		p.add(field(path, "bucket"), "required")
	} else if msg := gcsBucketProblem(g.Bucket); msg != "" {
		p.add(field(path, "bucket"), "%q is not a valid bucket name: %s", g.Bucket, msg)
	}
	plain := false
	if g.Endpoint != "" {
		msg := ""
		plain, msg = gcsEndpointProblem(g.Endpoint)
		if msg != "" {
			p.add(field(path, "endpoint"), "%s", msg)
		}
	}
	if plain && g.CredentialsFile != "" {
		// An http:// endpoint is an emulator, and a bearer token sent in clear text could be
		// replayed against the real bucket by anyone on the path.
		p.add(field(path, "credentialsFile"), "not used with a plain http:// endpoint (an emulator gets no "+
			"credentials); use an https:// endpoint or drop credentialsFile")
	}
	// GCS chunks are multiples of 256 KiB; whole MiB always are. The upper bound is memory.
	between(p, field(path, "chunkSizeMiB"), g.ChunkSizeMiB, 1, 1024, " MiB")
}

// gcsBucketProblem checks Google's bucket naming rules, so a typo is named by the config
// check instead of by a 400 from the first upload.
func gcsBucketProblem(b string) string {
	max := 63
	if strings.Contains(b, ".") {
		max = 222 // dotted (domain) names; each dot-separated part is still at most 63
	}
	switch {
	case len(b) < 3 || len(b) > max:
		return "GCS bucket names are 3 to 63 characters (222 with dots)"
	case strings.HasPrefix(b, "goog") || strings.Contains(b, "google") || strings.Contains(b, "g00gle"):
		return `GCS bucket names cannot start with "goog" or contain "google"`
	case net.ParseIP(b) != nil:
		return "GCS bucket names cannot be IP addresses"
	}
	for _, part := range strings.Split(b, ".") {
		if part == "" || len(part) > 63 {
			return "each dot-separated part of a GCS bucket name is 1 to 63 characters"
		}
	}
	for i, r := range b {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return "GCS bucket names use only lower-case letters, digits, '-', '_' and '.'"
		}
		edge := i == 0 || i == len(b)-1
		if edge && !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "GCS bucket names start and end with a letter or digit"
		}
	}
	return ""
}

// gcsEndpointProblem checks an endpoint override: an http(s) URL of a host, optionally
// with the JSON API's /storage/v1 path. plain reports an http:// (emulator) endpoint.
func gcsEndpointProblem(e string) (plain bool, problem string) {
	u, err := url.Parse(e)
	switch {
	// First, and without repeating the endpoint: user-info may hold a secret.
	case err == nil && u.User != nil || strings.Contains(e, "@"):
		return false, "must not contain credentials (user:password@); set credentialsFile instead"
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return false, "must be an https://host[:port] URL (http://host:port for an emulator) (got " + strconv.Quote(e) + ")"
	case u.RawQuery != "" || u.Fragment != "":
		return false, "must not have a query or fragment (got " + strconv.Quote(e) + ")"
	}
	if path := strings.TrimSuffix(u.Path, "/"); path != "" && path != "/storage/v1" {
		return false, "must be https://host[:port], optionally followed by /storage/v1 (got " + strconv.Quote(e) + "); put a key prefix in prefix"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false, "port must be a number between 1 and 65535 (got " + strconv.Quote(port) + ")"
		}
	}
	return u.Scheme == "http", ""
}
