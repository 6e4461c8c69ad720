package app

import (
	"fmt"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source/postgres"
)

// PostgresOptions maps a postgres config block to the source's options. field is the
// block's config path, used in error messages.
func PostgresOptions(p *config.Postgres, field string) postgres.Options {
	o := postgres.Options{
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

func (a *App) postgresSource(src *config.Source) (*postgres.Source, error) {
	if src.Postgres == nil {
		return nil, fmt.Errorf("source %s is not a postgres source", src.Name)
	}
	return postgres.NewSource(src.Name, PostgresOptions(src.Postgres, fmt.Sprintf("sources[%s].postgres", src.Name)))
}
