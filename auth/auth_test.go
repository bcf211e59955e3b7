package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAndCheck(t *testing.T) {
	t.Parallel()
	tokens, err := Parse("# deployers\nread:r-0123456789abcdef\nwrite:w-0123456789abcdef, admin:a-0123-456789abcdef\n\n", "tokens.txt")
	if err != nil {
		t.Fatal(err)
	}
	if tokens.Len() != 3 || !tokens.Enabled() {
		t.Fatalf("%d tokens", tokens.Len())
	}
	tests := []struct {
		header string
		need   Role
		want   error
		name   string
	}{
		{"Bearer r-0123456789abcdef", RoleRead, nil, "tokens.txt:2"},
		{"bearer   r-0123456789abcdef ", RoleRead, nil, "tokens.txt:2"},
		{"Bearer r-0123456789abcdef", RoleWrite, ErrPermissionDenied, "tokens.txt:2"},
		{"Bearer w-0123456789abcdef", RoleWrite, nil, "tokens.txt:3"},
		{"Bearer w-0123456789abcdef", RoleAdmin, ErrPermissionDenied, "tokens.txt:3"},
		{"Bearer a-0123-456789abcdef", RoleAdmin, nil, "tokens.txt:3"},
		{"Bearer a-0123-456789abcdef", RoleRead, nil, "tokens.txt:3"},
		{"", RoleRead, ErrUnauthenticated, ""},
		{"Bearer", RoleRead, ErrUnauthenticated, ""},
		{"Basic r-0123456789abcdef", RoleRead, ErrUnauthenticated, ""},
		{"Bearer r-0123456789abcdeX", RoleRead, ErrUnauthenticated, ""},
		{"Bearer r-0123456789abcde", RoleRead, ErrUnauthenticated, ""},
	}
	for _, tc := range tests {
		tok, err := tokens.Check(tc.header, tc.need)
		if !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("Check(%q, %s) = %v, want %v", tc.header, tc.need, err, tc.want)
		}
		if tok.Name != tc.name {
			t.Errorf("Check(%q) matched %q, want %q", tc.header, tok.Name, tc.name)
		}
	}
	var none *Tokens
	if none.Enabled() || (&Tokens{}).Enabled() {
		t.Error("an empty token set enables authentication")
	}
}

func TestParseErrorsNeverQuoteTokens(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"reader:s3cret-0123456789abc": `role "reader"`,
		"s3cret-0123456789abc":        "want role:token",
		"read:s3cret":                 "shorter than 16",
		// A colon separates the scopes: "s3cret" is the token here.
		"read:s3cret:0123456789abcdef":    "shorter than 16",
		"write:s3cret-0123456789abc:Prod": `scope "Prod"`,
		"write:s3cret-0123456789abc:a*b*": `scope "a*b*"`,
		"prod":                            "want role:token",
	}
	for in, want := range tests {
		_, err := Parse(in, "env")
		if !errors.Is(err, ErrInvalidTokens) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "env:1") {
			t.Errorf("Parse(%q) = %v, want ErrInvalidTokens naming %q and env:1", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error quotes the token: %v", err)
		}
	}
}
