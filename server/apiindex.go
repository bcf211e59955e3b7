package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/canaryjudge/judge/proto"
	"github.com/canaryjudge/judge/version"
)

// openAPIDocument is the embedded OpenAPI document with the build's
// version in info.version (the generator leaves "version not set").
func openAPIDocument() []byte {
	var doc map[string]any
	if err := json.Unmarshal(proto.OpenAPI, &doc); err != nil {
		return proto.OpenAPI
	}
	info, _ := doc["info"].(map[string]any)
	if info == nil {
		info = map[string]any{}
		doc["info"] = info
	}
	info["version"] = version.Get().Version
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return proto.OpenAPI
	}
	return out
}

// apiIndex answers GET /v1/: every route of the API with the role it
// needs, and where the full document is.
func apiIndex() http.Handler {
	type route struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		RPC    string `json:"rpc"`
		Role   string `json:"role"`
	}
	var routes []route
	for _, r := range gatewayRoutes() {
		routes = append(routes, route{Method: r.Method, Path: r.Path, RPC: r.FullMethod, Role: string(roleOf(r.FullMethod))})
	}
	slices.SortFunc(routes, func(a, b route) int {
		return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method)
	})
	body, _ := json.MarshalIndent(map[string]any{"version": version.Get().Version, "openapi": "/openapi.json", "ui": "/ui/", "routes": routes}, "", "  ")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}
