package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// VerifyResult is the outcome of verifying one copy of a backup.
type VerifyResult struct {
	Located
	Detail string // what the artifact holds, when OK
	Err    error
}

// Verify re-reads every copy of ref (or the one in destination only) in full: size and
// sha256 against the manifest, decryption, decompression and the artifact's own checks.
func (a *App) Verify(ctx context.Context, source, ref, only, identityFile string) ([]VerifyResult, error) {
	copies, err := a.FindBackups(ctx, source, ref, only)
	if err != nil {
		return nil, err
	}
	out := make([]VerifyResult, 0, len(copies))
	for _, c := range copies {
		r := VerifyResult{Located: c}
		r.Detail, r.Err = a.verifyCopy(ctx, c, identityFile)
		if r.Err != nil {
			r.Err = fmt.Errorf("%s in %s (%s): %w", c.Manifest.ID, c.Dest.Name, c.Dest.Store, r.Err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (a *App) verifyCopy(ctx context.Context, c Located, identityFile string) (string, error) {
	ids, err := a.IdentitiesFor(c.Manifest.Encryption != nil, identityFile)
	if err != nil {
		return "", err
	}
	rc, err := pipeline.OpenBackup(ctx, c.Dest.Store, c.Manifest, ids)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	src, err := a.Config.Source(c.Manifest.Source.Name)
	if err != nil {
		return "", err
	}
	return CheckStored(ctx, src, rc)
}

// CheckStored checks an artifact read through pipeline.OpenBackup. When the artifact check
// fails, the rest is drained so that a stored-object checksum mismatch — the more precise
// diagnosis: the bytes changed after the backup was taken — is reported first.
func CheckStored(ctx context.Context, src *config.Source, rc io.Reader) (string, error) {
	detail, err := CheckArtifact(ctx, src, rc)
	if err == nil {
		return detail, nil
	}
	if _, derr := io.Copy(io.Discard, rc); errors.Is(derr, pipeline.ErrChecksum) {
		return "", fmt.Errorf("%w (the content check also failed: %v)", derr, err)
	}
	return "", err
}
