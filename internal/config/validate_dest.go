package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

func validateDestination(p *problems, path string, d *Destination) {
	checkKind(p, path, d.Kind, []string{KindFile, KindS3, KindGCS, KindAzure},
		map[string]bool{KindFile: d.File != nil, KindS3: d.S3 != nil, KindGCS: d.GCS != nil, KindAzure: d.Azure != nil})
	if d.Prefix != "" {
		for _, seg := range strings.Split(d.Prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				p.add(field(path, "prefix"), "%q has an empty, '.' or '..' segment; use a/b style", d.Prefix)
				break
			}
		}
	}
	if d.File != nil && d.Kind == KindFile {
		p.required(field(path, "file.path"), d.File.Path)
	}
	if d.S3 != nil && d.Kind == KindS3 {
		validateS3(p, field(path, "s3"), d.S3)
	}
	if d.Azure != nil && d.Kind == KindAzure {
		validateAzure(p, field(path, "azure"), d.Azure)
	}
	if d.GCS != nil && d.Kind == KindGCS {
		validateGCS(p, field(path, "gcs"), d.GCS)
	}
	if err := d.Retention.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			name, msg, _ := strings.Cut(line, " ")
			p.add(field(path, "retention."+name), "%s", msg)
		}
	}
}

func validateS3(p *problems, path string, s *S3Dest) {
	// The store checks both again when it opens, but only a run would get that far: the
	// config check names the field before any backup is attempted.
	if s.Bucket == "" {
		p.add(field(path, "bucket"), "required")
	} else if err := s3utils.CheckValidBucketName(s.Bucket); err != nil {
		p.add(field(path, "bucket"), "%q is not a valid bucket name: %s; S3 bucket names are 3 to 63 "+
			"lower-case letters, digits, '.' and '-'", s.Bucket, lowerFirst(err.Error()))
	}
	if msg := endpointProblem(s.Endpoint); msg != "" {
		p.add(field(path, "endpoint"), "%s", msg)
	}
	bothOrNeither(p, path, "accessKeyID", s.AccessKeyID.IsSet(), "secretAccessKey", s.SecretAccessKey.IsSet())
	validateSecret(p, field(path, "accessKeyID"), s.AccessKeyID, false)
	validateSecret(p, field(path, "secretAccessKey"), s.SecretAccessKey, false)
	// S3 parts are 5 MiB to 5 GiB.
	between(p, field(path, "partSizeMiB"), s.PartSizeMiB, 5, 5120, " MiB")
	if s.ObjectLock != nil {
		validateObjectLock(p, field(path, "objectLock"), s.ObjectLock)
	}
}

// validateObjectLock checks an S3 destination's objectLock block. Whether the bucket has
// object lock enabled is a property of the bucket, checked when a backup opens it.
func validateObjectLock(p *problems, path string, l *ObjectLock) {
	if l.Mode == "" {
		p.add(field(path, "mode"), "required: governance or compliance")
	} else {
		oneOf(p, field(path, "mode"), l.Mode, LockGovernance, LockCompliance)
	}
	switch d := l.RetainFor.Duration; {
	case d == 0:
		p.add(field(path, "retainFor"), `required: how long each object stays locked, e.g. "30d"`)
	case d < time.Second:
		// S3 takes retain-until dates in whole seconds.
		p.add(field(path, "retainFor"), "must be at least 1s (got %s)", l.RetainFor.String())
	}
}

// endpointProblem checks an endpoint as SetDefaults left it (an http:// or https:// scheme
// already stripped) against what the S3 client accepts: host[:port], nothing else.
func endpointProblem(e string) string {
	switch {
	// First, and without repeating the endpoint: user-info may hold a secret key.
	case strings.Contains(e, "@"):
		return "must not contain credentials (user:password@); set accessKeyID and secretAccessKey instead"
	case strings.HasPrefix(e, "https://"):
		return "https:// contradicts insecure: true; drop one of them"
	case strings.Contains(e, "://"):
		return fmt.Sprintf("must be host[:port], optionally after https:// or http:// (got %q)", e)
	case strings.Contains(e, "/"):
		return fmt.Sprintf("must be host[:port] without a path (got %q); put a key prefix in prefix", e)
	case strings.ContainsAny(e, "?#"):
		return fmt.Sprintf("must be host[:port] without a query or fragment (got %q)", e)
	case e == "":
		return "must be host[:port] (got no host); leave endpoint out for AWS S3"
	}
	host := e
	if strings.Contains(e, ":") {
		h, port, err := net.SplitHostPort(e)
		if err != nil {
			return fmt.Sprintf("must be host[:port] (got %q); write an IPv6 address as [address]:port", e)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port must be a number between 1 and 65535 (got %q in %q)", port, e)
		}
		host = h
	}
	if !s3utils.IsValidDomain(host) && !s3utils.IsValidIP(host) {
		return fmt.Sprintf("%q is not a valid host name or IP address", host)
	}
	return ""
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

func validateEncryption(p *problems, path string, e Encryption) {
	if e.Age == nil {
		return
	}
	path = field(path, "age")
	if len(e.Age.Recipients) == 0 && e.Age.RecipientsFile == "" {
		p.add(path, "set recipients or recipientsFile (an identityFile alone would leave backups unencrypted)")
	}
	var pq, classic bool
	for i, r := range e.Age.Recipients {
		isPQ, err := parseRecipient(r)
		if err != nil {
			p.add(index(field(path, "recipients"), i), "%s", err)
			continue
		}
		pq, classic = pq || isPQ, classic || !isPQ
	}
	if pq && classic {
		p.add(field(path, "recipients"), "post-quantum (age1pq1...) and classic (age1...) recipients cannot be mixed")
	}
}

func validateServer(p *problems, path string, s *Server) {
	validateSecret(p, field(path, "token"), s.Token, false)
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil || port == "" {
		p.add(field(path, "listen"), "must be host:port, like 127.0.0.1:8080 or :8080 (got %q)", s.Listen)
	} else if !isLoopback(host) && !s.Token.IsSet() {
		p.add(field(path, "token"), "required when listen (%s) is reachable from other hosts; set "+
			"token: {file: /path} or listen on 127.0.0.1", s.Listen)
	}
	if s.TLS != nil {
		p.required(field(path, "tls.certFile"), s.TLS.CertFile)
		p.required(field(path, "tls.keyFile"), s.TLS.KeyFile)
	}
	if s.HistoryLimit < 1 {
		p.add(field(path, "historyLimit"), "must be at least 1 (got %d)", s.HistoryLimit)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
