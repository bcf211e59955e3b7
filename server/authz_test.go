package server

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/server/kayentaapi"
	"github.com/canaryjudge/judge/server/webhook"
)

// policy is the declared authorisation policy: the role each operation
// needs, by route pattern (HTTP) and by RPC (gRPC and /v1). Anything that
// runs an analysis or fetches from a source needs write, whatever the
// method; deleting needs admin. A route or RPC added without an entry here
// fails TestAuthorizationMatrix.
var policy = map[string]auth.Role{
	"GET /canaryConfig":                           auth.RoleRead,
	"GET /canaryConfig/{id}":                      auth.RoleRead,
	"POST /canaryConfig":                          auth.RoleWrite,
	"PUT /canaryConfig/{id}":                      auth.RoleWrite,
	"DELETE /canaryConfig/{id}":                   auth.RoleAdmin,
	"POST /canary/{configId}":                     auth.RoleWrite,
	"POST /canary":                                auth.RoleWrite,
	"GET /canary/{id}":                            auth.RoleRead,
	"GET /canary/executions":                      auth.RoleRead,
	"GET /metadata/metricsService":                auth.RoleWrite,
	"GET /metricSetPairList/{id}":                 auth.RoleRead,
	"GET /judges":                                 auth.RoleRead,
	"GET /credentials":                            auth.RoleRead,
	"POST /judge":                                 auth.RoleWrite,
	"POST /standalone_canary_analysis/{configId}": auth.RoleWrite,
	"POST /standalone_canary_analysis":            auth.RoleWrite,
	"GET /standalone_canary_analysis/{id}":        auth.RoleRead,
	"PUT /pipelines/{id}/cancel":                  auth.RoleWrite,
	"GET /webhooks/argo":                          auth.RoleWrite,
	"POST /webhooks/argo":                         auth.RoleWrite,
	"POST /webhooks/flagger":                      auth.RoleWrite,
	"GET /api/v1/query":                           auth.RoleRead,
	"POST /api/v1/query":                          auth.RoleRead,

	judgev1.JudgeService_Analyze_FullMethodName:                  auth.RoleWrite,
	judgev1.JudgeService_CreateAnalysis_FullMethodName:           auth.RoleWrite,
	judgev1.JudgeService_CancelAnalysis_FullMethodName:           auth.RoleWrite,
	judgev1.JudgeService_PutCanaryConfig_FullMethodName:          auth.RoleWrite,
	judgev1.JudgeService_GetAnalysis_FullMethodName:              auth.RoleRead,
	judgev1.JudgeService_ListAnalyses_FullMethodName:             auth.RoleRead,
	judgev1.JudgeService_WatchAnalysis_FullMethodName:            auth.RoleRead,
	judgev1.JudgeService_GetCanaryConfig_FullMethodName:          auth.RoleRead,
	judgev1.JudgeService_ListCanaryConfigVersions_FullMethodName: auth.RoleRead,
	judgev1.JudgeService_GetSequence_FullMethodName:              auth.RoleRead,
	judgev1.JudgeService_ListCanaryConfigs_FullMethodName:        auth.RoleRead,
	judgev1.JudgeService_DeleteCanaryConfig_FullMethodName:       auth.RoleAdmin,
	judgev1.JudgeService_LabelAnalysis_FullMethodName:            auth.RoleWrite,
	judgev1.JudgeService_ReplayAnalyses_FullMethodName:           auth.RoleWrite,
}

// endpoint is one route of the server as the matrix sees it.
type endpoint struct {
	method, pattern string // pattern: the route's path pattern
	role            auth.Role
	key             string // its policy key
}

// serverEndpoints walks the server's own route tables: the Kayenta and
// webhook routes and every RPC's /v1 route.
func serverEndpoints(t *testing.T) []endpoint {
	t.Helper()
	var out []endpoint
	for _, r := range routeTable(kayentaapi.Deps{}, webhook.Deps{}) {
		method, path, _ := strings.Cut(r.Pattern, " ")
		out = append(out, endpoint{method, path, r.Role, r.Pattern})
	}
	for _, r := range gatewayRoutes() {
		out = append(out, endpoint{r.Method, r.Path, roleOf(r.FullMethod), r.FullMethod})
	}
	return out
}

