package main

import (
	"testing"
	"time"
)

func TestTally(t *testing.T) {
	for _, tc := range []struct {
		name             string
		answered, stored []int32
		lost, duplicated int
	}{
		{"every look stored once", []int32{1, 2, 3}, []int32{1, 2, 3}, 0, 0},
		{"an answered look missing", []int32{1, 2, 3}, []int32{1, 3}, 1, 0},
		{"a look stored twice", []int32{1, 2}, []int32{1, 2, 2}, 0, 1},
		{"two looks answered with one number", []int32{1, 2, 2}, []int32{1, 2}, 0, 1},
		{"a stored look nobody was answered is not lost", []int32{1}, []int32{1, 2}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if lost, dup := tally(tc.answered, tc.stored); lost != tc.lost || dup != tc.duplicated {
				t.Errorf("tally = %d lost, %d duplicated; want %d, %d", lost, dup, tc.lost, tc.duplicated)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {1, 10}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestOptions(t *testing.T) {
	good := options{services: 1, sequences: 1, looks: 1, interval: time.Second, duration: time.Minute, floorDuration: time.Minute, replicas: 1}
	if err := good.check(); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]options{
		"restart alone":  func() options { o := good; o.restart = true; return o }(),
		"no replicas":    func() options { o := good; o.replicas = 0; return o }(),
		"short duration": func() options { o := good; o.duration = time.Millisecond; return o }(),
		"no sequences":   func() options { o := good; o.sequences = 0; return o }(),
	} {
		if o.check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestReadLook: both answers give the look and its decision, and a look
// that decided anything but continue ends its sequence, as a deployer
// stops a rollout on FAIL; an answer without its look is an error, which
// ends the sequence when it says FAIL.
func TestReadLook(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		argo bool
		want look
		ends bool
	}{
		{"argo, continue", `{"result":"CONTINUE","look":{"sequence":"s","look":2,"looks":10,"decision":"continue"}}`, true,
			look{sequence: "s", number: 2, decision: "continue"}, false},
		{"argo, fail", `{"result":"FAIL","look":{"sequence":"s","look":3,"looks":10,"decision":"fail"}}`, true,
			look{sequence: "s", number: 3, decision: "fail"}, true},
		{"v1, last look passes", `{"verdict":{"result":"PASS","look":{"sequence":"s","look":10,"looks":10,"decision":"pass"}}}`, false,
			look{sequence: "s", number: 10, decision: "pass"}, true},
		{"v1, continue", `{"verdict":{"look":{"sequence":"s","look":1,"decision":"continue"}}}`, false,
			look{sequence: "s", number: 1, decision: "continue"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readLook(200, "200 OK", []byte(tc.body), tc.argo)
			if got != tc.want || got.ends() != tc.ends {
				t.Errorf("readLook = %+v (ends %v), want %+v (ends %v)", got, got.ends(), tc.want, tc.ends)
			}
		})
	}
	// A failed sequence answers FAIL at look 0: no look to count, and
	// the rollout stops.
	if l := readLook(200, "200 OK", []byte(`{"result":"FAIL","reason":"sequence \"s\" has failed"}`), true); l.err == "" || !l.ends() {
		t.Errorf("an answer without its look read as %+v (ends %v)", l, l.ends())
	}
	if l := readLook(200, "200 OK", []byte(`{"verdict":{"result":"FAIL"}}`), false); l.err == "" || !l.ends() {
		t.Errorf("a v1 answer without its look read as %+v (ends %v)", l, l.ends())
	}
	// A refused look is retried at the next, as Argo Rollouts retries a
	// measurement that errored.
	if l := readLook(503, "503 Service Unavailable", []byte(`busy`), false); l.err == "" || l.ends() {
		t.Errorf("a refused look read as %+v (ends %v)", l, l.ends())
	}
}
