package inventory

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// trusting is an Opener whose readers check signatures, as *app.App is.
type trusting struct {
	dirs
	trust *catalog.Trust
}

func (o trusting) Trust() (*catalog.Trust, error) { return o.trust, nil }

// sign rewrites the manifest of backup id in dest signed by key.
func (o dirs) sign(t *testing.T, dest, id string, key ed25519.PrivateKey) {
	t.Helper()
	d, err := o.Destination(dest, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	backups, _, err := catalog.List(ctx, d.Store, "vault")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range backups {
		if b.ID != id {
			continue
		}
		body, err := catalog.EncodeSigned(b.Manifest, catalog.NewSigner(key))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Store.Put(ctx, b.Manifest.Key(), bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no backup %s in %s", id, dest)
}

// A copy the trust refuses is a damaged copy: not a candidate, reported with its reason,
// and named when it is asked for by id.
func TestTakeAppliesTheOpenersTrust(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	o := dirs{root: t.TempDir(), names: []string{"a", "b"}}
	o.put(t, "a", day(1), false)
	o.sign(t, "a", day(1), key)
	o.put(t, "b", day(1), false)
	o.sign(t, "b", day(1), key)
	o.put(t, "b", day(2), false) // planted: unsigned
	o.put(t, "a", day(3), false) // planted: signed by a key not trusted
	o.sign(t, "a", day(3), other)

	inv, err := Take(context.Background(), trusting{o, catalog.NewTrust([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, false)}, "vault", "", now)
	if err != nil {
		t.Fatal(err)
	}
	cands, err := inv.Candidates("latest")
	if err != nil {
		t.Fatal(err)
	}
	if got := copyNames(cands); strings.Join(got, " ") != day(1)+"@a "+day(1)+"@b" {
		t.Fatalf("candidates = %v", got)
	}
	damaged := inv.Damaged("latest", day(1))
	if len(damaged) != 2 || !errors.Is(damaged[0].Err, catalog.ErrUnknownKey) || !errors.Is(damaged[1].Err, catalog.ErrUnsigned) {
		t.Fatalf("damaged = %+v", damaged)
	}
	_, err = inv.Candidates(day(2))
	if err == nil || !strings.Contains(err.Error(), "backup "+day(2)+" in b is not used") || !strings.Contains(err.Error(), "has no signature") {
		t.Fatalf("Candidates(%s) = %v", day(2), err)
	}

	// Without the Truster (or with AllowUnsigned) the planted backups are listed.
	inv, err = Take(context.Background(), trusting{o, catalog.NewTrust([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, true)}, "vault", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if cands, _ := inv.Candidates("latest"); len(cands) != 4 || cands[0].Manifest.ID != day(3) {
		t.Fatalf("with AllowUnsigned: %v", copyNames(cands))
	}
}
