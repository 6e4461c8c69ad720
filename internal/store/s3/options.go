package s3

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/lifeboat-backup/lifeboat/internal/store/internal/keys"
)

// Part sizes. A Put from the pipeline's ring sends its parts from the ring (a part and a
// quarter of it); from another reader it holds one part in memory. S3 allows 10,000 parts per
// upload, so the part size also caps the object size: 8 MiB parts allow 78 GiB.
const (
	DefaultPartSize = 8 << 20
	MinPartSize     = 5 << 20 // S3's minimum for every part but the last
	maxParts        = 10000
)

// DefaultEndpoint is used when Options.Endpoint is empty.
const DefaultEndpoint = "s3.amazonaws.com"

// Options describe one S3 destination. Secrets arrive already resolved by the caller.
type Options struct {
	// Endpoint is host[:port]. An https:// or http:// scheme is accepted and stripped; it
	// then decides between TLS and plain HTTP. Empty means AWS (DefaultEndpoint).
	Endpoint string
	// Region is the bucket's region; empty lets the client ask the server. R2 uses "auto".
	Region string
	Bucket string
	// Prefix is prepended to every key with a '/' between them; leading and trailing
	// slashes are ignored.
	Prefix string
	// PathStyle addresses the bucket as endpoint/bucket (MinIO, Ceph and most self-hosted
	// servers) instead of letting the client choose (virtual-host style on AWS).
	PathStyle bool
	// Insecure speaks plain HTTP instead of TLS.
	Insecure bool
	// CACertFile names a PEM file of extra root certificates trusted besides the system's,
	// for servers with a private CA.
	CACertFile string
	// AccessKeyID and SecretAccessKey are static credentials. When both are empty the
	// standard chain is used: AWS_* then MINIO_* environment variables, the AWS shared
	// credentials file, then the IAM role (EC2/ECS metadata or EKS web identity).
	AccessKeyID     string
	SecretAccessKey string
	// PartSize is the multipart part size in bytes (default DefaultPartSize, at least
	// MinPartSize). Memory per Put is one part.
	PartSize int64

	// ObjectLock, when set, writes every object under an S3 object lock retention, and
	// Delete removes every version of a key (a plain delete in a versioned bucket only
	// hides the object). The bucket must have object lock enabled: CheckLock.
	ObjectLock *ObjectLock
	// Now is the time retention counts from; nil is the wall clock. Tests pass a fake.
	Now func() time.Time
}

// ObjectLock is the retention Put sets on each object.
type ObjectLock struct {
	// Mode is "governance" or "compliance" (any case).
	Mode string
	// RetainFor is how long after its Put an object stays locked: at least a second, as
	// S3 takes retain-until dates in whole seconds.
	RetainFor time.Duration
}

// objectLock checks ObjectLock and returns it with S3's mode name, or nil.
func (o Options) objectLock() (*lockSettings, error) {
	l := o.ObjectLock
	if l == nil {
		return nil, nil
	}
	mode := minio.RetentionMode(strings.ToUpper(l.Mode))
	if !mode.IsValid() {
		return nil, fmt.Errorf("S3 object lock mode %q is not governance or compliance: fix destinations[].s3.objectLock.mode", l.Mode)
	}
	if l.RetainFor < time.Second {
		return nil, fmt.Errorf("S3 object lock retainFor %s is below S3's one second: raise destinations[].s3.objectLock.retainFor", l.RetainFor)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &lockSettings{mode: mode, retainFor: l.RetainFor, now: now}, nil
}

// endpoint splits Endpoint into a host[:port] and whether to use TLS. Error messages never
// repeat the endpoint as given: it might hold credentials in its user-info part.
func (o Options) endpoint() (host string, secure bool, err error) {
	ep := strings.TrimSpace(o.Endpoint)
	if ep == "" {
		return DefaultEndpoint, !o.Insecure, nil
	}
	if !strings.Contains(ep, "://") {
		if strings.ContainsAny(ep, "/?#@") {
			return "", false, errors.New("S3 endpoint must be host[:port] or an http(s):// URL without a path: fix the destination's endpoint")
		}
		return ep, !o.Insecure, nil
	}
	u, err := url.Parse(ep)
	if err != nil {
		return "", false, errors.New("S3 endpoint is not a valid URL: fix the destination's endpoint")
	}
	switch {
	case u.User != nil:
		return "", false, errors.New("S3 endpoint must not contain credentials: move them to the destination's access key settings")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, fmt.Errorf("S3 endpoint scheme %q is not http or https: fix the destination's endpoint", u.Scheme)
	case u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", false, errors.New("S3 endpoint must be host[:port] or an http(s):// URL without a path: fix the destination's endpoint")
	case u.Scheme == "https" && o.Insecure:
		return "", false, fmt.Errorf("S3 endpoint %s says https but the destination is marked insecure (plain HTTP): drop one of them", u.Host)
	}
	return u.Host, u.Scheme == "https", nil
}

func (o Options) partSize() (int64, error) {
	switch {
	case o.PartSize == 0:
		return DefaultPartSize, nil
	case o.PartSize < MinPartSize:
		return 0, fmt.Errorf("S3 part size %d is below S3's minimum of %d bytes (5 MiB): raise it", o.PartSize, MinPartSize)
	case o.PartSize > 5<<30:
		return 0, fmt.Errorf("S3 part size %d is above S3's maximum of 5 GiB, and each Put holds one part in memory: lower it", o.PartSize)
	}
	return o.PartSize, nil
}

func (o Options) bucketAndPrefix() (bucket, prefix string, err error) {
	if o.Bucket == "" {
		return "", "", errors.New("S3 destination has no bucket: set destinations[].s3.bucket")
	}
	if err := s3utils.CheckValidBucketName(o.Bucket); err != nil {
		return "", "", fmt.Errorf("S3 bucket name %q is invalid (%w): fix destinations[].s3.bucket", o.Bucket, err)
	}
	prefix = strings.Trim(o.Prefix, "/")
	if prefix != "" {
		if err := keys.Check(prefix); err != nil {
			return "", "", fmt.Errorf("S3 prefix %q is invalid: %w", o.Prefix, err)
		}
		prefix += "/"
	}
	return o.Bucket, prefix, nil
}

// credentials returns the provider and how to name it in error messages.
func (o Options) credentials() (*credentials.Credentials, string, error) {
	switch {
	case o.AccessKeyID != "" && o.SecretAccessKey != "":
		return credentials.NewStaticV4(o.AccessKeyID, o.SecretAccessKey, ""), "the configured access key and secret", nil
	case o.AccessKeyID != "" || o.SecretAccessKey != "":
		return nil, "", errors.New("S3 destination sets only one of access key id and secret access key: set both, " +
			"or neither to use the environment, the AWS credentials file or the IAM role")
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.EnvMinio{},
		&credentials.FileAWSCredentials{},
		&credentials.IAM{},
	}), "the credentials found in the environment, the AWS credentials file or the IAM role", nil
}

// transport is minio-go's default transport, trusting CACertFile's roots as well.
func (o Options) transport(secure bool) (http.RoundTripper, error) {
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	if o.CACertFile == "" {
		return tr, nil
	}
	pem, err := os.ReadFile(o.CACertFile)
	if err != nil {
		return nil, fmt.Errorf("read the S3 destination's CA certificate file: %w: fix the path or mount the file", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("S3 destination's CA certificate file %s holds no PEM certificate: point it at the CA's certificate", o.CACertFile)
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.TLSClientConfig.RootCAs = pool
	return tr, nil
}
