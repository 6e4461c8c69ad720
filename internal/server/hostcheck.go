package server

import (
	"net"
	"net/http"
	"strings"
)

// loopbackHostOnly protects a server without a token, which config validation lets
// listen on loopback only, against DNS rebinding: a web page in the operator's browser
// could make its own name resolve to 127.0.0.1 and read the API. The browser still sends
// that name as Host, so only localhost, 127.0.0.1 and [::1] (any port) are served. The
// probes are exempt: they reveal nothing.
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || loopbackHost(r.Host) {
			h.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusMisdirectedRequest, "lifeboat serve without server.token answers only to "+
			"Host localhost, 127.0.0.1 or [::1] (DNS-rebinding protection); open http://127.0.0.1:<port>/, "+
			"or set server.token to serve other names")
	})
}

func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
