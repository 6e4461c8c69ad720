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

// Serve runs the server on ln until ctx ends, then shuts down in order: stop accepting
// connections (requests in flight get a few seconds), stop scheduling, let running
// backups finish within the grace period or cancel them. With tlsCfg set it speaks HTTPS.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsCfg *config.ServerTLS) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	if tlsCfg != nil {
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	serveErr := make(chan error, 1)
	go func() {
		var err error
		if tlsCfg != nil {
			err = hs.ServeTLS(ln, tlsCfg.CertFile, tlsCfg.KeyFile)
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
		err = fmt.Errorf("HTTP server: %w", err)
		if tlsCfg != nil {
			err = fmt.Errorf("%w (check server.tls.certFile and keyFile)", err)
		}
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
