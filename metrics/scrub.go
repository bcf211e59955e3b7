package metrics

import (
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxQuotedError bounds how much of a source's error text reaches a reason
// or a log.
const maxQuotedError = 512

// secrets are every secret an account has read (Account.Secret): Scrub
// removes them from any text, wherever a source echoed them.
var secrets sync.Map // string → struct{}

// registerSecret makes Scrub remove s (secrets shorter than 4 bytes would
// remove ordinary text and are left to the patterns).
func registerSecret(s string) {
	if len(s) >= 4 {
		secrets.Store(s, struct{}{})
	}
}

// credentialPatterns match what looks like a credential in an upstream
// answer: authorization headers and schemes, key and password fields, and
// a URL's user information.
var credentialPatterns = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)\b((?:proxy-)?authorization)("?\s*[:=]\s*"?)(?:basic|bearer|token|digest)?\s*[^\s",;&]+`), "${1}${2}[redacted]"},
	{regexp.MustCompile(`(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{6,}`), "${1} [redacted]"},
	{regexp.MustCompile(`(?i)\b((?:dd-)?api[_-]?key|(?:dd-)?app(?:lication)?[_-]?key|x-api-key|password|passwd|secret|access[_-]?token|token)("?\s*[:=]\s*"?)[^\s",;&]+`), "${1}${2}[redacted]"},
	{regexp.MustCompile(`(://)[^/\s:@]+:[^/\s@]*@`), "${1}[redacted]@"},
}

// Scrub makes a metrics source's error text safe to quote in a reason or a
// log: every secret an account read and anything that looks like a
// credential is replaced by [redacted], control characters by spaces, and
// the text is cut to 512 bytes. A source that echoes the request's headers
// in its error body (some proxies do) must not leak the account's
// credentials to readers of a verdict.
func Scrub(s string) string {
	secrets.Range(func(k, _ any) bool {
		s = strings.ReplaceAll(s, k.(string), "[redacted]")
		return true
	})
	for _, p := range credentialPatterns {
		s = p.re.ReplaceAllString(s, p.with)
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxQuotedError {
		cut := maxQuotedError
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// ScrubError returns err with its text scrubbed (Scrub), keeping what it
// wraps for errors.Is.
func ScrubError(err error) error {
	if err == nil {
		return nil
	}
	return scrubbed{err}
}

type scrubbed struct{ err error }

func (s scrubbed) Error() string { return Scrub(s.err.Error()) }
func (s scrubbed) Unwrap() error { return s.err }
