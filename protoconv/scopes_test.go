package protoconv

import (
	"reflect"
	"testing"
	"time"

	"github.com/canaryjudge/judge/analysis"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
)

func TestScopes(t *testing.T) {
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   analysis.ScopePair
		want analysis.ScopePair // after a round trip
	}{
		{
			name: "every field",
			in: analysis.ScopePair{
				Control: &analysis.Scope{Scope: "b", Location: "eu", Start: start, End: start.Add(time.Hour), Step: 60,
					ExtendedScopeParams: map[string]string{"k": "v"}},
				Experiment: &analysis.Scope{Scope: "c", Location: "us", Start: start, End: start.Add(time.Hour), Step: 30},
			},
			want: analysis.ScopePair{
				Control: &analysis.Scope{Scope: "b", Location: "eu", Start: start, End: start.Add(time.Hour), Step: 60,
					ExtendedScopeParams: map[string]string{"k": "v"}},
				Experiment: &analysis.Scope{Scope: "c", Location: "us", Start: start, End: start.Add(time.Hour), Step: 30},
			},
		},
		{
			name: "Argo's region stands for the location",
			in: analysis.ScopePair{
				Control:    &analysis.Scope{Scope: "b", Region: "eu-west-1", Start: start, End: start, Step: 60},
				Experiment: &analysis.Scope{Scope: "c", Location: "us", Region: "ignored", Start: start, End: start, Step: 60},
			},
			want: analysis.ScopePair{
				Control:    &analysis.Scope{Scope: "b", Location: "eu-west-1", Start: start, End: start, Step: 60},
				Experiment: &analysis.Scope{Scope: "c", Location: "us", Start: start, End: start, Step: 60},
			},
		},
		{
			name: "a missing side stays missing",
			in:   analysis.ScopePair{Control: &analysis.Scope{Scope: "b", Start: start, End: start, Step: 60}},
			want: analysis.ScopePair{Control: &analysis.Scope{Scope: "b", Start: start, End: start, Step: 60}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ScopesFromProto(map[string]*judgev1.ScopePair{"default": PairToProto(tc.in)})
			if p := got.Scopes["default"]; !reflect.DeepEqual(p, tc.want) {
				t.Errorf("round trip: got control %+v experiment %+v, want %+v and %+v", p.Control, p.Experiment, tc.want.Control, tc.want.Experiment)
			}
		})
	}
	if got := ScopeFromProto(&judgev1.Scope{Scope: "x"}); !got.Start.IsZero() || !got.End.IsZero() {
		t.Errorf("a scope without times got %v to %v, want zero times", got.Start, got.End)
	}
}
