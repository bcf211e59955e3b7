package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// errDebugAddr refuses a debug address other than loopback.
var errDebugAddr = errors.New("debug-addr must be a loopback address (127.0.0.1, [::1] or localhost): Go's profiles have no authentication; reach them with kubectl port-forward")

// debugHandler serves Go's runtime profiles under /debug/pprof/, as
// net/http/pprof registers them (go tool pprof http://ADDR/debug/pprof/profile).
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// listenDebug opens the debug listener, on loopback only.
func listenDebug(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("debug-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("debug-addr %q: %w", addr, errDebugAddr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on debug-addr %s: %w", addr, err)
	}
	return ln, nil
}

// newDebugServer serves the profiles; a CPU profile or trace may run for
// its requested seconds, so writes are not bounded.
func newDebugServer() *http.Server {
	return &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
}

// DebugAddr is the debug listener's address, or "" without one.
func (s *Server) DebugAddr() string {
	if s.debugLn == nil {
		return ""
	}
	return s.debugLn.Addr().String()
}
