package kayenta

import (
	"strconv"
	"strings"
	"time"
)

// Duration writes d as Java's Duration.toString, which is how Kayenta
// (Jackson with WRITE_DURATIONS_AS_TIMESTAMPS off) writes a canary's
// duration and how Spinnaker's Orca reads it back: "PT" and then hours,
// minutes and seconds, each only when not zero ("PT1H", "PT1H30M",
// "PT0.5S"), "PT0S" for zero. Negative durations, which no validated
// execution has, are written as their absolute value with a leading "-".
func Duration(d time.Duration) string {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteString("PT")
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	s := d % time.Minute
	if h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
	}
	if s > 0 || (h == 0 && m == 0) {
		b.WriteString(strconv.FormatFloat(s.Seconds(), 'f', -1, 64) + "S")
	}
	return b.String()
}
