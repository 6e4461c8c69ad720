// Package transport sorts the network and TLS errors of a store's HTTP client into the
// few problems an operator can act on, so that every network store (s3, gcs, azure) tells
// them apart the same way and only words its own advice.
package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Problem is what went wrong on the way to the server.
type Problem int

const (
	// None: the error is not a transport problem (or not one of these).
	None Problem = iota
	// Untrusted: the server's TLS certificate is not signed by a trusted CA, or invalid.
	Untrusted
	// WrongHost: the certificate is for another host name.
	WrongHost
	// PlainHTTP: an https:// endpoint answered in plain HTTP.
	PlainHTTP
	// Unreachable: no DNS record, refused, reset, unreachable, cut off or timed out.
	Unreachable
)

// Classify says which Problem err is.
func Classify(err error) Problem {
	var (
		unknownCA   x509.UnknownAuthorityError
		hostname    x509.HostnameError
		invalidCert x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
		netErr      net.Error
		dnsErr      *net.DNSError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &invalidCert):
		return Untrusted
	case errors.As(err, &hostname):
		return WrongHost
	case errors.As(err, &recordErr),
		// net/http has no error type for this one; matching its text is the only way.
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return PlainHTTP
	case errors.As(err, &dnsErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.As(err, &netErr) && netErr.Timeout():
		return Unreachable
	}
	return None
}
