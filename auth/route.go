package auth

import "net/http"

// Route is one HTTP route and the role its operation needs. The role
// follows what the handler does, not the HTTP method: looking at stored
// analyses and configs needs read; running an analysis, fetching from a
// metrics source or changing a config needs write, whatever method reaches
// it; deleting needs admin.
type Route struct {
	// Pattern is the net/http.ServeMux pattern, "METHOD /path/{name}". A
	// GET pattern also serves HEAD.
	Pattern string
	// Role is the role the operation needs.
	Role Role
	// Closed routes are never served without a token, whatever the
	// server's open routes say: config writes, and analyses whose
	// queries or config the caller supplies.
	Closed bool
	// URLToken routes also take the token from the URL's token parameter,
	// for a deployer that cannot send headers; only a token scoped to
	// namespaces is accepted there.
	URLToken bool
	// Handler serves the route.
	Handler http.Handler
}
