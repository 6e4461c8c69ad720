package pipeline

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/clock/clocktest"
)

// A run signs its manifest, and retention counts only trusted backups: a newer backup
// planted by a writer without the key neither pushes the genuine ones out nor is deleted.
func TestRunSignsAndRetentionIgnoresPlantedBackups(t *testing.T) {
	ctx := context.Background()
	st := newFileStore(t)
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(t0.Add(-72 * time.Hour))
	p := &Pipeline{Clock: clk, Signer: catalog.NewSigner(key), Trust: catalog.NewTrust([]ed25519.PublicKey{pub}, false)}
	dest := []Destination{{Name: "a", Store: st, Retention: catalog.Policy{KeepLast: 1}}}
	first := p.Run(ctx, vaultSource(randomBytes(1000)), dest)
	if first.Status() != StatusOK {
		t.Fatal(first.Error())
	}
	m, err := catalog.Decode(readAll(t, st, catalog.ManifestKey("vault", first.ID)))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Trust.Check(m); err != nil || m.Signature == nil {
		t.Fatalf("the committed manifest is not signed by the run's key: %v", err)
	}

	// Planted: the first backup's data under an id a day in the future, unsigned.
	planted := *m
	planted.Signature = nil
	planted.ID = catalog.NewBackupID("vault", clk.Now().Add(24*time.Hour))
	planted.Created = clk.Now().Add(24 * time.Hour)
	body, err := catalog.Encode(&planted)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string][]byte{planted.DataObjectKey(): readAll(t, st, m.DataObjectKey()), planted.Key(): body} {
		if err := st.Put(ctx, k, bytes.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}

	clk.Advance(time.Hour)
	second := p.Run(ctx, vaultSource(randomBytes(1000)), dest)
	if second.Status() != StatusOK {
		t.Fatal(second.Error())
	}
	all, _, err := catalog.List(ctx, st, "vault")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range all {
		ids = append(ids, b.ID)
	}
	if len(all) != 2 || all[0].ID != planted.ID || all[1].ID != second.ID {
		t.Fatalf("after retention: %v; want the planted backup (not counted, not deleted) and the new genuine one %s", ids, second.ID)
	}
}
