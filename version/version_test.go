package version

import (
	"runtime"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		info Info
		want string
	}{
		{Info{Version: "v1.2.3", Commit: "0123456789abcdef0123", Date: "2026-12-04T10:00:00Z", GoVersion: "go1.26.8"},
			"judge v1.2.3 (commit 0123456789ab, 2026-12-04T10:00:00Z, go1.26.8)"},
		{Info{Version: "devel", GoVersion: "go1.26.8", Modified: true}, "judge devel (commit unknown, modified, date unknown, go1.26.8)"},
	} {
		if got := tc.info.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.info, got, tc.want)
		}
	}
}

// TestGet: a test binary has no linker-set version; Get falls back to the
// build information and always names the Go version.
func TestGet(t *testing.T) {
	got := Get()
	if got.Version == "" || got.GoVersion != runtime.Version() {
		t.Errorf("Get() = %+v", got)
	}
}
