package metrics

import (
	"strings"
	"testing"
)

// TestScrub is the regression test for a source that echoes the request's
// headers in its error body (issue 30, row 12): the account's credentials
// reached reasons and logs verbatim.
func TestScrub(t *testing.T) {
	registerSecret("s3cr3t-pa55word")
	long := strings.Repeat("x", 2000)
	tests := []struct {
		in      string
		leak    []string
		keep    []string
		maxSize int
	}{
		{in: "400 Bad Request: echo: Authorization: Basic dXNlcjpzM2NyM3QtcGE1NXdvcmQ= Host: prom", leak: []string{"dXNlcjpzM2NyM3QtcGE1NXdvcmQ="}, keep: []string{"400 Bad Request", "Host: prom"}},
		{in: `{"headers":{"Authorization":"Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"}}`, leak: []string{"eyJhbGciOiJIUzI1NiJ9"}},
		{in: "DD-API-KEY: 0123456789abcdef0123456789abcdef rejected", leak: []string{"0123456789abcdef0123456789abcdef"}, keep: []string{"rejected"}},
		{in: "api_key=abcdef123456&query=up", leak: []string{"abcdef123456"}, keep: []string{"query=up"}},
		{in: "proxy error for http://judge:hunter2@prom:9090/api/v1/query_range", leak: []string{"hunter2"}, keep: []string{"prom:9090"}},
		{in: "the password was s3cr3t-pa55word, as read", leak: []string{"s3cr3t-pa55word"}},
		{in: "line one\nline two\x1b[31m", leak: []string{"\n", "\x1b"}, keep: []string{"line one line two"}},
		{in: "bad_data: parse error at char 5: unexpected identifier", keep: []string{"bad_data: parse error at char 5: unexpected identifier"}},
		{in: long, leak: []string{long}, maxSize: maxQuotedError + len("…")},
	}
	for _, tc := range tests {
		got := Scrub(tc.in)
		for _, l := range tc.leak {
			if strings.Contains(got, l) {
				t.Errorf("Scrub(%.60q) = %.120q: still holds %.30q", tc.in, got, l)
			}
		}
		for _, k := range tc.keep {
			if !strings.Contains(got, k) {
				t.Errorf("Scrub(%.60q) = %.120q: lost %q", tc.in, got, k)
			}
		}
		if tc.maxSize > 0 && len(got) > tc.maxSize {
			t.Errorf("Scrub of %d bytes: %d bytes, want at most %d", len(tc.in), len(got), tc.maxSize)
		}
	}
}
