package main

import (
	"bytes"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a process writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeSignals is the regression test for row 10 of issue 30: SIGHUP
// ended the server without a log line and the tokens file was never re-read
// (revoking a token needed a restart). judge serve, a real process, re-reads
// the tokens on SIGHUP and logs it, keeps the current ones when the new file
// is bad, and drains on SIGTERM.
func TestServeSignals(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "judge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const revoked, kept = "revoked-token-0123456789", "kept-token-0123456789"
	tokens := writeFile(t, dir, "tokens", "read:"+revoked+"\nread:"+kept+"\n")
	var logs syncBuffer
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"), "--auth-tokens-file", tokens)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	status := func(token string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/analyses", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); {
			select {
			case err := <-exited:
				t.Fatalf("judge serve exited while waiting for %s: %v\n%s", what, err, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the server", func() bool { return status(revoked) == 200 })

	// A bad tokens file, then an empty one: the current tokens stay (an
	// emptied file never turns authentication off), and the log says why.
	for i, bad := range []string{"reader:" + kept + "\n", "# all gone\n"} {
		writeFile(t, dir, "tokens", bad)
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor("the log of a refused reload", func() bool { return strings.Count(logs.String(), "tokens not reloaded") == i+1 })
		if status(revoked) != 200 || status(kept) != 200 || status("") != 401 {
			t.Errorf("after refused reload %d: %d %d (no token: %d), want both tokens still accepted and none refused", i+1, status(revoked), status(kept), status(""))
		}
	}

	// Revoking a token: SIGHUP, and it is refused from then on.
	writeFile(t, dir, "tokens", "read:"+kept+"\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the revoked token refused", func() bool { return status(revoked) == 401 })
	if status(kept) != 200 {
		t.Errorf("the kept token after the reload: %d", status(kept))
	}
	if !strings.Contains(logs.String(), "reloaded auth tokens") || strings.Contains(logs.String(), kept) || strings.Contains(logs.String(), revoked) {
		t.Errorf("the log does not say the tokens were reloaded, or quotes a token:\n%s", logs.String())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("judge serve after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("judge serve did not stop on SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no drain logged:\n%s", logs.String())
	}
}
