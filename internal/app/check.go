package app

import (
	"context"
	"fmt"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source/postgres"
	"github.com/lifeboat-backup/lifeboat/internal/source/vault"
)

// CheckArtifact reads a whole artifact of source src and checks it by kind, returning a
// short description of what it holds. Reading to EOF also triggers the stored-object
// checksum when r comes from pipeline.OpenBackup.
func CheckArtifact(ctx context.Context, src *config.Source, r io.Reader) (string, error) {
	switch src.Kind {
	case config.KindVault:
		info, err := vault.InspectSnapshot(r)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("raft snapshot index %d, term %d, SHA256SUMS ok", info.Index, info.Term), nil
	case config.KindPostgres:
		var binDir string
		if src.Postgres != nil {
			binDir = src.Postgres.BinDir
		}
		return postgres.VerifyDump(ctx, r, binDir)
	default:
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d bytes read", n), nil
	}
}
