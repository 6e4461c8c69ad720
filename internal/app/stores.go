package app

import (
	"fmt"
	"path"
	"strings"

	"github.com/lifeboat-backup/lifeboat/internal/clock"
	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/store"
	"github.com/lifeboat-backup/lifeboat/internal/store/azure"
	"github.com/lifeboat-backup/lifeboat/internal/store/file"
	"github.com/lifeboat-backup/lifeboat/internal/store/gcs"
	"github.com/lifeboat-backup/lifeboat/internal/store/s3"
)

// OpenStore opens a configured destination's store, with its prefix applied. clk is the
// time object lock retention counts from (nil: the wall clock).
func OpenStore(d *config.Destination, create bool, clk clock.Clock) (store.Store, error) {
	switch d.Kind {
	case config.KindFile:
		if d.Prefix == "" {
			return file.New(d.File.Path, file.Options{Create: create})
		}
		// The mount point must exist (a missing one means an unmounted volume); the prefix
		// directory inside it is lifeboat's own and may be created on first use.
		if _, err := file.New(d.File.Path, file.Options{Create: create}); err != nil {
			return nil, err
		}
		return file.New(path.Join(d.File.Path, d.Prefix), file.Options{Create: true})
	case config.KindS3:
		o := s3.Options{
			Endpoint:   d.S3.Endpoint,
			Region:     d.S3.Region,
			Bucket:     d.S3.Bucket,
			Prefix:     d.Prefix,
			PathStyle:  d.S3.PathStyle,
			Insecure:   d.S3.Insecure,
			CACertFile: d.S3.CACert,
			PartSize:   int64(d.S3.PartSizeMiB) << 20,
		}
		if l := d.S3.ObjectLock; l != nil {
			o.ObjectLock = &s3.ObjectLock{Mode: l.Mode, RetainFor: l.RetainFor.Duration}
			o.Now = clock.Or(clk).Now
		}
		if d.S3.AccessKeyID.IsSet() {
			var err error
			if o.AccessKeyID, err = d.S3.AccessKeyID.Resolve(); err != nil {
				return nil, fmt.Errorf("s3 access key id: %w", err)
			}
			if o.SecretAccessKey, err = d.S3.SecretAccessKey.Resolve(); err != nil {
				return nil, fmt.Errorf("s3 secret access key: %w", err)
			}
		}
		return s3.New(o)
	case config.KindAzure:
		return openAzure(d)
	case config.KindGCS:
		return gcs.New(gcs.Options{
			Bucket:          d.GCS.Bucket,
			Prefix:          d.Prefix,
			Endpoint:        d.GCS.Endpoint,
			CredentialsFile: d.GCS.CredentialsFile,
			ChunkSize:       d.GCS.ChunkSizeMiB << 20,
		})
	default:
		return nil, fmt.Errorf("unknown destination kind %q", d.Kind)
	}
}

// Describe says where a configured destination is, in the form its open store's String
// uses, for reporting a destination that could not be opened.
func Describe(d *config.Destination) string {
	switch {
	case d.Kind == config.KindFile && d.File != nil:
		return "file://" + path.Join(d.File.Path, d.Prefix)
	case d.Kind == config.KindS3 && d.S3 != nil:
		return fmt.Sprintf("s3://%s (%s)", strings.TrimSuffix(d.S3.Bucket+"/"+d.Prefix, "/"), d.S3.Endpoint)
	case d.Kind == config.KindAzure && d.Azure != nil:
		return fmt.Sprintf("azure://%s/%s (%s)", d.Azure.Account, strings.TrimSuffix(d.Azure.Container+"/"+d.Prefix, "/"),
			azure.Describe(d.Azure.Endpoint))
	case d.Kind == config.KindGCS && d.GCS != nil:
		return gcs.Name(d.GCS.Bucket, d.Prefix, d.GCS.Endpoint)
	default:
		return d.Kind + " destination " + d.Name
	}
}

// openAzure opens an azure destination, reading its account key or SAS token if one is
// configured.
func openAzure(d *config.Destination) (store.Store, error) {
	o := azure.Options{
		Account:   d.Azure.Account,
		Container: d.Azure.Container,
		Prefix:    d.Prefix,
		Endpoint:  d.Azure.Endpoint,
		BlockSize: int64(d.Azure.BlockSizeMiB) << 20,
	}
	var err error
	if d.Azure.AccountKey.IsSet() {
		if o.AccountKey, err = d.Azure.AccountKey.Resolve(); err != nil {
			return nil, fmt.Errorf("azure account key: %w", err)
		}
	}
	if d.Azure.SASToken.IsSet() {
		if o.SASToken, err = d.Azure.SASToken.Resolve(); err != nil {
			return nil, fmt.Errorf("azure SAS token: %w", err)
		}
	}
	return azure.New(o)
}
