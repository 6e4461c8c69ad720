package postgres

import (
	"context"
	"net"
	"strings"
	"time"
)

// SameDatabase reports whether a and b may name the same database on the same server,
// as libpq would resolve them: DSNs parsed and overridden by the fields, defaults
// applied, every host of a multi-host DSN considered, and host names compared by
// address when they resolve. It errs towards true: callers use it to refuse to drop a
// database (a drill's scratch database must never be the live one).
func SameDatabase(ctx context.Context, a, b Options) (bool, error) {
	ea, err := endpointsOf(a)
	if err != nil {
		return false, err
	}
	eb, err := endpointsOf(b)
	if err != nil {
		return false, err
	}
	if ea.db != eb.db {
		return false, nil
	}
	for _, x := range ea.hosts {
		for _, y := range eb.hosts {
			if x.port == y.port && sameHost(ctx, x.host, y.host) {
				return true, nil
			}
		}
	}
	return false, nil
}

type hostPort struct {
	host string
	port uint16
}

type endpoints struct {
	db    string
	hosts []hostPort
}

func endpointsOf(o Options) (endpoints, error) {
	srv, err := resolve(o)
	if err != nil {
		return endpoints{}, err
	}
	cfg, err := srv.config("")
	if err != nil {
		return endpoints{}, err
	}
	// The server takes the user name for a missing database name.
	e := endpoints{db: cfg.Database}
	if e.db == "" {
		e.db = cfg.User
	}
	e.hosts = append(e.hosts, hostPort{cfg.Host, cfg.Port})
	for _, f := range cfg.Fallbacks {
		e.hosts = append(e.hosts, hostPort{f.Host, f.Port})
	}
	return e, nil
}

// sameHost compares two libpq hosts. A Unix socket directory and a loopback address are
// both this machine; names are compared by the addresses they resolve to, as "db" and
// "db.argo.svc.cluster.local" are the same Service.
func sameHost(ctx context.Context, a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b || (isLocal(a) && isLocal(b)) {
		return true
	}
	if strings.HasPrefix(a, "/") || strings.HasPrefix(b, "/") {
		return false // a socket directory and a remote host
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ipsA, errA := net.DefaultResolver.LookupHost(ctx, a)
	ipsB, errB := net.DefaultResolver.LookupHost(ctx, b)
	if errA != nil || errB != nil {
		return false
	}
	for _, x := range ipsA {
		for _, y := range ipsB {
			if net.ParseIP(x).Equal(net.ParseIP(y)) {
				return true
			}
		}
	}
	return false
}

func isLocal(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
