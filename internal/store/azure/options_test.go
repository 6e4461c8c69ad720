package azure

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/lifeboat-backup/lifeboat/internal/store"
)

const testKey = "Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXktZm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXk="

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no account", Options{Container: "c1c"}, "set destinations[].azure.account"},
		{"bad account", Options{Account: "My_Account", Container: "backups"}, `storage account name "My_Account" is invalid`},
		{"no container", Options{Account: "acct"}, "set destinations[].azure.container"},
		{"bad container", Options{Account: "acct", Container: "a--b"}, `container name "a--b" is invalid`},
		{"short container", Options{Account: "acct", Container: "ab"}, `container name "ab" is invalid`},
		{"bad prefix", Options{Account: "acct", Container: "backups", Prefix: "a/../b"}, "prefix"},
		{"small blocks", Options{Account: "acct", Container: "backups", BlockSize: 1000}, "below the minimum of 1 MiB"},
		{"huge blocks", Options{Account: "acct", Container: "backups", BlockSize: 4001 << 20}, "above Azure's maximum"},
		{"endpoint with a query", Options{Account: "acct", Container: "backups", Endpoint: "https://h/?sv=1&sig=secret"}, "put a SAS token in the destination's sasToken"},
		{"endpoint with user-info", Options{Account: "acct", Container: "backups", Endpoint: "https://u:secret@h"}, "must not contain credentials"},
		{"endpoint scheme", Options{Account: "acct", Container: "backups", Endpoint: "ftp://h"}, "must be an http(s):// URL"},
		{"key and SAS", Options{Account: "acct", Container: "backups", AccountKey: testKey, SASToken: "sv=1&sig=x"}, "keep one of them"},
		{"key not base64", Options{Account: "acct", Container: "backups", AccountKey: "not base64 secret!"}, "not valid base64"},
		{"SAS without signature", Options{Account: "acct", Container: "backups", SASToken: "https://acct.blob.core.windows.net/c?sv=secret"}, "not a SAS query string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("New error %q repeats a credential", err)
			}
		})
	}
}

// Without a key or SAS token the default credential chain is configured; building it
// contacts nothing (tests never let it reach for a token: that would leave the machine).
func TestNewCredentials(t *testing.T) {
	for _, tc := range []struct {
		opts  Options
		creds string
		str   string
	}{
		{Options{Account: "acct", Container: "backups", Prefix: "/team/lifeboat/"}, "the default Azure credential",
			"azure://acct/backups/team/lifeboat (acct.blob.core.windows.net)"},
		{Options{Account: "acct", Container: "backups", AccountKey: testKey, Endpoint: "https://acct.blob.core.chinacloudapi.cn/"},
			"the configured account key", "azure://acct/backups (acct.blob.core.chinacloudapi.cn)"},
		{Options{Account: "devstoreaccount1", Container: "backups", SASToken: "?sv=2024-01-01&sr=c&sp=racwdl&sig=abc", Endpoint: "http://azurite:10000/devstoreaccount1"},
			"the configured SAS token", "azure://devstoreaccount1/backups (azurite:10000/devstoreaccount1)"},
	} {
		s, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.creds, tc.creds) || s.String() != tc.str {
			t.Errorf("New(%+v): creds %q, String() %q; want %q, %q", tc.opts, s.creds, s.String(), tc.creds, tc.str)
		}
		if s.blockSize != DefaultBlockSize || s.concurrency != DefaultConcurrency {
			t.Errorf("defaults: block size %d, concurrency %d", s.blockSize, s.concurrency)
		}
	}
}

// explain is checked against Azurite in faults_test.go; these are the cases it cannot
// produce.
func TestExplain(t *testing.T) {
	s, err := New(Options{Account: "acct", Container: "backups", Prefix: "p", SASToken: "sv=1&sig=abc"})
	if err != nil {
		t.Fatal(err)
	}
	refused := &url.Error{Op: "Put", URL: "https://acct.blob.core.windows.net/backups/p/k?comp=block&sig=S3CR3T%2B&sv=1",
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"refused, SAS redacted", refused, "cannot reach Azure blob endpoint acct.blob.core.windows.net", syscall.ECONNREFUSED},
		{"no identity", errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tWorkloadIdentityCredential: no token file"),
			"on AKS enable Workload Identity", nil},
		{"other", errors.New("strange"), "get k in azure://acct/backups/p (acct.blob.core.windows.net): strange", nil},
	}
	for _, tc := range tests {
		err := s.explain(context.Background(), "get", "k", tc.err)
		if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.err) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%s: explain = %q, want it to contain %q and wrap the cause", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "S3CR3T") {
			t.Errorf("%s: explain = %q shows the SAS signature", tc.name, err)
		}
	}
	for code, want := range map[string]string{
		"BlobImmutableDueToPolicy": "immutability policy or legal hold",
		"BlockCountExceedsLimit":   "raise the destination's blockSizeMiB",
		"AccountIsDisabled":        `storage account "acct" is disabled`,
		"InsufficientStorage":      "the storage account is full",
	} {
		if got := s.explainCode(bloberror.Code(code), 409); !strings.Contains(got, want) {
			t.Errorf("explainCode(%s) = %q, want %q", code, got, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.explain(ctx, "put", "k", refused); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "S3CR3T") {
		t.Errorf("explain after cancellation = %v, want context.Canceled and no signature", err)
	}
	if err := s.explain(context.Background(), "get", "k", fmt.Errorf("x: %w", store.ErrNotFound)); errors.Is(err, store.ErrNotFound) != true {
		t.Errorf("explain lost a wrapped ErrNotFound: %v", err)
	}
}

func TestIsDirectory(t *testing.T) {
	for _, tc := range []struct {
		md   map[string]*string
		want bool
	}{
		{nil, false},
		{map[string]*string{"hdi_isfolder": to.Ptr("true")}, true},
		{map[string]*string{"Hdi_IsFolder": to.Ptr("TRUE")}, true},
		{map[string]*string{"hdi_isfolder": to.Ptr("false")}, false},
		{map[string]*string{"other": to.Ptr("true")}, false},
	} {
		if got := isDirectory(tc.md); got != tc.want {
			t.Errorf("isDirectory(%v) = %v", tc.md, got)
		}
	}
}

func TestValidNames(t *testing.T) {
	for name, ok := range map[string]bool{"abc": true, "a-b-c": true, "0ab": true, "ab": false, "-ab": false, "ab-": false,
		"a--b": false, "Abc": false, strings.Repeat("a", 63): true, strings.Repeat("a", 64): false} {
		if got := ValidContainer(name) == ""; got != ok {
			t.Errorf("ValidContainer(%q) valid = %v, want %v", name, got, ok)
		}
	}
	for name, ok := range map[string]bool{"devstoreaccount1": true, "ab": false, "my-account": false, strings.Repeat("a", 24): true, strings.Repeat("a", 25): false} {
		if got := ValidAccount(name) == ""; got != ok {
			t.Errorf("ValidAccount(%q) valid = %v, want %v", name, got, ok)
		}
	}
}
