package webhook

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
)

func TestClipToRevision(t *testing.T) {
	end := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	start := end.Add(-10 * time.Minute)
	spec := func() *judgev1.AnalysisSpec {
		sc := func() *judgev1.Scope {
			return &judgev1.Scope{Start: timestamppb.New(start), End: timestamppb.New(end), StepSeconds: 60}
		}
		return &judgev1.AnalysisSpec{Scopes: map[string]*judgev1.ScopePair{"default": {ControlScope: sc(), ExperimentScope: sc()}}}
	}
	for _, tc := range []struct {
		name      string
		first     time.Time
		ok        bool
		wantStart time.Time
	}{
		{"revision older than the window", start.Add(-time.Hour), true, start},
		{"revision inside the window, enough of it", end.Add(-4 * time.Minute), true, end.Add(-4 * time.Minute)},
		{"exactly three steps of it", end.Add(-3 * time.Minute), true, end.Add(-3 * time.Minute)},
		{"too little of it", end.Add(-2*time.Minute - time.Second), false, start},
		{"seen at the window's end", end, false, start},
		{"seen after an explicit past end", end.Add(time.Hour), true, start},
	} {
		s := spec()
		ok := clipToRevision(s, tc.first)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		for _, sc := range []*judgev1.Scope{s.GetScopes()["default"].GetControlScope(), s.GetScopes()["default"].GetExperimentScope()} {
			if got := sc.GetStart().AsTime(); !got.Equal(tc.wantStart) {
				t.Errorf("%s: start %v, want %v", tc.name, got, tc.wantStart)
			}
		}
	}
}