// matchSegments reports whether path matches pattern segment by segment (a
// {variable} matches any text within one segment: {id}:cancel) and how
// many of the pattern's segments are wholly literal.
func matchSegments(pattern, path string) (literals int, ok bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return 0, false
	}
	for i, p := range ps {
		if !strings.Contains(p, "{") {
			if p != xs[i] {
				return 0, false
			}
			literals++
			continue
		}
		var re strings.Builder
		re.WriteString("^")
		for rest := p; rest != ""; {
			open := strings.Index(rest, "{")
			if open < 0 {
				re.WriteString(regexp.QuoteMeta(rest))
				break
			}
			re.WriteString(regexp.QuoteMeta(rest[:open]) + "[^/]+")
			end := strings.Index(rest[open:], "}")
			if end < 0 {
				return 0, false
			}
			rest = rest[open+end+1:]
		}
		re.WriteString("$")
		if !regexp.MustCompile(re.String()).MatchString(xs[i]) {
			return 0, false
		}
	}
	return literals, true
}

// concrete fills a pattern's variables: /canary/{id} → /canary/x.
func concrete(pattern string) string {
	var b strings.Builder
	depth := 0
	for _, c := range pattern {
		switch {
		case c == '{':
			depth++
			b.WriteByte('x')
		case c == '}':
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// TestAuthorizationMatrix sends every route of the server × every method
// (HEAD, OPTIONS and method-override headers too) × no token, read, write
// and admin, with and without open routes, and checks each answer
// against the declared policy: 401 without a token, 403 for a role too
// weak, served otherwise; a method no route declares is never served.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	endpoints := serverEndpoints(t)
	declared := map[string]bool{}
	for _, e := range endpoints {
		declared[e.key] = true
		want, ok := policy[e.key]
		switch {
		case !ok:
			t.Errorf("%s %s (%s) has no entry in the declared policy", e.method, e.pattern, e.key)
		case e.role != want:
			t.Errorf("%s %s needs %q on the server, %q in the policy", e.method, e.pattern, e.role, want)
		}
	}
	svc := judgev1.File_judge_v1_judge_proto.Services().ByName("JudgeService")
	for i := range svc.Methods().Len() {
		full := fmt.Sprintf("/%s/%s", svc.FullName(), svc.Methods().Get(i).Name())
		if _, ok := methodRoles[full]; !ok {
			t.Errorf("RPC %s has no role in methodRoles", full)
		}
		declared[full] = true // WatchAnalysis is gRPC only
	}
	for key := range policy {
		if !declared[key] {
			t.Errorf("policy entry %q matches no route of the server", key)
		}
	}

	paths := map[string]bool{}
	for _, e := range endpoints {
		paths[concrete(e.pattern)] = true
	}
	// route finds the endpoint serving method on path, if any: as the
	// server's mux does, the pattern with the most literal segments among
	// those that match (POST /canary/executions starts config
	// "executions", as on Kayenta).
	route := func(method, path string) (endpoint, bool) {
		best, literals := endpoint{}, -1
		for _, e := range endpoints {
			if e.method != method && (method != http.MethodHead || e.method != http.MethodGet) {
				continue
			}
			if n, ok := matchSegments(e.pattern, path); ok && n > literals {
				best, literals = e, n
			}
		}
		return best, literals >= 0
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}
	tokens := map[auth.Role]string{"": "", auth.RoleRead: readToken, auth.RoleWrite: writeToken, auth.RoleAdmin: adminToken}
	for _, open := range [][]string{nil, {"argo-kayenta", "flagger"}} {
		openSet, err := resolveOpenRoutes(open)
		if err != nil {
			t.Fatal(err)
		}
		s := startServer(t, Config{Tokens: testTokens(t), OpenRoutes: open})
		base := "http://" + s.Addr()
		for _, path := range slices.Sorted(maps.Keys(paths)) {
			for _, method := range methods {
				e, served := route(method, path)
				for _, role := range []auth.Role{"", auth.RoleRead, auth.RoleWrite, auth.RoleAdmin} {
					got := callAuth(t, http.DefaultClient, method, base+path, tokens[role], "")
					name := fmt.Sprintf("open %v: %s %s with %q token: %d", open, method, path, role, got)
					switch {
					case !served:
						// No route declares this method: never served, whatever the token.
						if got != 401 && got != 404 && got != 405 && got != 501 {
							t.Errorf("%s, want 401, 404, 405 or 501", name)
						}
					case openSet[e.method+" "+e.pattern]:
						if got == 401 || got == 403 {
							t.Errorf("%s, want it served (opened)", name)
						}
					case role == "":
						if got != 401 {
							t.Errorf("%s, want 401", name)
						}
					case !role.Allows(e.role):
						if got != 403 {
							t.Errorf("%s, want 403 (needs %s)", name, e.role)
						}
					default:
						if got == 401 || got == 403 || got == 405 {
							t.Errorf("%s, want it served (needs %s)", name, e.role)
						}
					}
					// A method-override header never changes what is
					// authorised or routed.
					if method == http.MethodPost && role != "" {
						for _, override := range []string{"DELETE", "PUT", "GET"} {
							req, _ := http.NewRequest(method, base+path, strings.NewReader(""))
							req.Header.Set("Authorization", "Bearer "+tokens[role])
							req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
							req.Header.Set("X-HTTP-Method-Override", override)
							resp, err := http.DefaultClient.Do(req)
							if err != nil {
								t.Fatal(err)
							}
							resp.Body.Close()
							if resp.StatusCode != got {
								if !served && resp.StatusCode < 400 {
									t.Errorf("%s; with X-HTTP-Method-Override: %s: %d", name, override, resp.StatusCode)
								}
								if served && (resp.StatusCode == 200 || resp.StatusCode == 202) != (got == 200 || got == 202) {
									t.Errorf("%s; with X-HTTP-Method-Override: %s: %d", name, override, resp.StatusCode)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestAuthorizationUI walks the web UI's pages × methods × tokens: every
// page needs a read token (a browser without one is sent to the login
// form), only GET and HEAD are served, an analysis' label buttons post
// with a write token only, and the login form takes only GET, HEAD and
// POST.
func TestAuthorizationUI(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Tokens: testTokens(t), OpenRoutes: []string{"argo-kayenta", "flagger", "metrics"}})
	base := "http://" + s.Addr()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tokens := map[auth.Role]string{"": "", auth.RoleRead: readToken, auth.RoleWrite: writeToken, auth.RoleAdmin: adminToken}
	for _, path := range []string{"/ui/", "/ui/analyses/x", "/ui/configs/", "/ui/configs/x"} {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			for _, role := range []auth.Role{"", auth.RoleRead, auth.RoleWrite, auth.RoleAdmin} {
				got := callAuth(t, noRedirect, method, base+path, tokens[role], "")
				read := method == "GET" || method == "HEAD"
				switch {
				case role == "" && got != http.StatusSeeOther:
					t.Errorf("%s %s without a token: %d, want 303 to the login form", method, path, got)
				case role != "" && read && got != 200 && got != 404:
					t.Errorf("%s %s with %s: %d, want it served", method, path, role, got)
				case role != "" && !read && got != http.StatusMethodNotAllowed:
					t.Errorf("%s %s with %s: %d, want 405", method, path, role, got)
				}
			}
		}
	}
	// The label form: POST only, with a write token (no analysis x: 404).
	for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
		for role, want := range map[auth.Role]int{"": http.StatusSeeOther, auth.RoleRead: http.StatusMethodNotAllowed, auth.RoleWrite: http.StatusMethodNotAllowed, auth.RoleAdmin: http.StatusMethodNotAllowed} {
			if method == "POST" {
				want = map[auth.Role]int{"": http.StatusSeeOther, auth.RoleRead: http.StatusForbidden, auth.RoleWrite: http.StatusNotFound, auth.RoleAdmin: http.StatusNotFound}[role]
			}
			if got := callAuth(t, noRedirect, method, base+"/ui/analyses/x/label", tokens[role], "label=good"); got != want {
				t.Errorf("%s /ui/analyses/x/label with %q: %d, want %d", method, role, got, want)
			}
		}
	}
	for method, want := range map[string]int{"GET": 200, "HEAD": 200, "POST": 401, "PUT": 405, "DELETE": 405} {
		if got := callAuth(t, noRedirect, method, base+"/ui/login", "", ""); got != want {
			t.Errorf("%s /ui/login: %d, want %d", method, got, want)
		}
	}
}

// TestMethodOverrideCannotDelete is the regression test for a write token
// deleting a config (admin only) with POST and X-HTTP-Method-Override.
func TestMethodOverrideCannotDelete(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Tokens: testTokens(t)})
	base := "http://" + s.Addr()
	if got := callAuth(t, http.DefaultClient, "PUT", base+"/v1/canaryConfigs/c1", writeToken, `{"config":`+inlineConfig+`}`); got != 200 {
		t.Fatalf("PUT config: %d", got)
	}
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
		req, _ := http.NewRequest("POST", base+"/v1/canaryConfigs/c1", strings.NewReader(""))
		req.Header.Set("Authorization", "Bearer "+writeToken)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-HTTP-Method-Override", "DELETE")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("POST with X-HTTP-Method-Override: DELETE (%s) and a write token: %d", ct, resp.StatusCode)
		}
	}
	if got := callAuth(t, http.DefaultClient, "GET", base+"/v1/canaryConfigs/c1", readToken, ""); got != 200 {
		t.Errorf("the config is gone after override attempts: GET %d", got)
	}
}

// TestAuthorizationGRPC calls every RPC of the service with no token and
// each role, and checks the code against the declared policy.
func TestAuthorizationGRPC(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Tokens: testTokens(t), OpenRoutes: []string{"argo-kayenta", "flagger"}})
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tokens := map[auth.Role]string{"": "", auth.RoleRead: readToken, auth.RoleWrite: writeToken, auth.RoleAdmin: adminToken}
	svc := judgev1.File_judge_v1_judge_proto.Services().ByName("JudgeService")
	for i := range svc.Methods().Len() {
		m := svc.Methods().Get(i)
		full := fmt.Sprintf("/%s/%s", svc.FullName(), m.Name())
		for _, role := range []auth.Role{"", auth.RoleRead, auth.RoleWrite, auth.RoleAdmin} {
			ctx := context.Background()
			if role != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tokens[role])
			}
			var err error
			if m.IsStreamingServer() {
				var st grpc.ClientStream
				st, err = conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, full)
				if err == nil {
					_ = st.SendMsg(&emptypb.Empty{})
					_ = st.CloseSend()
					err = st.RecvMsg(&emptypb.Empty{})
				}
			} else {
				err = conn.Invoke(ctx, full, &emptypb.Empty{}, &emptypb.Empty{})
			}
			code := status.Code(err)
			switch need := policy[full]; {
			case role == "":
				if code != codes.Unauthenticated {
					t.Errorf("%s without a token: %v", full, err)
				}
			case !role.Allows(need):
				if code != codes.PermissionDenied {
					t.Errorf("%s with %s: %v, want PermissionDenied (needs %s)", full, role, err, need)
				}
			default:
				if code == codes.Unauthenticated || code == codes.PermissionDenied {
					t.Errorf("%s with %s: %v, want it served", full, role, err)
				}
			}
		}
	}
}

