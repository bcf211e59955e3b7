package auth

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Scope is one thing a scoped token may write: a Kubernetes namespace
// ("prod": Flagger canaries of that namespace and the sequences whose
// namespace is prod) or a sequence-name prefix ending in * ("team-a/*").
// A sequence's namespace is the first segment of its name after any
// deployer prefix: prod for flagger:prod/shop/<checksum>,
// argo:prod/<run>/<uid>/<metric>, argo-web:prod/checkout and prod/nightly.
// Prefixes match the name after the deployer prefix too.
type Scope struct {
	Namespace string
	Prefix    string
}

// namespaceName is a Kubernetes namespace name (an RFC 1123 label).
var namespaceName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// IsNamespace reports whether s is a Kubernetes namespace name (an RFC 1123
// label), the namespaces scopes name.
func IsNamespace(s string) bool { return namespaceName.MatchString(s) }

// ParseScope reads a scope: a namespace name or a prefix ending in *.
func ParseScope(s string) (Scope, error) {
	if p, ok := strings.CutSuffix(s, "*"); ok {
		if p == "" || strings.ContainsAny(p, "*:, \t") {
			return Scope{}, fmt.Errorf("scope %.64q: a prefix is text without *, :, commas or spaces, ending in one * (team-a/*)", s)
		}
		return Scope{Prefix: p}, nil
	}
	if !IsNamespace(s) {
		return Scope{}, fmt.Errorf("scope %.64q: want a namespace name (lower-case letters, digits and -) or a prefix ending in * (team-a/*)", s)
	}
	return Scope{Namespace: s}, nil
}

// String writes the scope as ParseScope reads it.
func (s Scope) String() string {
	if s.Prefix != "" {
		return s.Prefix + "*"
	}
	return s.Namespace
}

// Surface is where a request came in: the deployer surfaces that name
// their own sequences, or the API.
type Surface string

// The surfaces.
const (
	// SurfaceAPI is judge's own API (gRPC and /v1), which the Argo
	// Rollouts plugin and the CLI use.
	SurfaceAPI Surface = ""
	// SurfaceArgoWeb is Argo Rollouts' web provider (/webhooks/argo).
	SurfaceArgoWeb Surface = "argo-web"
	// SurfaceFlagger is Flagger's webhook (/webhooks/flagger).
	SurfaceFlagger Surface = "flagger"
)

// deployerPrefixes are the sequence-name prefixes each surface owns: a
// sequence so named can be written only through it.
var deployerPrefixes = map[string]Surface{"argo:": SurfaceAPI, "argo-web:": SurfaceArgoWeb, "flagger:": SurfaceFlagger}

// splitDeployer splits a sequence name into its deployer prefix (empty for
// none) and the rest.
func splitDeployer(name string) (string, string) {
	if p, rest, ok := strings.Cut(name, ":"); ok {
		if _, reserved := deployerPrefixes[p+":"]; reserved {
			return p + ":", rest
		}
	}
	return "", name
}

// CheckSequenceName says what makes a sequence name unusable in a path
// (/v1/sequences/{name}, /ui/sequences/{name}), or nil: an empty segment,
// or a segment that is . or ... The deployer prefix is not a segment.
func CheckSequenceName(name string) error {
	_, rest := splitDeployer(name)
	for seg := range strings.SplitSeq(rest, "/") {
		switch seg {
		case "":
			return fmt.Errorf("sequence %.80q: empty segment (a leading, trailing or doubled /)", name)
		case ".", "..":
			return fmt.Errorf("sequence %.80q: segment %q", name, seg)
		}
	}
	return nil
}

// Caller is who makes a request, as far as ownership is concerned.
type Caller struct {
	// Owner identifies the caller as an owner: a token's Owner, "" when
	// authentication is off (everyone is the same owner).
	Owner string
	// Role is the token's role (empty without a token).
	Role Role
	// Anonymous is a caller without a token on a route the operator
	// opened: it owns nothing and may write no sequence.
	Anonymous bool
	// Scopes, when any, restrict what the caller may write.
	Scopes []Scope
	// Surface is where the request came in.
	Surface Surface
}

// CallerOf is the caller a token authenticates.
func CallerOf(t Token) Caller { return Caller{Owner: t.Owner(), Role: t.Role, Scopes: t.Scopes} }

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries: the zero Caller (authentication
// off, the API) when it carries none.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// On returns ctx's caller as coming in through surface s.
func On(ctx context.Context, s Surface) context.Context {
	c := CallerFrom(ctx)
	c.Surface = s
	return WithCaller(ctx, c)
}

// MayWriteSequence says whether c may add looks to the named sequence (nil)
// or why not: a deployer's prefix from another surface, an anonymous
// caller, or a name outside c's scopes. Ownership of an existing sequence
// is the store's to check (its recorded owner against c.Owner).
func (c Caller) MayWriteSequence(name string) error {
	prefix, rest := splitDeployer(name)
	if s := deployerPrefixes[prefix]; prefix != "" && s != c.Surface {
		where := "judge's API (/v1 or gRPC)"
		if s != SurfaceAPI {
			where = "/webhooks/" + string(s)
		}
		return fmt.Errorf("sequence %.80q: %w: names starting %q are written only through %s", name, ErrNotOwner, prefix, where)
	}
	if c.Anonymous {
		return fmt.Errorf("sequence %.80q: %w: a caller without a token writes no sequence", name, ErrNotOwner)
	}
	if !c.allows(rest) {
		return fmt.Errorf("sequence %.80q: %w: the token's scopes (%s) do not include it", name, ErrNotOwner, c.scopeList())
	}
	return nil
}

// MayWriteNamespace says whether c may write the verdicts of canaries in
// namespace ns (nil) or why not.
func (c Caller) MayWriteNamespace(ns string) error {
	if c.Anonymous {
		return fmt.Errorf("namespace %.64q: %w: a caller without a token writes no verdict", ns, ErrNotOwner)
	}
	if !c.allows(ns + "/") {
		return fmt.Errorf("namespace %.64q: %w: the token's scopes (%s) do not include it", ns, ErrNotOwner, c.scopeList())
	}
	return nil
}

// MayRead says whether c may read the named sequence: a scoped token reads
// only what its scopes include.
func (c Caller) MayRead(name string) error {
	_, rest := splitDeployer(name)
	if !c.allows(rest) {
		return fmt.Errorf("sequence %.80q: %w: the token's scopes (%s) do not include it", name, ErrNotOwner, c.scopeList())
	}
	return nil
}

// allows reports whether the scopes include rest, a sequence name after
// its deployer prefix.
func (c Caller) allows(rest string) bool {
	if len(c.Scopes) == 0 {
		return true
	}
	for _, s := range c.Scopes {
		if s.Namespace != "" && strings.HasPrefix(rest, s.Namespace+"/") || s.Prefix != "" && strings.HasPrefix(rest, s.Prefix) {
			return true
		}
	}
	return false
}

// Scoped reports whether c is restricted to scopes.
func (c Caller) Scoped() bool { return len(c.Scopes) > 0 }

func (c Caller) scopeList() string {
	out := make([]string, len(c.Scopes))
	for i, s := range c.Scopes {
		out[i] = s.String()
	}
	return strings.Join(out, ", ")
}
