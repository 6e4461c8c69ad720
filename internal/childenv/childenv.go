// Package childenv builds the environment of every program lifeboat starts (pg_dump,
// pg_restore, psql, pg_dumpall, scratch Vault/OpenBao servers, restore hooks). A child
// gets a minimal base and what its caller names, never lifeboat's whole environment:
// lifeboat's own secrets (AWS_SECRET_ACCESS_KEY, VAULT_TOKEN, a destination's
// credentials read from env) have no business in pg_dump or in a hook's shell, where a
// crash dump, a `set -x` or a compromised tool would show them.
package childenv

import (
	"os"
	"strings"
)

// base are the variables every child gets from lifeboat's environment when set: where
// programs are (PATH), a home and a temporary directory, the locale and the time zone.
// None is a secret.
var base = []string{"PATH", "HOME", "TMPDIR", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
	"LC_COLLATE", "LC_NUMERIC", "LC_TIME", "LC_MONETARY", "TZ", "USER", "LOGNAME"}

// Libpq are the environment variables libpq (and pgx, which lifeboat's own connections
// use) reads for a connection (PostgreSQL's "Environment Variables" of libpq). Passing
// them keeps the client programs connecting where lifeboat's checks connected.
// PGPASSWORD is one: it is the documented way to give `restore --target-dsn` a password,
// and it is the client programs' own secret.
var Libpq = []string{
	"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE",
	"PGREQUIREAUTH", "PGCHANNELBINDING", "PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR",
	"PGOPTIONS", "PGAPPNAME", "PGSSLMODE", "PGREQUIRESSL", "PGSSLNEGOTIATION", "PGSSLCOMPRESSION",
	"PGSSLCERT", "PGSSLKEY", "PGSSLCERTMODE", "PGSSLROOTCERT", "PGSSLCRL", "PGSSLCRLDIR", "PGSSLSNI",
	"PGREQUIREPEER", "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE",
	"PGKRBSRVNAME", "PGGSSLIB", "PGGSSDELEGATION", "PGCONNECT_TIMEOUT", "PGCLIENTENCODING",
	"PGTARGETSESSIONATTRS", "PGLOADBALANCEHOSTS", "PGDATESTYLE", "PGTZ", "PGGEQO",
}

// Env is the environment of a child: the base, the variables named in pass that are set
// in lifeboat's environment, then set ("NAME=value", which win over both).
func Env(pass []string, set ...string) []string {
	return build(os.LookupEnv, pass, set)
}

func build(lookup func(string) (string, bool), pass, set []string) []string {
	var env []string
	seen := map[string]int{}
	put := func(name, value string) {
		if i, ok := seen[name]; ok {
			env[i] = name + "=" + value
			return
		}
		seen[name] = len(env)
		env = append(env, name+"="+value)
	}
	for _, lists := range [][]string{base, pass} {
		for _, name := range lists {
			if v, ok := lookup(name); ok {
				put(name, v)
			}
		}
	}
	for _, kv := range set {
		name, value, _ := strings.Cut(kv, "=")
		put(name, value)
	}
	return env
}
