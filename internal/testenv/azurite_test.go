package testenv

import (
	"context"
	"io"
	"testing"
	"time"
)

// Azurite serves blobs, and keeps them across Stop and Start (fault tests rely on it).
func TestAzuriteStoresBlobs(t *testing.T) {
	a := StartAzurite(t)
	a.MakeContainer("smoke")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := a.Client().UploadBuffer(ctx, "smoke", "a/b.txt", []byte("hello lifeboat"), nil); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	a.Start()
	resp, err := a.Client().DownloadStream(ctx, "smoke", "a/b.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if data, err := io.ReadAll(resp.Body); err != nil || string(data) != "hello lifeboat" {
		t.Fatalf("blob after a restart = %q, %v", data, err)
	}
}
