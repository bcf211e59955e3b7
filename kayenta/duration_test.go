package kayenta

import (
	"testing"
	"time"
)

// Java's Duration.toString for the same durations (java.time.Duration
// .ofSeconds(…).toString() in jshell).
func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "PT0S"},
		{time.Hour, "PT1H"},
		{90 * time.Minute, "PT1H30M"},
		{30 * time.Minute, "PT30M"},
		{48 * time.Hour, "PT48H"},
		{time.Hour + 5*time.Second, "PT1H5S"},
		{500 * time.Millisecond, "PT0.5S"},
		{61*time.Second + 250*time.Millisecond, "PT1M1.25S"},
	} {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
