package testenv

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Azurite's well-known development account. It is public (Microsoft documents it), never a
// real credential.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is a real Azurite (Azure Storage emulator) running only its blob service.
type Azurite struct {
	Endpoint string // host:port, plain http
	Account  string
	Key      string
	DataDir  string

	t    testing.TB
	proc *Process
}

// StartAzurite starts Azurite's blob service on a free port. Stop and Start restart it on
// the same port and data, for tests of a destination that goes away mid-run.
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	a := &Azurite{
		Account: AzuriteAccount,
		Key:     AzuriteKey,
		DataDir: TempDir(t, "azurite"),
		t:       t,
	}
	a.Endpoint = net.JoinHostPort("127.0.0.1", fmt.Sprint(FreePort(t)))
	a.Start()
	return a
}

// ServiceURL is the blob service URL of the development account: Azurite puts the account
// in the path, where Azure has it in the host name.
func (a *Azurite) ServiceURL() string { return "http://" + a.Endpoint + "/" + a.Account }

// noRetries makes the harness's own calls fail fast: the readiness poll retries by itself.
var noRetries = policy.RetryOptions{MaxRetries: -1}

// Start (re)starts the server and waits until it answers an authenticated request.
func (a *Azurite) Start() {
	a.t.Helper()
	bin := Binary(a.t, "azurite-blob")
	host, port, _ := net.SplitHostPort(a.Endpoint)
	a.proc = StartProcess(a.t, "azurite", a.DataDir, nil, bin,
		"--blobHost", host, "--blobPort", port,
		"--location", a.DataDir+"/data",
		// The SDK may speak a newer API version than this Azurite knows; lifeboat uses
		// only long-standing operations.
		"--skipApiVersionCheck",
		"--disableProductStyleUrl",
		"--disableTelemetry",
		"--silent",
	)
	WaitFor(a.t, a.proc, 60*time.Second, "azurite to be live", func(ctx context.Context) error {
		_, err := a.Client().ServiceClient().GetProperties(ctx, nil)
		return err
	})
}

// Stop stops the server; its data stays for a later Start.
func (a *Azurite) Stop() { a.proc.Stop() }

// Kill ends the server abruptly.
func (a *Azurite) Kill() { a.proc.Kill() }

// Client returns a service client with the development account's key.
func (a *Azurite) Client() *azblob.Client {
	a.t.Helper()
	cred, err := azblob.NewSharedKeyCredential(a.Account, a.Key)
	if err != nil {
		a.t.Fatalf("azurite credential: %v", err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(a.ServiceURL(), cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: noRetries},
	})
	if err != nil {
		a.t.Fatalf("azurite client: %v", err)
	}
	return c
}

// MakeContainer creates a container (and fails the test if it cannot).
func (a *Azurite) MakeContainer(name string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := a.Client().CreateContainer(ctx, name, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		a.t.Fatalf("make container %s: %v", name, err)
	}
}
