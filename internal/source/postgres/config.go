package postgres

import (
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// OptionsFor maps a postgres config block to the options: the one mapping, for the
// source, a restore's target and a drill's scratch server. field is the block's config
// path, used in error messages.
func OptionsFor(p *config.Postgres, field string) Options {
	o := Options{
		Host:        p.Host,
		Port:        p.Port,
		Database:    p.Database,
		User:        p.User,
		SSLMode:     p.SSLMode,
		SSLRootCert: p.SSLRootCert,
		Field:       field,
		BinDir:      p.BinDir,
		Globals:     p.Globals,
		RowCounts:   !p.SkipRowCounts,
	}
	if p.DSN.IsSet() {
		o.DSN = p.DSN.Resolve
		o.Describe = p.DSN.String()
	}
	if p.Password.IsSet() {
		o.Password = p.Password.Resolve
		o.Describe = p.Password.String()
	}
	return o
}

// sourceOptions are the options of a source's own database.
func sourceOptions(src *config.Source) Options {
	return OptionsFor(src.Postgres, fmt.Sprintf("sources[%s].postgres", src.Name))
}
