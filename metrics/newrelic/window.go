package newrelic

import "time"

// Window returns how long a span each point of an NRQL series reads
// beyond its own bucket: always 0, since judge appends TIMESERIES at the
// step itself (a template may not hold TIMESERIES, so no SLIDE BY), and
// those buckets do not overlap. It exists so that every backend answers
// the same question.
func Window(string) time.Duration { return 0 }
