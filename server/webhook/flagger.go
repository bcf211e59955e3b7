package webhook

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
)

// flaggerPayload is Flagger's CanaryWebhookPayload.
type flaggerPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata"`
}

// Bounds of the names Flagger's payload keys a verdict by.
const (
	maxNameBytes     = 253 // a Kubernetes object name
	maxChecksumBytes = 256
)

// What the name and checksum of a Flagger canary may be: a Kubernetes
// object name, and a checksum without separators, so that neither can reach
// into another canary's sequence name (namespaces: auth.IsNamespace).
var (
	objectName   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	checksumText = regexp.MustCompile(`^[A-Za-z0-9._-]{1,256}$`)
)

// minWindowSteps is the fewest steps of a revision's own data a Flagger
// window needs before judge judges it.
const minWindowSteps = 3

// flagger serves Flagger's webhooks. The webhook's metadata says what to
// judge: config (required), baseline (default <name>-primary), canary
// (default <name>), location, window (default 10m) ending now (or at end,
// RFC 3339), step (default 60), metricsAccount, marginal ("fail", the
// default, or "pass"), looks (the planned number of checks of a revision;
// default 0, open-ended), passEarly ("true": a check may pass the revision
// early on equivalence), and hook: "rollout" (the default), where PASS is
// 200 and FAIL (and MARGINAL unless marginal is pass) is 409 with the
// explanation as the body, which Flagger shows in its events; or
// "rollback", answered inverted, since Flagger rolls back on any 2xx from
// a rollback hook: 200 (roll back) unless the verdict passes.
//
// The window starts no earlier than the first call for the canary's
// revision (Flagger's checksum): points before it are the previous
// revision's. Until the revision has minWindowSteps steps of its own, the
// webhook answers that it is waiting (409 for a rollout hook: a failed
// check, never a pass; no rollback for a rollback hook). Each verdict is
// stored per revision for the score query, on every replica. Every check of
// a revision is one look of the sequence "flagger:<namespace>/<name>/
// <checksum>", so the level holds over all of them; a regression
// established at one check fails every later check of the revision.
func (h *handler) flagger(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, h.MaxBodyBytes+1))
	if err != nil || int64(len(body)) > h.MaxBodyBytes {
		http.Error(w, "judge: body unreadable or too large", http.StatusRequestEntityTooLarge)
		return
	}
	var p flaggerPayload
	if err := json.Unmarshal(body, &p); err != nil || p.Name == "" {
		http.Error(w, "judge: the body must be Flagger's webhook payload (name, namespace, phase, checksum, metadata)", http.StatusBadRequest)
		return
	}
	if !objectName.MatchString(p.Name) || len(p.Name) > maxNameBytes || !auth.IsNamespace(p.Namespace) || !checksumText.MatchString(p.Checksum) {
		http.Error(w, fmt.Sprintf("judge: name (a Kubernetes object name), namespace (a namespace name) and checksum (1 to %d letters, digits, '.', '_' or '-') are required", maxChecksumBytes), http.StatusBadRequest)
		return
	}
	md := p.Metadata
	rollback := false
	switch md["hook"] {
	case "", "rollout":
	case "rollback":
		rollback = true
	case "pre-rollout":
		http.Error(w, "judge: metadata.hook pre-rollout: a pre-rollout hook runs before the canary has traffic, so there is nothing to judge; use judge as a rollout hook", http.StatusBadRequest)
		return
	default:
		http.Error(w, fmt.Sprintf("judge: metadata.hook %.40q: want rollout or rollback", md["hook"]), http.StatusBadRequest)
		return
	}
	// answer writes the outcome: passed says whether the verdict passes
	// the canary (a rollout hook answers 2xx only then, a rollback hook
	// only otherwise).
	answer := func(passed bool, code int, text string) {
		if rollback {
			if passed || code == http.StatusTooEarly {
				http.Error(w, "judge: no rollback: "+text, http.StatusConflict)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			_, _ = io.WriteString(w, "judge: roll back: "+text+"\n") //nolint:gosec // plain text, not sniffed, for Flagger's events
			return
		}
		if passed {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			_, _ = io.WriteString(w, text+"\n") //nolint:gosec // plain text, not sniffed, for Flagger's events
			return
		}
		http.Error(w, text, cmp.Or(code, http.StatusConflict))
	}
	// Every check of one revision is one look of its sequence: open-ended
	// unless metadata.looks plans them (Flagger's iterations, or
	// maxWeight/stepWeight), shared by the rollout and rollback hooks.
	req := request{Config: md["config"], Baseline: md["baseline"], Canary: md["canary"], Location: md["location"],
		Window: md["window"], End: md["end"], Step: jsonScalar(md["step"]), MetricsAccount: md["metricsAccount"],
		Sequence: fmt.Sprintf("flagger:%s/%s/%s", p.Namespace, p.Name, p.Checksum), Looks: jsonScalar(md["looks"]), PassEarly: jsonScalar(md["passEarly"])}
	if req.Baseline == "" {
		req.Baseline = p.Name + "-primary"
	}
	if req.Canary == "" {
		req.Canary = p.Name
	}
	marginalPasses := false
	switch md["marginal"] {
	case "", "fail":
	case "pass":
		marginalPasses = true
	default:
		answer(false, http.StatusBadRequest, fmt.Sprintf("judge: metadata.marginal %.40q: want fail or pass", md["marginal"]))
		return
	}
	// Everything is validated before anything is written.
	if _, err := req.spec(h.Now()); err != nil {
		answer(false, http.StatusBadRequest, "judge: metadata: "+err.Error())
		return
	}
	ctx := auth.On(r.Context(), auth.SurfaceFlagger)
	caller := auth.CallerFrom(ctx)
	if err := caller.MayWriteNamespace(p.Namespace); err != nil {
		answer(false, http.StatusForbidden, "judge: "+err.Error())
		return
	}
	var first time.Time
	if h.Verdicts != nil {
		var err error
		first, err = h.Verdicts.SeeFlaggerRevision(ctx, p.Namespace, p.Name, p.Checksum, caller.Owner)
		switch {
		case errors.Is(err, store.ErrNotOwner):
			answer(false, http.StatusForbidden, "judge: "+err.Error()+": the canary's checks come from another token")
			return
		case err != nil:
			answer(false, http.StatusServiceUnavailable, "judge: database unavailable")
			return
		}
	}
	// The window ends now, after the revision was seen (validated above).
	spec, err := req.spec(h.Now())
	if err != nil {
		answer(false, http.StatusBadRequest, "judge: metadata: "+err.Error())
		return
	}
	if h.Verdicts != nil {
		if !clipToRevision(spec, first) {
			answer(false, http.StatusTooEarly, fmt.Sprintf("judge: waiting for data: revision %.16s of %s/%s was first seen at %s; judged once %d steps of it are in the window",
				p.Checksum, p.Namespace, p.Name, first.Format(time.RFC3339), minWindowSteps))
			return
		}
	}
	id, v, err := h.analyze(ctx, spec, Deadline)
	if err != nil {
		code, msg := errorStatus(w, err)
		answer(false, code, "judge: "+msg)
		return
	}
	report := ""
	if u := reportURL(r, id); u != "" {
		report = " (report: " + u + ")"
	}
	// An underpowered look is MARGINAL whatever metadata.marginal says: it
	// could not have seen the allowed effect.
	passed := v.GetResult() == "PASS" || v.GetResult() == "MARGINAL" && marginalPasses && !v.GetLook().GetUnderpowered()
	if h.Verdicts != nil {
		if err := h.Verdicts.RecordFlaggerVerdict(ctx, store.FlaggerVerdict{Namespace: p.Namespace, Name: p.Name, Checksum: p.Checksum,
			JudgedAt: h.Now(), Result: v.GetResult(), Passed: passed, Score: v.GetScore()}); err != nil {
			// The score query would answer an older verdict: this check
			// fails rather than pass on a verdict nobody can read back.
			answer(false, http.StatusServiceUnavailable, "judge: the verdict could not be stored: database unavailable")
			return
		}
	}
	answer(passed, http.StatusConflict, fmt.Sprintf("judge: %s score %.2f: %s%s", v.GetResult(), v.GetScore(), v.GetReason(), report))
}

// clipToRevision moves the start of every scope to first, the first call
// for the revision, when that is inside the window, and reports whether
// at least minWindowSteps steps remain. A window that ends before the
// revision was seen (an explicit end) is left as it is.
func clipToRevision(spec *judgev1.AnalysisSpec, first time.Time) bool {
	for _, pair := range spec.GetScopes() {
		for _, sc := range []*judgev1.Scope{pair.GetControlScope(), pair.GetExperimentScope()} {
			start, end := sc.GetStart().AsTime(), sc.GetEnd().AsTime()
			if !first.After(start) || first.After(end) {
				continue
			}
			if end.Sub(first) < time.Duration(minWindowSteps*sc.GetStepSeconds())*time.Second {
				return false
			}
			sc.Start = timestamppb.New(first)
		}
	}
	return true
}
