package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canaryjudge/judge/metrics"
)

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCancelLogsInfo is the regression test for a normal cancel of a
// running analysis logged as level=ERROR msg="internal error": the worker
// stops fetching and says so at INFO.
func TestCancelLogsInfo(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	t.Cleanup(hang.Close)
	var logs lockedBuffer
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Lease: 300 * time.Millisecond, Poll: 20 * time.Millisecond,
		Accounts: []metrics.Account{{Name: "p", Type: "prometheus", URL: hang.URL, Timeout: time.Minute}}},
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	base := "http://" + s.Addr()
	scope := `{"scope":"%s","start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z","step_seconds":60}`
	body := fmt.Sprintf(`{"spec":{"canary_config":{"metrics":[{"name":"m","groups":["g"],"query":{"prometheus":"up{pod=\"${scope}\"}"}}]},
		"scopes":{"default":{"control_scope":`+scope+`,"experiment_scope":`+scope+`}}}}`, "a", "b")
	var created struct{ Analysis struct{ ID string } }
	if code := call(t, "POST", base+"/v1/analyses", body, &created); code != 200 {
		t.Fatalf("POST /v1/analyses: %d", code)
	}
	id := created.Analysis.ID
	var got struct{ Analysis struct{ Status string } }
	for deadline := time.Now().Add(10 * time.Second); !strings.HasSuffix(got.Analysis.Status, "RUNNING"); time.Sleep(20 * time.Millisecond) {
		call(t, "GET", base+"/v1/analyses/"+id, "", &got)
		if time.Now().After(deadline) {
			t.Fatalf("not running: %+v", got)
		}
	}
	if code := call(t, "POST", base+"/v1/analyses/"+id+":cancel", "{}", nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "analysis not recorded"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not stop on the cancel; logs:\n%s", logs.String())
		}
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a cancel logged an error:\n%s", logs.String())
	}
}
