package protoconv

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/analysis"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
)

// ScopeToProto is the API's form of one side's scope. Argo Rollouts'
// region stands for the location when no location is given.
func ScopeToProto(s *analysis.Scope) *judgev1.Scope {
	if s == nil {
		return nil
	}
	location := s.Location
	if location == "" {
		location = s.Region
	}
	return &judgev1.Scope{Scope: s.Scope, Location: location, Start: timestamppb.New(s.Start), End: timestamppb.New(s.End),
		StepSeconds: s.Step, ExtendedScopeParams: s.ExtendedScopeParams}
}

// ScopeFromProto is one side's scope of the API as the analysis runner
// takes it; a missing start or end stays the zero time.
func ScopeFromProto(s *judgev1.Scope) *analysis.Scope {
	if s == nil {
		return nil
	}
	out := &analysis.Scope{Scope: s.GetScope(), Location: s.GetLocation(), Step: s.GetStepSeconds(), ExtendedScopeParams: s.GetExtendedScopeParams()}
	if s.GetStart() != nil {
		out.Start = s.GetStart().AsTime()
	}
	if s.GetEnd() != nil {
		out.End = s.GetEnd().AsTime()
	}
	return out
}

// PairToProto is the API's form of one scope name's baseline and canary.
func PairToProto(p analysis.ScopePair) *judgev1.ScopePair {
	return &judgev1.ScopePair{ControlScope: ScopeToProto(p.Control), ExperimentScope: ScopeToProto(p.Experiment)}
}

// ScopesFromProto is the analysis request for the API's scopes.
func ScopesFromProto(scopes map[string]*judgev1.ScopePair) *analysis.Request {
	req := &analysis.Request{Scopes: make(map[string]analysis.ScopePair, len(scopes))}
	for name, p := range scopes {
		req.Scopes[name] = analysis.ScopePair{Control: ScopeFromProto(p.GetControlScope()), Experiment: ScopeFromProto(p.GetExperimentScope())}
	}
	return req
}
