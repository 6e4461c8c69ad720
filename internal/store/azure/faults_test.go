package azure

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/storetest"
	"github.com/lifeboat-backup/lifeboat/internal/testenv"
)

// Every operation against a destination that is misconfigured or gone fails with a message
// that names the destination, says what to do, and holds no secret.
func TestFaultMessages(t *testing.T) {
	a := testenv.StartAzurite(t)
	a.MakeContainer("lifeboat")
	stopped := testenv.StartAzurite(t)
	stopped.Stop()
	closedPort := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	// A valid key of the right length that is not the account's.
	const wrongKey = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkh"
	readOnly := containerSAS(t, a, "lifeboat", sas.ContainerPermissions{Read: true, List: true})
	listOnly := containerSAS(t, a, "lifeboat", sas.ContainerPermissions{List: true})
	otherContainer := containerSAS(t, a, "other", sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true})

	tests := []struct {
		name string
		opts Options
		ops  []string // the operations that must fail; nil means all
		want []string // substrings of every failing operation's error
	}{
		{"server stopped", Options{Endpoint: stopped.ServiceURL(), Container: "lifeboat"}, nil,
			[]string{"cannot reach Azure blob endpoint " + stopped.Endpoint, "that the service is up"}},
		{"server stopped, SAS in the URL", Options{Endpoint: stopped.ServiceURL(), Container: "lifeboat", SASToken: readOnly}, nil,
			[]string{"cannot reach Azure blob endpoint " + stopped.Endpoint}},
		{"nothing listening", Options{Endpoint: "http://" + closedPort + "/devstoreaccount1", Container: "lifeboat"}, nil,
			[]string{"cannot reach Azure blob endpoint " + closedPort}},
		{"wrong key", Options{Container: "lifeboat", AccountKey: wrongKey}, nil,
			[]string{"azure://devstoreaccount1/lifeboat/p (" + a.Endpoint + "/devstoreaccount1)",
				"refused the configured account key", "check the account key or SAS token for this destination"}},
		{"container missing", Options{Container: "nope"}, nil,
			[]string{`container "nope" does not exist in storage account "devstoreaccount1" (` + a.Endpoint +
				"/devstoreaccount1): create it or fix destinations[].azure.container"}},
		{"SAS for another container", Options{Container: "lifeboat", SASToken: otherContainer}, nil,
			[]string{"the configured SAS token"}},
		{"read-only SAS", Options{Container: "lifeboat", SASToken: readOnly}, []string{"Put", "Delete"},
			[]string{"access denied using the configured SAS token", "permissions r,a,c,w,d,l"}},
		{"list-only SAS", Options{Container: "lifeboat", SASToken: "?" + listOnly}, []string{"Put", "Get", "Stat", "Delete"},
			[]string{"access denied using the configured SAS token", "permissions r,a,c,w,d,l"}},
		{"https to a plain HTTP server", Options{Endpoint: "https://" + a.Endpoint + "/devstoreaccount1", Container: "lifeboat"}, nil,
			[]string{"Azure blob endpoint " + a.Endpoint + "/devstoreaccount1 speaks plain HTTP, not TLS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Prefix = "p"
			s := newTestStore(t, a, tc.opts)
			for _, op := range storetest.Operations(MinBlockSize + 1) {
				if tc.ops != nil && !slices.Contains(tc.ops, op.Name) {
					continue
				}
				err := op.Run(storetest.Context(t), s)
				if err == nil {
					t.Fatalf("%s succeeded, want an error", op.Name)
				}
				msg := err.Error()
				t.Logf("%s: %s", op.Name, msg)
				for _, want := range tc.want {
					if !strings.Contains(msg, want) {
						t.Errorf("%s error %q\n  does not contain %q", op.Name, msg, want)
					}
				}
				for _, secret := range []string{a.Key, wrongKey, "sig="} {
					if strings.Contains(msg, secret) && !strings.Contains(msg, "sig=REDACTED") {
						t.Errorf("%s error %q contains a secret", op.Name, msg)
					}
				}
				if strings.Count(msg, "\n") > 0 {
					t.Errorf("%s error %q spans several lines", op.Name, msg)
				}
				if errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s error %q wraps ErrNotFound: a broken destination is not a missing object", op.Name, msg)
				}
			}
		})
	}
}

// A server that dies in the middle of an upload fails the Put with a message that says so,
// and after it comes back there is no blob under the key and the older backup is intact.
func TestServerDiesMidUpload(t *testing.T) {
	a := testenv.StartAzurite(t)
	a.MakeContainer("lifeboat")
	s := newTestStore(t, a, Options{Container: "lifeboat", Prefix: "p"})
	ctx := storetest.Context(t)
	if err := s.Put(ctx, "vault/old/data.snap", strings.NewReader("old backup")); err != nil {
		t.Fatal(err)
	}

	// Stop, not Kill: Azurite keeps its metadata in memory and saves it every few seconds,
	// so a SIGKILL would lose the container itself, which no real service does.
	src := &storetest.HookAfter{R: storetest.Zeros{}, N: 2*MinBlockSize + MinBlockSize/2, Hook: a.Stop}
	start := time.Now()
	err := s.Put(ctx, "vault/new/data.snap", src)
	t.Logf("Put failed after %v: %v", time.Since(start), err)
	if err == nil || !strings.Contains(err.Error(), "cannot reach Azure blob endpoint "+a.Endpoint) {
		t.Fatalf("Put while the server dies = %v, want a cannot-reach error", err)
	}

	a.Start()
	if _, err := s.Stat(ctx, "vault/new/data.snap"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Stat of the interrupted blob = %v, want ErrNotFound", err)
	}
	if blocks := uncommittedBlocks(t, a, "lifeboat", "p/vault/new/data.snap"); blocks < 1 {
		t.Fatalf("no uncommitted blocks survived the crash: the test did not interrupt a staged upload")
	}
	infos, err := s.List(ctx, "")
	if err != nil || len(infos) != 1 || infos[0].Key != "vault/old/data.snap" {
		t.Fatalf("List after the crash = %+v, %v; want only the older backup", infos, err)
	}
	rc, err := s.Get(ctx, "vault/old/data.snap")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if data, err := io.ReadAll(rc); err != nil || string(data) != "old backup" {
		t.Fatalf("older backup after the crash = %q, %v", data, err)
	}
}
