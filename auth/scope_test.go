package auth

import (
	"errors"
	"testing"
)

func TestScopedTokens(t *testing.T) {
	t.Parallel()
	// A file line takes its scopes after a second colon; an environment
	// variable's items without a colon are more scopes of the token before.
	tokens, err := Parse("write:team-a-token-0123456789:prod,staging\nwrite:team-b-token-0123456789:team-b/*\nwrite:all-token-0123456789ab\n", "tokens")
	if err != nil {
		t.Fatal(err)
	}
	env, err := Parse("write:team-a-token-0123456789:prod,staging,read:reader-token-0123456789", "JUDGE_AUTH_TOKENS")
	if err != nil {
		t.Fatal(err)
	}
	if env.Len() != 2 {
		t.Fatalf("%d tokens from the env, want 2", env.Len())
	}
	caller := func(ts *Tokens, secret string) Caller {
		tok, err := ts.Check("Bearer "+secret, RoleRead)
		if err != nil {
			t.Fatal(err)
		}
		return CallerOf(tok)
	}
	a, b, all := caller(tokens, "team-a-token-0123456789"), caller(tokens, "team-b-token-0123456789"), caller(tokens, "all-token-0123456789ab")
	if envA := caller(env, "team-a-token-0123456789"); envA.Owner != a.Owner || len(envA.Scopes) != 2 {
		t.Errorf("the same token from the env: owner %s scopes %v; from the file %s %v", envA.Owner, envA.Scopes, a.Owner, a.Scopes)
	}
	if a.Owner == b.Owner || a.Owner == all.Owner {
		t.Errorf("owners not distinct: %s %s %s", a.Owner, b.Owner, all.Owner)
	}
	tests := []struct {
		c       Caller
		surface Surface
		name    string
		ok      bool
	}{
		{a, SurfaceAPI, "argo:prod/run/uid/latency", true},
		{a, SurfaceAPI, "argo:production/run/uid/latency", false},
		{a, SurfaceAPI, "staging/nightly", true},
		{a, SurfaceAPI, "prod", false},
		{a, SurfaceFlagger, "flagger:prod/shop/abc", true},
		{a, SurfaceFlagger, "flagger:dev/shop/abc", false},
		{b, SurfaceAPI, "team-b/nightly", true},
		{b, SurfaceAPI, "argo:prod/run/uid/m", false},
		{all, SurfaceAPI, "argo:anything/run/uid/m", true},
		// Deployer names are written through their own surface only.
		{all, SurfaceAPI, "flagger:prod/shop/abc", false},
		{all, SurfaceAPI, "argo-web:prod/x", false},
		{all, SurfaceArgoWeb, "argo-web:prod/x", true},
		{all, SurfaceArgoWeb, "argo:prod/run/uid/m", false},
		{all, SurfaceFlagger, "argo-web:prod/x", false},
		{Caller{Anonymous: true}, SurfaceAPI, "nightly", false},
		{Caller{}, SurfaceAPI, "nightly", true},
	}
	for _, tc := range tests {
		c := tc.c
		c.Surface = tc.surface
		err := c.MayWriteSequence(tc.name)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrNotOwner) {
			t.Errorf("scopes %v on %q: MayWriteSequence(%q) = %v, want ok %v", c.Scopes, tc.surface, tc.name, err, tc.ok)
		}
	}
	if err := a.MayWriteNamespace("prod"); err != nil {
		t.Error(err)
	}
	if err := a.MayWriteNamespace("prod-eu"); !errors.Is(err, ErrNotOwner) {
		t.Errorf("prod-eu with a prod token: %v", err)
	}
	if err := a.MayRead("argo:dev/r/u/m"); !errors.Is(err, ErrNotOwner) {
		t.Errorf("reading another namespace's sequence: %v", err)
	}
}

func TestCheckSequenceName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"nightly": true, "team/a/b": true, "argo-web:prod/x": true, "flagger:ns/n/abc": true, "a.b/c..d": true,
		".": false, "..": false, "a/../b": false, "a/./b": false, "/a": false, "a/": false, "a//b": false,
		"flagger:ns/n/..": false, "argo-web:": false, "argo-web:/x": false,
	} {
		if err := CheckSequenceName(name); (err == nil) != ok {
			t.Errorf("CheckSequenceName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
