package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// LoadTLS reads server.tls's certificate and key. Call it before Serve: a server that
// started its schedules (and a baseline backup) only to fail on a bad key file would run
// a backup and then exit with an error nobody connects to the TLS files.
func LoadTLS(c *config.ServerTLS) (*tls.Config, error) {
	if c == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server.tls: load the certificate %s and key %s: %w; check server.tls.certFile and "+
			"keyFile (PEM files, readable by lifeboat, the key matching the certificate)", c.CertFile, c.KeyFile, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// Serve runs the server on ln until ctx ends, then shuts down in order: stop accepting
// connections (requests in flight get a few seconds), stop scheduling, let running
// backups finish within the grace period or cancel them. With tlsCfg (from LoadTLS) set
// it speaks HTTPS.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsCfg *tls.Config) error {
	if tlsCfg != nil && len(tlsCfg.Certificates) == 0 && tlsCfg.GetCertificate == nil {
		return errors.New("server: a TLS config without a certificate (a lifeboat bug: use LoadTLS)")
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         tlsCfg,
	}
	serveErr := make(chan error, 1)
	go func() {
		var err error
		if tlsCfg != nil {
			err = hs.ServeTLS(ln, "", "")
		} else {
			err = hs.Serve(ln)
		}
		serveErr <- err
	}()
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	s.log.Info("lifeboat serve listening", "url", scheme+"://"+ln.Addr().String(), "sources", len(s.app.Config.Sources))

	var err error
	select {
	case <-ctx.Done():
		s.log.Info("stopping: no new requests or backups")
	case err = <-serveErr:
		err = fmt.Errorf("HTTP server on %s: %w", ln.Addr(), err)
	}
	s.mu.Lock()
	s.stopping = true // readyz answers 503 while in-flight requests drain
	s.mu.Unlock()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if serr := hs.Shutdown(shutCtx); serr != nil && !errors.Is(serr, context.DeadlineExceeded) {
		s.log.Warn("HTTP shutdown", "err", serr)
	}
	cancel()
	s.Shutdown(context.Background())
	s.log.Info("lifeboat serve stopped")
	return err
}
