package config

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

func validateSource(p *problems, path string, s *Source, destNames []string) {
	checkKind(p, path, s.Kind, []string{KindVault, KindPostgres, KindKubernetes},
		map[string]bool{KindVault: s.Vault != nil, KindPostgres: s.Postgres != nil, KindKubernetes: s.Kubernetes != nil})
	if s.Schedule != "" {
		if _, err := cron.ParseStandard(s.Schedule); err != nil {
			p.add(field(path, "schedule"), "invalid cron expression %q (%v); use 5 fields, minute hour "+
				"day-of-month month day-of-week, like \"0 * * * *\", or @hourly, @daily, @every 6h", s.Schedule, err)
		}
	}
	if f := s.SuspiciousShrink; f != nil && (*f < 0 || *f >= 1) {
		p.add(field(path, "suspiciousShrink"), "must be a fraction from 0 (off) to below 1, e.g. 0.5 for \"half the last good backup\" (got %g)", *f)
	}
	if s.Jitter.Duration < 0 {
		p.add(field(path, "jitter"), "must not be negative (got %s)", s.Jitter)
	}
	if d := s.StallTimeout.Duration; d != 0 && d < time.Second {
		p.add(field(path, "stallTimeout"), "must be at least 1s (got %s); leave it out for the default 5m", s.StallTimeout)
	}
	var seen []string
	for i, name := range s.Destinations {
		dp := index(field(path, "destinations"), i)
		switch {
		case !slices.Contains(destNames, name):
			p.add(dp, "unknown destination %q (configured: %s)", name, orNone(destNames))
		case slices.Contains(seen, name):
			p.add(dp, "destination %q is listed twice", name)
		}
		seen = append(seen, name)
	}
	if s.Vault != nil && s.Kind == KindVault {
		validateVault(p, field(path, "vault"), s.Vault)
	}
	if s.Postgres != nil && s.Kind == KindPostgres {
		validatePostgres(p, field(path, "postgres"), s.Postgres)
	}
	if s.Kubernetes != nil && s.Kind == KindKubernetes {
		validateKubernetes(p, field(path, "kubernetes"), s.Kubernetes)
	}
	if s.Restore != nil {
		validateRestoreHooks(p, field(path, "restore"), s.Restore)
	}
	if s.Drill != nil {
		validateDrill(p, field(path, "drill"), s)
	}
}

func validateDrill(p *problems, path string, s *Source) {
	d := s.Drill
	if d.Schedule != "" {
		if _, err := cron.ParseStandard(d.Schedule); err != nil {
			p.add(field(path, "schedule"), "invalid cron expression %q (%v)", d.Schedule, err)
		}
	}
	switch {
	case s.Kind == KindVault && d.Postgres != nil:
		p.add(field(path, "postgres"), "not allowed for a vault source")
	case s.Kind == KindPostgres && d.Vault != nil:
		p.add(field(path, "vault"), "not allowed for a postgres source")
	case s.Kind == KindKubernetes && (d.Vault != nil || d.Postgres != nil):
		p.add(path, "a kubernetes source's drill takes only schedule (it dry-runs into a scratch namespace)")
	case s.Kind == KindVault && d.Vault == nil:
		p.add(field(path, "vault"), "required: the drill needs at least the original unseal keys (or the cluster's auto-unseal seal)")
	}
	if v := d.Vault; v != nil && s.Kind == KindVault {
		if v.Seal != nil {
			validateSeal(p, field(field(path, "vault"), "seal"), v.Seal)
			validateSecret(p, field(field(path, "vault"), "unsealKeys"), v.UnsealKeys, false)
			if v.UnsealKeys.IsSet() {
				p.add(field(field(path, "vault"), "unsealKeys"), "not used with seal: an auto-unsealed cluster's snapshot opens with its seal; remove unsealKeys (or seal, if the cluster uses Shamir keys)")
			}
		} else {
			validateSecret(p, field(field(path, "vault"), "unsealKeys"), v.UnsealKeys, true)
		}
		validateSecret(p, field(field(path, "vault"), "token"), v.Token, false)
		// The scratch Vault is logged in to with a token only (AppRole and Kubernetes
		// logins go to the live cluster), falling back to the source's token: without
		// one, every drill and recover would fail after restoring the snapshot.
		if a := sourceAuth(s); !v.Token.IsSet() && a != nil && (a.Method != AuthToken || !a.Token.IsSet()) {
			p.add(field(field(path, "vault"), "token"), "required when vault.auth.method is %s: drills and recover "+
				"read the restored scratch Vault with a token of the backed-up cluster; set token: {file: /path} "+
				"or {env: NAME} to a token with read access to the checked paths", a.Method)
		}
	}
	if pg := d.Postgres; pg != nil && s.Kind == KindPostgres && pg.Target != nil {
		validatePostgres(p, field(field(path, "postgres"), "target"), pg.Target)
	}
}

