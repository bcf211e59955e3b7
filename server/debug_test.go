package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDebugProfiles: Go's profiles are served only when asked for, only on
// their own loopback listener, and never on the API's address; a debug
// address off loopback is refused at start, naming the setting.
func TestDebugProfiles(t *testing.T) {
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url) //nolint:gosec // the test's own server
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	s := startServer(t, Config{DebugAddr: "127.0.0.1:0"})
	if s.DebugAddr() == "" {
		t.Fatal("no debug listener")
	}
	if code, body := get("http://" + s.DebugAddr() + "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("debug index: %d %.100q", code, body)
	}
	if code, _ := get("http://" + s.DebugAddr() + "/debug/pprof/profile?seconds=1"); code != 200 {
		t.Errorf("CPU profile: %d", code)
	}
	if code, _ := get("http://" + s.Addr() + "/debug/pprof/"); code == 200 {
		t.Error("the API's address serves the profiles")
	}
	if off := startServer(t, Config{}); off.DebugAddr() != "" {
		t.Errorf("a debug listener without debug-addr: %s", off.DebugAddr())
	}
	for _, addr := range []string{"0.0.0.0:0", "10.1.2.3:6060", ":6060", "nohost"} {
		s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), DebugAddr: addr}, quiet)
		if err == nil {
			_ = s.Shutdown(context.Background())
			t.Errorf("debug-addr %q accepted", addr)
			continue
		}
		if !strings.Contains(err.Error(), "debug-addr") {
			t.Errorf("debug-addr %q: error %q does not name the setting", addr, err)
		}
		if addr != "nohost" && !errors.Is(err, errDebugAddr) {
			t.Errorf("debug-addr %q: %v, want errDebugAddr", addr, err)
		}
	}
}
