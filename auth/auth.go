// Package auth checks the static bearer tokens of judge's API. Each token
// has a role: read (get, list and watch analyses and configs, report
// pages), write (also analyze, create and cancel analyses, put configs) or
// admin (also delete configs), and optionally scopes: the namespaces and
// sequence-name prefixes it may write (scope.go). Tokens come from a file
// or an environment variable, never from a flag value; they are compared in
// constant time and never logged.
package auth

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The errors of this package.
var (
	// ErrUnauthenticated is returned when a request carries no token or an
	// unknown one.
	ErrUnauthenticated = errors.New("missing or unknown bearer token")
	// ErrPermissionDenied is returned when a token's role does not allow
	// the request.
	ErrPermissionDenied = errors.New("the token's role does not allow this request")
	// ErrInvalidTokens is returned for a token list that cannot be read.
	ErrInvalidTokens = errors.New("invalid token list")
	// ErrNotOwner is returned when a caller would write a sequence or a
	// canary's verdicts that another token owns or its scopes exclude.
	ErrNotOwner = errors.New("owned by another token or outside the token's scopes")
)

// Role is what a token may do.
type Role string

// Roles, each allowing what the one before allows.
const (
	RoleRead  Role = "read"
	RoleWrite Role = "write"
	RoleAdmin Role = "admin"
)

var rank = map[Role]int{RoleRead: 1, RoleWrite: 2, RoleAdmin: 3}

// Allows reports whether role r may do what needs role need.
func (r Role) Allows(need Role) bool { return rank[need] > 0 && rank[r] >= rank[need] }

// Token is one accepted token; only its hash is kept.
type Token struct {
	Role Role
	// Name identifies the token in logs: its source and line.
	Name string
	// Scopes, when any, are what the token may write (Scope); none means
	// every namespace and sequence.
	Scopes []Scope
	hash   [sha256.Size]byte
}

// Owner is the token's identity as the owner of what it starts: a digest of
// its hash, the same whichever file or line the token is listed on, which
// reveals nothing about the token itself.
func (t Token) Owner() string {
	sum := sha256.Sum256(append([]byte("judge owner\x00"), t.hash[:]...))
	return "token:" + hex.EncodeToString(sum[:8])
}

// Tokens is the set of accepted tokens. The zero value accepts none.
type Tokens struct {
	list []Token
}

// Parse reads tokens from text: one "role:token[:scope,scope…]" per line
// (a file) or per comma-separated item (an environment variable); in an
// item list, an item without a colon is one more scope of the token before
// it. Blank lines and lines starting with # are ignored. A token may not
// contain a colon or a comma. source names the input in errors, which never
// quote a token.
func Parse(text, source string) (*Tokens, error) {
	t := &Tokens{}
	var problems []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		where := fmt.Sprintf("%s:%d", source, line)
		var cur *Token
		for item := range strings.SplitSeq(sc.Text(), ",") {
			item = strings.TrimSpace(item)
			if item == "" || strings.HasPrefix(item, "#") {
				continue
			}
			if !strings.Contains(item, ":") {
				if cur == nil {
					problems = append(problems, where+": want role:token[:scope,…]")
					continue
				}
				sc, err := ParseScope(item)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", where, err))
					continue
				}
				cur.Scopes = append(cur.Scopes, sc)
				continue
			}
			parts := strings.SplitN(item, ":", 3)
			role, secret := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
			switch {
			case rank[Role(role)] == 0:
				problems = append(problems, fmt.Sprintf("%s: role %q is not one of read, write, admin", where, role))
				cur = nil
				continue
			case len(secret) < 16:
				problems = append(problems, where+": the token is shorter than 16 characters (a token may not contain a colon or a comma)")
				cur = nil
				continue
			}
			t.list = append(t.list, Token{Role: Role(role), Name: where, hash: sha256.Sum256([]byte(secret))})
			cur = &t.list[len(t.list)-1]
			if len(parts) == 3 {
				sc, err := ParseScope(strings.TrimSpace(parts[2]))
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", where, err))
					continue
				}
				cur.Scopes = append(cur.Scopes, sc)
			}
		}
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", source, err))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidTokens, strings.Join(problems, "; "))
	}
	return t, nil
}

// Merge returns the tokens of t and u together.
func (t *Tokens) Merge(u *Tokens) *Tokens {
	out := &Tokens{}
	if t != nil {
		out.list = append(out.list, t.list...)
	}
	if u != nil {
		out.list = append(out.list, u.list...)
	}
	return out
}

// Enabled reports whether any token is configured; without tokens,
// authentication is off.
func (t *Tokens) Enabled() bool { return t != nil && len(t.list) > 0 }

// Len returns the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.list)
}

// Check authenticates an Authorization header value ("Bearer TOKEN") and
// authorises it for need. It returns the matching token, or
// ErrUnauthenticated or ErrPermissionDenied. Every configured token is
// compared, in constant time, whether or not an earlier one matched.
func (t *Tokens) Check(header string, need Role) (Token, error) {
	scheme, secret, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return Token{}, ErrUnauthenticated
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	found := -1
	for i := range t.list {
		if subtle.ConstantTimeCompare(sum[:], t.list[i].hash[:]) == 1 && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return Token{}, ErrUnauthenticated
	}
	tok := t.list[found]
	if !tok.Role.Allows(need) {
		return tok, ErrPermissionDenied
	}
	return tok, nil
}
