package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/metrics"
)

// Tokens of the ownership tests: Flagger's for namespace test (given in its
// webhook's URL), another team's token for the same namespace, one for
// another namespace, and an unscoped write token.
const (
	flaggerToken   = "flagger-test-token-0123456789"
	neighbourToken = "neighbour-test-token-0123456789"
	otherNSToken   = "other-ns-token-0123456789"
	unscopedToken  = "unscoped-write-token-0123456789"
)

func ownershipTokens(t *testing.T) *auth.Tokens {
	t.Helper()
	tokens, err := auth.Parse("write:"+flaggerToken+":test\nwrite:"+neighbourToken+":test\nwrite:"+otherNSToken+":other\nwrite:"+unscopedToken+"\nread:"+readToken+"\n", "tokens")
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// do is send with the default client.
func do(t *testing.T, method, url, token, body string) (int, http.Header, string) {
	t.Helper()
	return send(t, http.DefaultClient, method, url, token, body)
}

// flaggerCall posts Flagger's webhook payload for podinfo in namespace ns,
// with token in the URL (as Flagger must: it sends no headers) or none.
func flaggerCall(t *testing.T, base, ns, token, canary, checksum string, md map[string]string) (int, string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"name": "podinfo", "namespace": ns, "phase": "Progressing", "checksum": checksum,
		"metadata": mergeMetadata(map[string]string{"config": "podinfo", "canary": canary}, md)})
	u := base + "/webhooks/flagger"
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	code, _, body := do(t, "POST", u, "", string(payload))
	return code, body
}

// TestFlaggerOwnership is the regression test for rows 1–3 of issue 30,
// through the real routes: with the flagger preset open, anyone could burn
// a revision's error budget with good looks (then a regressed canary
// PASSed), forge its verdict with a new checksum, poison its sequence with
// regressed data or lock its plan. Now the webhook needs a token scoped to
// the canary's namespace, the canary belongs to the token that first
// called for it, deployer-named sequences are written only through their
// deployer's surface, and the score query reads the current revision.
func TestFlaggerOwnership(t *testing.T) {
	prom, end, config := flaggerSetup(t)
	s := startServer(t, Config{Tokens: ownershipTokens(t), OpenRoutes: []string{"flagger"},
		Accounts: []metrics.Account{{Name: "prom", Type: "prometheus", URL: prom}}})
	base := "http://" + s.Addr()
	if code, _, body := do(t, "PUT", base+"/v1/canaryConfigs/podinfo", unscopedToken, config); code != 200 {
		t.Fatalf("put config: %d %s", code, body)
	}
	window := map[string]string{"end": end.Format(time.RFC3339), "window": "39m"}
	query := func() string {
		t.Helper()
		var out struct {
			Data struct{ Result []struct{ Value []any } }
		}
		code, _, body := do(t, "GET", base+"/api/v1/query?query="+url.QueryEscape(`judge_verdict{name="podinfo",namespace="test"}`), "", "")
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("score query (opened by the preset): %d %s", code, body)
		}
		if len(out.Data.Result) == 0 {
			return ""
		}
		return out.Data.Result[0].Value[1].(string)
	}

	// Before anything: no caller without a token, none with an unscoped
	// token in the URL, none scoped to another namespace writes anything.
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token (the preset opens reading only)", "", 401},
		{"an unscoped token in the URL", unscopedToken, 403},
		{"a token of another namespace", otherNSToken, 403},
		{"a read token", readToken, 403},
	} {
		for range 3 {
			if code, body := flaggerCall(t, base, "test", tc.token, "podinfo", "rev1", window); code != tc.want {
				t.Fatalf("%s: %d %s, want %d", tc.name, code, body, tc.want)
			}
		}
	}
	// Row 1 through the API: good looks posted to Flagger's sequence by a
	// write token are refused, whatever its scopes.
	good := lookBody(0, "flagger:test/podinfo/rev1", 0, "")
	for _, tok := range []string{unscopedToken, flaggerToken} {
		if code, _, body := do(t, "POST", base+"/v1/analyze", tok, good); code != 403 || !strings.Contains(body, "webhooks/flagger") {
			t.Errorf("a look at flagger:test/podinfo/rev1 through /v1/analyze: %d %s, want 403 naming the webhook", code, body)
		}
	}
	if got := query(); got != "" {
		t.Fatalf("after refused calls the score query answers %q, want an empty vector", got)
	}

	// Flagger's first check of rev1 passes: the canary is its token's.
	if code, body := flaggerCall(t, base, "test", flaggerToken, "podinfo", "rev1", window); code != 200 || !strings.Contains(body, "look 1 (open-ended)") {
		t.Fatalf("Flagger's first check: %d %s", code, body)
	}
	// Row 3: another token of the same namespace can neither poison the
	// sequence with regressed data, nor lock its plan, nor burn it.
	for _, md := range []map[string]string{window, mergeMetadata(map[string]string{"looks": "1"}, window)} {
		if code, body := flaggerCall(t, base, "test", neighbourToken, "podinfo-slow", "rev1", md); code != 403 {
			t.Errorf("a neighbour's look at Flagger's canary: %d %s, want 403", code, body)
		}
	}
	// Row 2: nor forge a passing verdict with a new checksum.
	if code, body := flaggerCall(t, base, "test", neighbourToken, "podinfo", "rev-forged", window); code != 403 {
		t.Errorf("a neighbour's new revision: %d %s, want 403", code, body)
	}
	// Flagger's own next check of rev1 is judged on its data (look 2), not
	// answered "has failed" from a poisoned look.
	code, body := flaggerCall(t, base, "test", flaggerToken, "podinfo-slow", "rev1", window)
	if code != 409 || !strings.Contains(body, "look 2 (open-ended)") || strings.Contains(body, "has failed") {
		t.Fatalf("Flagger's second check on a regressed canary: %d %s, want 409 judged at look 2", code, body)
	}
	if got := query(); got != "0" {
		t.Errorf("judge_verdict after the real FAIL: %q, want 0", got)
	}
	// The score query answers the revision the webhook last saw from its
	// owner: a new revision not judged yet has no verdict, whatever an
	// earlier one had.
	if code, body := flaggerCall(t, base, "test", flaggerToken, "podinfo", "rev2", map[string]string{"window": "10m"}); code != http.StatusTooEarly {
		t.Fatalf("the first call of rev2: %d %s, want 425", code, body)
	}
	if got := query(); got != "" {
		t.Errorf("judge_verdict for rev2 before it was judged: %q, want an empty vector", got)
	}
	// The Flagger token itself cannot reach another namespace.
	if code, body := flaggerCall(t, base, "other", flaggerToken, "podinfo", "rev1", window); code != 403 {
		t.Errorf("the test token in namespace other: %d %s, want 403", code, body)
	}
}

