package config

import (
	"strings"
	"time"
)

// Defaults, in one place so that docs, the example and the code agree.
const (
	DefaultVaultTimeout        = 30 * time.Second
	DefaultVaultTokenEnv       = "VAULT_TOKEN"
	DefaultAppRoleMount        = "approle"
	DefaultKubernetesMount     = "kubernetes"
	DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	DefaultPostgresPort        = 5432
	DefaultSSLMode             = "prefer"
	DefaultCompressionLevel    = 2 // klauspost/compress zstd.SpeedDefault
	DefaultVaultCompression    = VaultCompressionAuto
	DefaultCompressionThreads  = 1 // see docs/benchmarks.md: a second thread costs tens of MiB
	MaxCompressionThreads      = 16
	DefaultS3Endpoint          = "s3.amazonaws.com"
	DefaultPartSizeMiB         = 8
	DefaultBlockSizeMiB        = 8 // azure
	DefaultGCSChunkSizeMiB     = 8
	DefaultListen              = "127.0.0.1:8080"
	DefaultHistoryLimit        = 200
)

// SetDefaults fills in every field the operator left out that has a default. Parse calls
// it; code that builds a Config by hand calls it before Validate. Fields whose absence
// means something (a source's destinations = all, a zero retention = keep everything)
// are left empty.
func (c *Config) SetDefaults() {
	for i := range c.Sources {
		s := &c.Sources[i]
		if v := s.Vault; v != nil {
			setVaultDefaults(v)
		}
		if p := s.Postgres; p != nil {
			if !p.DSN.IsSet() {
				p.Port = or(p.Port, DefaultPostgresPort)
				p.SSLMode = or(p.SSLMode, DefaultSSLMode)
			}
			p.CompressionLevel = or(p.CompressionLevel, DefaultCompressionLevel)
			p.CompressionThreads = or(p.CompressionThreads, DefaultCompressionThreads)
		}
		if k := s.Kubernetes; k != nil {
			if k.Resources == nil {
				k.Resources = append([]string(nil), DefaultKubernetesResources...)
			}
			if k.Groups == nil {
				k.Groups = append([]string(nil), DefaultKubernetesGroups...)
			}
		}
	}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		d.Prefix = strings.Trim(d.Prefix, "/")
		if s3 := d.S3; s3 != nil {
			s3.Endpoint = or(s3.Endpoint, DefaultS3Endpoint)
			// Region stays empty unless set: the S3 client then asks the server for the
			// bucket's location (AWS, MinIO, Ceph; for R2 it uses us-east-1, which R2
			// accepts), where a fixed us-east-1 would misroute every AWS bucket elsewhere.
			s3.PartSizeMiB = or(s3.PartSizeMiB, DefaultPartSizeMiB)
			// Accept a URL as copied from a console. https:// with insecure: true is a
			// contradiction left for Validate to report.
			if rest, ok := strings.CutPrefix(s3.Endpoint, "http://"); ok {
				s3.Endpoint, s3.Insecure = rest, true
			} else if rest, ok := strings.CutPrefix(s3.Endpoint, "https://"); ok && !s3.Insecure {
				s3.Endpoint = rest
			}
			s3.Endpoint = strings.TrimSuffix(s3.Endpoint, "/")
		}
		if az := d.Azure; az != nil {
			if az.Endpoint == "" && az.Account != "" {
				az.Endpoint = "https://" + az.Account + ".blob.core.windows.net"
			}
			az.Endpoint = strings.TrimSuffix(az.Endpoint, "/")
			az.BlockSizeMiB = or(az.BlockSizeMiB, DefaultBlockSizeMiB)
		}
		if gcs := d.GCS; gcs != nil {
			gcs.ChunkSizeMiB = or(gcs.ChunkSizeMiB, DefaultGCSChunkSizeMiB)
		}
	}
	c.Server.Listen = or(c.Server.Listen, DefaultListen)
	c.Server.HistoryLimit = or(c.Server.HistoryLimit, DefaultHistoryLimit)
	setNotifyDefaults(c.Notifications)
}

func setVaultDefaults(v *Vault) {
	if v.Timeout.Duration == 0 {
		v.Timeout.Duration = DefaultVaultTimeout
	}
	v.Compression = or(v.Compression, DefaultVaultCompression)
	v.CompressionLevel = or(v.CompressionLevel, DefaultCompressionLevel)
	v.CompressionThreads = or(v.CompressionThreads, DefaultCompressionThreads)
	a := &v.Auth
	a.Method = or(a.Method, AuthToken)
	if a.Method == AuthToken && !a.Token.IsSet() {
		a.Token.Env = DefaultVaultTokenEnv
	}
	if a.AppRole != nil {
		a.AppRole.MountPath = or(a.AppRole.MountPath, DefaultAppRoleMount)
	}
	if k := a.Kubernetes; k != nil {
		k.MountPath = or(k.MountPath, DefaultKubernetesMount)
		k.TokenPath = or(k.TokenPath, DefaultKubernetesTokenPath)
	}
}

// or returns v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
