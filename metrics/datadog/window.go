package datadog

import (
	"regexp"
	"strconv"
	"time"
)

// movingRollup matches the interval of moving_rollup(<query>, <seconds>,
// '<aggregator>'), Datadog's moving window.
var movingRollup = regexp.MustCompile(`moving_rollup\(.*?,\s*([0-9]{1,9})\s*(?:,\s*'[a-z]+'\s*)?\)`)

// Window returns the longest moving window a Datadog query reads per
// point (moving_rollup's interval): points closer than it share data.
// judge's own rollup at the step makes buckets that do not overlap, so a
// query without moving_rollup returns 0.
func Window(query string) time.Duration {
	var longest time.Duration
	for _, m := range movingRollup.FindAllStringSubmatch(query, -1) {
		if s, err := strconv.Atoi(m[1]); err == nil {
			longest = max(longest, time.Duration(s)*time.Second)
		}
	}
	return longest
}
