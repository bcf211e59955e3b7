package server

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// noRedirect is a client that reports redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func uiGet(t *testing.T, u string, header http.Header, cookies ...*http.Cookie) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// TestUIAuth checks that the web UI respects the service's tokens: a
// browser without one is sent to the login form, a read token in the
// header or the login cookie opens the pages, a bad token is refused, and
// the pages forbid loading anything from elsewhere.
func TestUIAuth(t *testing.T) {
	s := startServer(t, Config{Tokens: testTokens(t)})
	base := "http://" + s.Addr()
	if code, _, h := uiGet(t, base+"/ui/", nil); code != http.StatusSeeOther || h.Get("Location") != "/ui/login" {
		t.Errorf("no token: %d to %q, want 303 to /ui/login", code, h.Get("Location"))
	}
	code, page, h := uiGet(t, base+"/ui/", http.Header{"Authorization": {"Bearer " + readToken}})
	if code != 200 || !strings.Contains(page, "<h1>Analyses</h1>") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("read token: %d %q", code, h.Get("Content-Security-Policy"))
	}
	resp, err := noRedirect.PostForm(base+"/ui/login", url.Values{"token": {"not-a-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("bad token: %d with %d cookies", resp.StatusCode, len(resp.Cookies()))
	}
	resp, err = noRedirect.PostForm(base+"/ui/login", url.Values{"token": {readToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly || !cookies[0].Secure || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d %+v", resp.StatusCode, cookies)
	}
	if code, _, _ := uiGet(t, base+"/ui/configs/", nil, cookies[0]); code != 200 {
		t.Errorf("with the login cookie: %d", code)
	}
}

// TestUIPages checks the pages' answers to bad input and hostile names.
func TestUIPages(t *testing.T) {
	s := startServer(t, Config{})
	base := "http://" + s.Addr()
	hostile := `<script>alert(1)</script>`
	cfg := `{"config":{"name":"svc","metrics":[{"name":` + quoteJSON(hostile) + `,"groups":["g"]}]}}`
	if code := call(t, "PUT", base+"/v1/canaryConfigs/svc", cfg, nil); code != 200 {
		t.Fatalf("put config: %d", code)
	}
	code, page, _ := uiGet(t, base+"/ui/configs/svc", nil)
	if code != 200 || strings.Contains(page, hostile) || !strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("config page: %d, hostile name unescaped: %v", code, strings.Contains(page, hostile))
	}
	// A second version, and the diff between them.
	cfg2 := strings.Replace(cfg, `"groups":["g"]`, `"groups":["g"],"direction":"increase"`, 1)
	if code := call(t, "PUT", base+"/v1/canaryConfigs/svc", cfg2, nil); code != 200 {
		t.Fatalf("put config v2: %d", code)
	}
	code, page, _ = uiGet(t, base+"/ui/configs/svc?from=1&to=2", nil)
	text := html.UnescapeString(page)
	if code != 200 || !strings.Contains(text, "--- version 1") || !strings.Contains(text, "+++ version 2") ||
		!strings.Contains(text, `+      "direction": "increase"`) || strings.Contains(page, hostile) {
		t.Errorf("diff page: %d\n%s", code, page)
	}
	if code, page, _ = uiGet(t, base+"/ui/configs/svc?version=1", nil); code != 200 || strings.Contains(page, "increase") {
		t.Errorf("version 1: %d", code)
	}
	for path, want := range map[string]int{
		"/ui/analyses/nope":         http.StatusNotFound,
		"/ui/configs/nope":          http.StatusNotFound,
		"/ui/?status=sleeping":      http.StatusBadRequest,
		"/ui/?result=MAYBE":         http.StatusBadRequest,
		"/ui/?page=%00garbage":      http.StatusBadRequest,
		"/ui/?config=" + hostile:    http.StatusOK,
		"/ui/?status=succeeded":     http.StatusOK,
		"/ui/configs/?page=broken":  http.StatusBadRequest,
		"/ui/configs/svc?version=9": http.StatusNotFound,
		"/ui/configs/svc?from=0":    http.StatusNotFound,
	} {
		code, page, _ := uiGet(t, base+path, nil)
		if code != want || strings.Contains(page, hostile) {
			t.Errorf("%s: %d, want %d (hostile text unescaped: %v)", path, code, want, strings.Contains(page, hostile))
		}
	}
}

func quoteJSON(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
