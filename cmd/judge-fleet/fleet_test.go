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
