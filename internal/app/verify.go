package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/inventory"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
)

// VerifyResult is the outcome of verifying one copy of a backup.
type VerifyResult struct {
	Located
	Detail string // what the artifact holds, when OK
	Err    error
}

// Verification is the outcome of verifying a backup: each copy found, and what a caller
// must report as a failure besides: each damaged copy (see inventory.Inventory.Damaged),
// each destination that should hold the backup and does not (inventory's Missing), and
// each destination that could not be searched (it may hold a newer or the only good
// copy).
type Verification struct {
	ID       string // the backup verified
	Copies   []VerifyResult
	Damaged  []inventory.Damaged
	Missing  []inventory.Missing
	Unlisted []error
}

// OK reports whether every copy verified and nothing else is wrong.
func (v *Verification) OK() bool {
	for _, c := range v.Copies {
		if c.Err != nil {
			return false
		}
	}
	return len(v.Damaged) == 0 && len(v.Missing) == 0 && len(v.Unlisted) == 0
}

// VerifyAll re-reads every copy of ref (or the one in destination only) in full: size and
// sha256 against the manifest, decryption, decompression, the artifact's own checks, and
// the same for each of the backup's extras.
func (a *App) VerifyAll(ctx context.Context, source, ref, only, identityFile string) (*Verification, error) {
	inv, err := a.Inventory(ctx, source, only)
	if err != nil {
		return nil, err
	}
	copies, err := inv.Copies(ref)
	if err != nil {
		return nil, err
	}
	id := copies[0].Manifest.ID
	v := &Verification{ID: id, Damaged: inv.Damaged(ref, id), Missing: inv.Missing(id), Unlisted: inv.Unlisted()}
	for _, c := range copies {
		r := VerifyResult{Located: c}
		r.Detail, r.Err = a.VerifyCopy(ctx, c, identityFile)
		v.Copies = append(v.Copies, r)
	}
	return v, nil
}

// VerifyCopy re-reads one copy in full (data and extras) and says what it holds. The
// error names the backup and the destination.
func (a *App) VerifyCopy(ctx context.Context, c Located, identityFile string) (string, error) {
	detail, err := a.verifyCopy(ctx, c, identityFile)
	if err != nil {
		return "", fmt.Errorf("%s in %s (%s): %w", c.Manifest.ID, c.Dest.Name, c.Dest.Store, err)
	}
	return detail, nil
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
	detail, err := CheckStored(ctx, src, rc)
	if err != nil {
		return "", err
	}
	// A restore needs the extras too (the roles a dump's grants refer to): a copy whose
	// extra rotted is not a good copy.
	for _, x := range c.Manifest.Extras {
		if err := checkExtra(ctx, c, x, ids); err != nil {
			return "", err
		}
		detail += "; " + x.Name + " ok"
	}
	return detail, nil
}

func checkExtra(ctx context.Context, c Located, x catalog.ExtraObject, ids []age.Identity) error {
	rc, err := pipeline.OpenExtra(ctx, c.Dest.Store, c.Manifest, x, ids)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("%s: %w", x.Name, err)
	}
	return nil
}

// CheckStored checks an artifact read through pipeline.OpenBackup. It always reads rc to
// EOF, since only there are the stored object's size and sha256 compared with the
// manifest: an artifact check may stop at its own end marker (a gzip trailer, a dump's
// TOC) and pass bytes that were changed after the backup was taken. When both fail, the
// checksum mismatch is reported first: it is the more precise diagnosis.
func CheckStored(ctx context.Context, src *config.Source, rc io.Reader) (string, error) {
	detail, err := CheckArtifact(ctx, src, rc)
	_, derr := io.Copy(io.Discard, rc)
	switch {
	case err != nil && errors.Is(derr, pipeline.ErrChecksum) && !errors.Is(err, pipeline.ErrChecksum):
		return "", fmt.Errorf("%w (the content check also failed: %v)", derr, err)
	case err != nil:
		return "", err
	case derr != nil:
		return "", fmt.Errorf("reading the rest of the stored object: %w", derr)
	}
	return detail, nil
}