func sourceAuth(s *Source) *VaultAuth {
	if s.Vault == nil || s.Kind != KindVault {
		return nil
	}
	return &s.Vault.Auth
}

func validateRestoreHooks(p *problems, path string, h *RestoreHooks) {
	for i, d := range h.ScaleDown {
		dp := index(field(path, "scaleDown"), i)
		p.required(field(dp, "namespace"), d.Namespace)
		p.required(field(dp, "name"), d.Name)
		if slices.Contains(h.ScaleDown[:i], d) {
			p.add(dp, "deployment %s/%s is listed twice", d.Namespace, d.Name)
		}
	}
	for _, hook := range []struct {
		name string
		cmds [][]string
	}{{"before", h.Before}, {"after", h.After}} {
		for i, argv := range hook.cmds {
			if len(argv) == 0 || argv[0] == "" {
				p.add(index(field(path, hook.name), i), "empty command; write it as a list like [\"/bin/sh\", \"-c\", \"...\"]")
			}
		}
	}
	for i, name := range h.PassEnv {
		if !envNameRE.MatchString(name) {
			p.add(index(field(path, "passEnv"), i), "%q is not an environment variable name (letters, digits and _, not starting with a digit)", name)
		}
	}
	if k := h.Kubernetes; k != nil {
		validateKubernetesAPI(p, field(path, "kubernetes"), k)
	}
	if h.ScaleTimeout.Duration < 0 {
		p.add(field(path, "scaleTimeout"), "must not be negative (got %s)", h.ScaleTimeout)
	}
}

func validateVault(p *problems, path string, v *Vault) {
	if v.Address == "" && len(v.Nodes) == 0 {
		p.add(field(path, "address"), "required unless nodes is given")
	}
	if v.Address != "" {
		checkURL(p, field(path, "address"), v.Address)
		checkVaultHTTP(p, path, field(path, "address"), v.Address, v.AllowInsecureHTTP)
	}
	for i, n := range v.Nodes {
		np := index(field(path, "nodes"), i)
		checkURL(p, np, n)
		checkVaultHTTP(p, path, np, n, v.AllowInsecureHTTP)
		if slices.Contains(v.Nodes[:i], n) {
			p.add(np, "node %q is listed twice", n)
		}
	}
	bothOrNeither(p, path, "clientCert", v.ClientCert != "", "clientKey", v.ClientKey != "")
	if v.Timeout.Duration < 0 {
		p.add(field(path, "timeout"), "must not be negative (got %s)", v.Timeout)
	}
	validateVaultAuth(p, field(path, "auth"), &v.Auth)
	oneOf(p, field(path, "compression"), v.Compression, VaultCompressions...)
	validateCompression(p, path, v.CompressionLevel, v.CompressionThreads)
}

// checkVaultHTTP refuses plain http:// to anything but loopback unless allowInsecureHTTP
// says the operator means it: the Vault token and every snapshot would cross the network
// in the clear, readable (and the token replayable) by anyone on the path.
func checkVaultHTTP(p *problems, vaultPath, at, raw string, allowed bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" || allowed || isLoopback(u.Hostname()) {
		return
	}
	p.add(at, "plain http:// to %s sends the Vault token and every snapshot over the network unencrypted; "+
		"use https:// (with caCert for a private CA), or set %s: true if the network path is "+
		"trusted (e.g. a service mesh encrypts it)", u.Host, field(vaultPath, "allowInsecureHTTP"))
}