// TestOpenRoutes checks what may be opened: exactly the named routes,
// never config writes, deletes, ad-hoc analyses, /v1 or a bare prefix.
func TestOpenRoutes(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"/canaryConfig", "/canary", "PUT /canaryConfig/{id}", "POST /canaryConfig", "DELETE /canaryConfig/{id}",
		"POST /canary", "POST /standalone_canary_analysis", "POST /v1/analyze", "GET /v1/analyses", "/"} {
		var cfg Config
		cfg.Addr, cfg.DataDir, cfg.OpenRoutes = "127.0.0.1:0", t.TempDir(), []string{bad}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "auth-open-routes") || !strings.Contains(err.Error(), bad) {
			t.Errorf("opening %q: %v, want an error naming auth-open-routes and the entry", bad, err)
		}
	}
	s := startServer(t, Config{Tokens: testTokens(t), OpenRoutes: []string{"metrics", "GET /canary/{id}"}, ProtectMetrics: true})
	base := "http://" + s.Addr()
	for path, want := range map[string]int{"/metrics": 200, "/canary/nope": 404, "/canaryConfig": 401, "/v1/analyses": 401} {
		if got := callAuth(t, http.DefaultClient, "GET", base+path, "", ""); got != want {
			t.Errorf("GET %s without a token: %d, want %d", path, got, want)
		}
	}
	if got := callAuth(t, http.DefaultClient, "POST", base+"/canary/nope", "", "{}"); got != 401 {
		t.Errorf("POST /canary/{configId} (not opened) without a token: %d, want 401", got)
	}
}

// TestLoginPageHeaders checks that the failed-login page carries the
// security headers of every UI page.
func TestLoginPageHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Tokens: testTokens(t)})
	resp, err := http.Post("http://"+s.Addr()+"/ui/login", "application/x-www-form-urlencoded", strings.NewReader("token=wrong-token-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("failed login: %d, want 401", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("failed login: Content-Security-Policy %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("failed login: X-Content-Type-Options %q", resp.Header.Get("X-Content-Type-Options"))
	}
}