// TestSequenceOwnership: a sequence belongs to the token that started it:
// another token's looks are refused (synchronous and queued), a scoped
// token writes and reads only its own namespace, and the Argo web
// provider's sequences are written only through its webhook.
func TestSequenceOwnership(t *testing.T) {
	s := startServer(t, Config{Tokens: ownershipTokens(t)})
	base := "http://" + s.Addr()
	name := "argo:test/rollout-abc/uid-1/latency"
	if code, _, body := do(t, "POST", base+"/v1/analyze", flaggerToken, lookBody(0, name, 0, "")); code != 200 {
		t.Fatalf("the owner's first look: %d %s", code, body)
	}
	for _, tc := range []struct {
		name, token, path, body string
	}{
		{"a neighbour's regressed look", neighbourToken, "/v1/analyze", lookBody(40, name, 0, "")},
		{"an unscoped token's plan lock", unscopedToken, "/v1/analyze", lookBody(0, name, 1, "")},
		{"a neighbour's queued look", neighbourToken, "/v1/analyses", lookBody(40, name, 0, "")},
		{"another namespace's token", otherNSToken, "/v1/analyze", lookBody(0, "argo:test/x/y/z", 0, "")},
		{"an Argo web name through the API", unscopedToken, "/v1/analyze", lookBody(0, "argo-web:test/abc", 0, "")},
	} {
		if code, _, body := do(t, "POST", base+tc.path, tc.token, tc.body); code != 403 {
			t.Errorf("%s: %d %s, want 403", tc.name, code, body)
		}
	}
	var seq struct {
		History []json.RawMessage `json:"history"`
		State   string            `json:"state"`
	}
	code, _, body := do(t, "GET", base+"/v1/sequences/"+name, flaggerToken, "")
	if code != 200 || json.Unmarshal([]byte(body), &seq) != nil || len(seq.History) != 1 || seq.State != "open" {
		t.Fatalf("the owner reads its sequence: %d, %d looks, state %q", code, len(seq.History), seq.State)
	}
	if code, _, _ := do(t, "GET", base+"/v1/sequences/"+name, otherNSToken, ""); code != 403 {
		t.Errorf("a token of another namespace reads the sequence: %d, want 403", code)
	}
	// The owner goes on.
	if code, _, body := do(t, "POST", base+"/v1/analyze", flaggerToken, lookBody(0, name, 0, "")); code != 200 || !strings.Contains(body, `"look":2`) {
		t.Errorf("the owner's second look: %d %s", code, body)
	}
}

// TestSequenceNamesPathSafe is the regression test for row 11: names that
// cannot be read back at /v1/sequences/{name} are refused.
func TestSequenceNamesPathSafe(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	for _, name := range []string{".", "..", "a/../b", "a/./b", "/a", "a/", "a//b"} {
		if code, _, body := do(t, "POST", base+"/v1/analyze", "", lookBody(0, name, 0, "")); code != 400 || !strings.Contains(body, "spec.sequence") {
			t.Errorf("sequence %q: %d %s, want 400 naming spec.sequence", name, code, body)
		}
	}
	if code, _, body := do(t, "POST", base+"/v1/analyze", "", lookBody(0, "team/a.b/c..d", 0, "")); code != 200 {
		t.Errorf("a name with dots inside segments: %d %s", code, body)
	}
}
