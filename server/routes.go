package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/canaryjudge/judge/auth"
	"github.com/canaryjudge/judge/proto"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/server/kayentaapi"
	"github.com/canaryjudge/judge/server/webhook"
)

// methodRoles is the role each RPC needs, on gRPC and on its /v1 HTTP
// route alike.
var methodRoles = map[string]auth.Role{
	judgev1.JudgeService_Analyze_FullMethodName:                  auth.RoleWrite,
	judgev1.JudgeService_CreateAnalysis_FullMethodName:           auth.RoleWrite,
	judgev1.JudgeService_CancelAnalysis_FullMethodName:           auth.RoleWrite,
	judgev1.JudgeService_PutCanaryConfig_FullMethodName:          auth.RoleWrite,
	judgev1.JudgeService_GetAnalysis_FullMethodName:              auth.RoleRead,
	judgev1.JudgeService_ListAnalyses_FullMethodName:             auth.RoleRead,
	judgev1.JudgeService_WatchAnalysis_FullMethodName:            auth.RoleRead,
	judgev1.JudgeService_GetCanaryConfig_FullMethodName:          auth.RoleRead,
	judgev1.JudgeService_ListCanaryConfigVersions_FullMethodName: auth.RoleRead,
	judgev1.JudgeService_ListCanaryConfigs_FullMethodName:        auth.RoleRead,
	judgev1.JudgeService_GetSequence_FullMethodName:              auth.RoleRead,
	judgev1.JudgeService_LabelAnalysis_FullMethodName:            auth.RoleWrite,
	// Replaying re-runs analyses (on stored series): the role of running one.
	judgev1.JudgeService_ReplayAnalyses_FullMethodName:     auth.RoleWrite,
	judgev1.JudgeService_DeleteCanaryConfig_FullMethodName: auth.RoleAdmin,
}

// roleOf is the role an RPC needs: admin for one without an entry (the
// strictest, so a method added without a role is never open).
func roleOf(fullMethod string) auth.Role {
	if r, ok := methodRoles[fullMethod]; ok {
		return r
	}
	return auth.RoleAdmin
}

// gatewayRoute is the HTTP route of an RPC.
type gatewayRoute struct {
	Method, Path, FullMethod string
}

// gatewayRoutes lists every RPC's HTTP route, read from the OpenAPI
// document generated from the same HTTP rules as the gateway.
func gatewayRoutes() []gatewayRoute {
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(proto.OpenAPI, &doc); err != nil {
		panic(fmt.Sprintf("the embedded OpenAPI document: %v", err)) // generated and committed: a build defect
	}
	var out []gatewayRoute
	for path, ops := range doc.Paths {
		for method, op := range ops {
			service, rpc, _ := strings.Cut(op.OperationID, "_")
			out = append(out, gatewayRoute{Method: strings.ToUpper(method), Path: path,
				FullMethod: fmt.Sprintf("/%s.%s/%s", judgev1.File_judge_v1_judge_proto.Package(), service, rpc)})
		}
	}
	return out
}

// variable matches a path variable of an HTTP rule, {id}.
var variable = regexp.MustCompile(`\{([A-Za-z0-9_.]+)\}`)

// gatewayMethods maps "METHOD /v1/path/{var=*}" (a matched gateway
// pattern as runtime.Pattern prints it) to its RPC. A variable that ends
// the path may match the rest of it ({name=**}, a sequence's name with
// slashes): that form is mapped too.
func gatewayMethods() map[string]string {
	out := map[string]string{}
	for _, r := range gatewayRoutes() {
		out[r.Method+" "+variable.ReplaceAllString(r.Path, "{$1=*}")] = r.FullMethod
		if loc := variable.FindAllStringIndex(r.Path, -1); len(loc) > 0 && loc[len(loc)-1][1] == len(r.Path) {
			last := loc[len(loc)-1]
			rest := variable.ReplaceAllString(r.Path[:last[0]], "{$1=*}") + variable.ReplaceAllString(r.Path[last[0]:], "{$1=**}")
			out[r.Method+" "+rest] = r.FullMethod
		}
	}
	return out
}

// routeTable is every HTTP route outside /v1 and the web UI, with the role
// its operation needs: the Kayenta surface and the deployer webhooks.
func routeTable(k kayentaapi.Deps, w webhook.Deps) []auth.Route {
	return append(kayentaapi.Routes(k), webhook.Routes(w)...)
}

// openPresets name the routes a credential-less deployer needs, reading
// only: a route that runs an analysis or writes a verdict is never opened
// by a preset. Argo Rollouts' kayenta provider reads configs and canaries
// here (starting one, POST /canary/{configId}, can be opened by name: it
// runs a stored config and touches no sequence); Flagger's webhook takes a
// namespace-scoped token in its URL instead (fluxcd/flagger#1192: webhooks
// send no headers).
var openPresets = map[string][]string{
	// Argo Rollouts' kayenta provider: list configs, read a canary.
	"argo-kayenta": {"GET /canaryConfig", "GET /canary/{id}"},
	// Flagger's Prometheus metric provider reading the verdicts.
	"flagger": {"GET /api/v1/query", "POST /api/v1/query"},
	// Prometheus scraping judge's own metrics.
	"metrics": {metricsPattern},
}

const metricsPattern = "GET /metrics"

// resolveOpenRoutes expands the configured open routes (route patterns or
// preset names) into patterns, refusing what cannot be opened: unknown
// routes, /v1 and gRPC, admin operations and closed routes (config writes,
// analyses with caller-supplied queries).
func resolveOpenRoutes(entries []string) (map[string]bool, error) {
	table := map[string]auth.Route{metricsPattern: {Pattern: metricsPattern, Role: auth.RoleRead}}
	for _, r := range routeTable(kayentaapi.Deps{}, webhook.Deps{}) {
		table[r.Pattern] = r
	}
	open := map[string]bool{}
	var problems []string
	for _, e := range entries {
		e = strings.Join(strings.Fields(e), " ")
		patterns, preset := openPresets[e]
		if !preset {
			patterns = []string{e}
		}
		for _, p := range patterns {
			r, ok := table[p]
			switch {
			case !ok:
				names := slices.Sorted(maps.Keys(openPresets))
				problems = append(problems, fmt.Sprintf("%q is not a route judge serves outside /v1 (write METHOD /path as the API lists it, e.g. \"GET /canary/{id}\", or a preset: %s)",
					p, strings.Join(names, ", ")))
			case r.Closed || r.Role == auth.RoleAdmin:
				problems = append(problems, fmt.Sprintf("%q cannot be opened: it changes configs, deletes, runs caller-supplied queries or writes a deployer's sequences and verdicts; it always needs a token (Flagger's webhook takes a namespace-scoped one in its URL: ?token=…)", p))
			default:
				open[p] = true
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("auth-open-routes: %s", strings.Join(problems, "; "))
	}
	return open, nil
}