func validateVaultAuth(p *problems, path string, a *VaultAuth) {
	oneOf(p, field(path, "method"), a.Method, AuthToken, AuthAppRole, AuthKubernetes)
	blocks := map[string]bool{AuthToken: a.Token.IsSet(), AuthAppRole: a.AppRole != nil, AuthKubernetes: a.Kubernetes != nil}
	for _, m := range []string{AuthToken, AuthAppRole, AuthKubernetes} {
		if blocks[m] && m != a.Method {
			p.add(field(path, m), "not allowed for method %s", a.Method)
		}
	}
	switch a.Method {
	case AuthToken:
		validateSecret(p, field(path, "token"), a.Token, true)
	case AuthAppRole:
		if a.AppRole == nil {
			p.add(field(path, "approle"), "required for method approle")
			return
		}
		validateSecret(p, field(path, "approle.roleID"), a.AppRole.RoleID, true)
		validateSecret(p, field(path, "approle.secretID"), a.AppRole.SecretID, false)
	case AuthKubernetes:
		if a.Kubernetes == nil {
			p.add(field(path, "kubernetes"), "required for method kubernetes")
			return
		}
		p.required(field(path, "kubernetes.role"), a.Kubernetes.Role)
	}
}

var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

func validatePostgres(p *problems, path string, pg *Postgres) {
	validateSecret(p, field(path, "dsn"), pg.DSN, false)
	validateSecret(p, field(path, "password"), pg.Password, false)
	if pg.DSN.IsSet() {
		// One source of truth for the connection: mixing both would leave operators
		// guessing which one pg_dump used.
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"host", pg.Host != ""}, {"port", pg.Port != 0}, {"database", pg.Database != ""}, {"user", pg.User != ""},
			{"password", pg.Password.IsSet()}, {"sslMode", pg.SSLMode != ""}, {"sslRootCert", pg.SSLRootCert != ""},
		} {
			if f.set {
				p.add(field(path, f.name), "not allowed together with dsn; put it in the dsn instead")
			}
		}
	} else {
		p.required(field(path, "host"), pg.Host)
		p.required(field(path, "database"), pg.Database)
		between(p, field(path, "port"), pg.Port, 1, 65535, "")
		oneOf(p, field(path, "sslMode"), pg.SSLMode, sslModes...)
	}
	validateCompression(p, path, pg.CompressionLevel, pg.CompressionThreads)
}

// validateCompression checks the zstd settings a source shares with the others.
func validateCompression(p *problems, path string, level, threads int) {
	if level < 1 || level > 4 {
		p.add(field(path, "compressionLevel"), "must be 1 (fastest), 2 (default), 3 (better) or 4 (best) (got %d)", level)
	}
	if threads < 1 || threads > MaxCompressionThreads {
		p.add(field(path, "compressionThreads"), "must be between 1 and %d (got %d); more threads than the pod's CPU limit are not used",
			MaxCompressionThreads, threads)
	}
}

var sealParamRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func validateSeal(p *problems, path string, s *VaultSeal) {
	if !slices.Contains(SealTypes, s.Type) {
		p.add(field(path, "type"), "unknown seal type %q: use one of %s (the type of the seal stanza in the cluster's server configuration)", s.Type, strings.Join(SealTypes, ", "))
	}
	for _, name := range slices.Sorted(maps.Keys(s.Parameters)) {
		switch {
		case !sealParamRE.MatchString(name):
			p.add(field(field(path, "parameters"), name), "not a seal parameter name (lower case letters, digits and _)")
		case slices.Contains(SealSecretParameters, name):
			p.add(field(field(path, "parameters"), name), "is a credential: move it to secrets as %s: {file: /path} or {env: NAME}", name)
		case name == "disabled":
			p.add(field(field(path, "parameters"), name), "a drill restores with the cluster's active seal: remove disabled")
		}
		if strings.ContainsAny(s.Parameters[name], "\n\r") {
			p.add(field(field(path, "parameters"), name), "must be one line")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Secrets)) {
		sp := field(field(path, "secrets"), name)
		if !sealParamRE.MatchString(name) {
			p.add(sp, "not a seal parameter name (lower case letters, digits and _)")
		}
		if _, dup := s.Parameters[name]; dup {
			p.add(sp, "also set in parameters: set it in one place")
		}
		validateSecret(p, sp, s.Secrets[name], true)
	}
}
