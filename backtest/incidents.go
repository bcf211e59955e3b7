package backtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/canaryjudge/judge/analysis"
	"github.com/canaryjudge/judge/verdict"
)

// Label is what a past deployment turned out to be.
type Label string

// The labels of an incidents file's cases.
const (
	// LabelRegression is a deployment that should have failed.
	LabelRegression Label = "regression"
	// LabelGood is a deployment that should have passed.
	LabelGood Label = "good"
)

// Expected is the verdict a label asks of a judge, and whether the label
// is known.
func (l Label) Expected() (verdict.Outcome, bool) {
	switch l {
	case LabelRegression:
		return verdict.ResultFail, true
	case LabelGood:
		return verdict.ResultPass, true
	}
	return "", false
}

// Incident is one past deployment of an incidents file: its name, its
// label, and where its series are, either as the scopes of a canary
// analysis (Kayenta's {"<scopeName>": {"controlScope": …,
// "experimentScope": …}}, what judge analyze --scopes reads) or as a
// change: a full rollout without a canary, judged before against after.
type Incident struct {
	Name   string                        `json:"name"`
	Label  Label                         `json:"label"`
	Scopes map[string]analysis.ScopePair `json:"scopes,omitempty"`
	Change *Change                       `json:"change,omitempty"`
}

// Change is a rollout of a whole service at one instant: the baseline is
// the window before At, [At − Window, At), the canary the window after it,
// [At, At + Window), both on Scope at Step; the history is fetched before
// the baseline as for any analysis.
type Change struct {
	Scope    string         `json:"scope"`
	Location string         `json:"location,omitempty"`
	At       time.Time      `json:"at"`
	Window   model.Duration `json:"window"`
	Step     model.Duration `json:"step"`
}

// maxIncidents bounds the cases of one incidents file.
const maxIncidents = 10_000

// ParseIncidents reads an incidents file, YAML or JSON:
//
//	cases:
//	  - name: checkout-2026-11-03
//	    label: regression
//	    change: {scope: checkout, at: 2026-11-03T14:05:00Z, window: 40m, step: 60s}
//	  - name: checkout-canary-1187
//	    label: good
//	    scopes: {default: {controlScope: {…}, experimentScope: {…}}}
//
// and checks every case: a unique name, exactly one of scopes and change,
// scopes that judge analyze --scopes would take, a change with a scope, an
// instant and a window of whole steps. Errors name the source, the case and
// the field, wrapped in ErrInput. A label other than regression and good
// is not an error of the file: that case alone errors when judged.
func ParseIncidents(data []byte, source string) ([]Incident, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", source, ErrInput, fmt.Sprintf(format, args...))
	}
	raw, err := yamlToJSON(data)
	if err != nil {
		return nil, fail("%v", err)
	}
	var file struct {
		Cases []json.RawMessage `json:"cases"`
	}
	if err := strictJSON(raw, &file); err != nil {
		return nil, fail("%s", verdict.JSONErrorText(err))
	}
	switch {
	case len(file.Cases) == 0:
		return nil, fail("cases: none given; want a list of cases, each with a name, a label and scopes or a change")
	case len(file.Cases) > maxIncidents:
		return nil, fail("cases: %d, more than the limit of %d", len(file.Cases), maxIncidents)
	}
	seen := map[string]int{}
	out := make([]Incident, len(file.Cases))
	for i, rawCase := range file.Cases {
		in := &out[i]
		if err := strictJSON(rawCase, in); err != nil {
			return nil, fail("cases[%d]: %s", i, verdict.JSONErrorText(err))
		}
		at := fmt.Sprintf("cases[%d]", i)
		if in.Name != "" {
			at += fmt.Sprintf(" (%.80q)", in.Name)
		}
		if err := in.check(); err != nil {
			return nil, fail("%s: %v", at, err)
		}
		if j, dup := seen[in.Name]; dup {
			return nil, fail("%s: name: also the name of cases[%d]; every case needs its own", at, j)
		}
		seen[in.Name] = i
	}
	return out, nil
}

// check checks one case's fields.
func (in *Incident) check() error {
	switch {
	case strings.TrimSpace(in.Name) == "":
		return fmt.Errorf("name: missing")
	case len(in.Name) > 200:
		return fmt.Errorf("name: longer than 200 bytes")
	case (in.Scopes == nil) == (in.Change == nil):
		return fmt.Errorf("want exactly one of scopes (a canary analysis) and change (a rollout judged before against after)")
	case in.Change != nil:
		c := in.Change
		switch {
		case strings.TrimSpace(c.Scope) == "":
			return fmt.Errorf("change.scope: missing")
		case c.At.IsZero():
			return fmt.Errorf("change.at: missing; want an RFC 3339 instant such as 2026-11-03T14:05:00Z")
		case c.Step <= 0:
			return fmt.Errorf("change.step: missing or not positive; want a duration such as 60s")
		case c.Window <= 0 || c.Window < c.Step:
			return fmt.Errorf("change.window: %s; want a duration of at least one step (%s), such as 40m", c.Window, c.Step)
		case time.Duration(c.Step)%time.Second != 0:
			return fmt.Errorf("change.step: %s; want whole seconds", c.Step)
		}
	}
	req := in.request([]string{"default"})
	if err := req.Validate(); err != nil {
		return err
	}
	return nil
}

// Request is the analysis request of the case for a canary config: its
// scopes, or for a change the scope before and after the change under
// every scope name the config's metrics use.
func (in *Incident) Request(cfg *verdict.Config) *analysis.Request {
	return in.request(analysis.ScopeNames(cfg))
}

func (in *Incident) request(names []string) *analysis.Request {
	if in.Change == nil {
		return &analysis.Request{Scopes: in.Scopes}
	}
	c := in.Change
	window, step := time.Duration(c.Window), time.Duration(c.Step)
	side := func(start time.Time) *analysis.Scope {
		// Both ends of a range query are points: a window of n steps
		// ends one step before the next begins.
		return &analysis.Scope{Scope: c.Scope, Location: c.Location, Start: start, End: start.Add(window - step), Step: int64(step / time.Second)}
	}
	req := &analysis.Request{Scopes: map[string]analysis.ScopePair{}}
	for _, name := range names {
		req.Scopes[name] = analysis.ScopePair{Control: side(c.At.Add(-window)), Experiment: side(c.At)}
	}
	return req
}

// yamlToJSON turns a YAML (or JSON) document into JSON.
func yamlToJSON(data []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc == nil {
		return nil, fmt.Errorf("the file is empty; want a mapping with a cases list")
	}
	return json.Marshal(doc)
}

// strictJSON decodes JSON into v, refusing unknown fields.
func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
