package app

import (
	"context"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/kinds"
)

// CheckArtifact reads a whole artifact of source src and checks it by its kind, returning
// a short description of what it holds. Reading to EOF also triggers the stored-object
// checksum when r comes from pipeline.OpenBackup.
func CheckArtifact(ctx context.Context, src *config.Source, r io.Reader) (string, error) {
	k, err := kinds.Of(src)
	if err != nil {
		return "", err
	}
	return k.Check(ctx, src, r)
}
