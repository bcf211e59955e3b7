package main

import "testing"

// TestSelection: -path and -endpoint take their listed values only.
func TestSelection(t *testing.T) {
	for _, s := range []selection{{"both", "both"}, {"http", "analyze"}, {"grpc", "floor"}} {
		if err := s.check(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []selection{{"", "both"}, {"HTTP", "both"}, {"both", "judge"}, {"grpc", ""}} {
		if s.check() == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
