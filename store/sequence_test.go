package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSequenceLooks follows a sequence on each backend: looks numbered
// 1, 2, … across two replicas and a reopened store, a dropped look's
// number reused, another plan refused, and a failed sequence taking no
// more looks whatever a later look says.
func TestSequenceLooks(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			a, b := open(), open()
			const seq = "argo:prod/checkout-7f9c/uid-1/judge"
			for i, s := range []*Store{a, b, a} {
				_, look, err := s.BeginLook(ctx, seq, 6, "")
				if err != nil || look != i+1 {
					t.Fatalf("look %d: got %d (%v)", i+1, look, err)
				}
				if err := s.FinishLook(ctx, seq, look, "", []byte(`{"result":"PASS"}`), SequenceOpen, ""); err != nil {
					t.Fatal(err)
				}
			}
			_, look, err := b.BeginLook(ctx, seq, 6, "")
			if err != nil || look != 4 {
				t.Fatalf("look 4: %d (%v)", look, err)
			}
			if err := b.DropLook(ctx, seq, look); err != nil {
				t.Fatal(err)
			}
			if _, look, err = open().BeginLook(ctx, seq, 6, ""); err != nil || look != 4 {
				t.Fatalf("after a dropped look, a reopened store: look %d (%v), want 4 again", look, err)
			}
			if _, _, err := a.BeginLook(ctx, seq, 12, ""); !errors.Is(err, ErrSequencePlan) {
				t.Errorf("another plan: %v, want ErrSequencePlan", err)
			}
			if err := a.FinishLook(ctx, seq, 4, "an-id", []byte(`{"result":"FAIL"}`), SequenceFailed, "m00 HIGH"); err != nil {
				t.Fatal(err)
			}
			if err := a.FinishLook(ctx, seq, 3, "", []byte(`{"result":"PASS"}`), SequencePassedEarly, "late"); err != nil {
				t.Fatal(err)
			}
			got, look, err := b.BeginLook(ctx, seq, 6, "")
			if err != nil || look != 0 || got.State != SequenceFailed || got.Reason != "m00 HIGH" {
				t.Fatalf("after the failure: look %d, %+v (%v); want no look, failed for m00 HIGH", look, got, err)
			}
			s, looks, _, err := b.GetSequence(ctx, seq, 0, 100)
			if err != nil || s.Looks != 6 || s.State != SequenceFailed {
				t.Fatalf("get: %+v (%v)", s, err)
			}
			var nums []int
			for _, l := range looks {
				nums = append(nums, l.Look)
			}
			if !slices.Equal(nums, []int{1, 2, 3, 4}) || looks[3].AnalysisID != "an-id" || string(looks[3].Verdict) != `{"result":"FAIL"}` {
				t.Errorf("looks %v, last %+v", nums, looks[3])
			}
			if _, _, _, err := b.GetSequence(ctx, "none", 0, 100); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown sequence: %v", err)
			}
			if n, err := a.DeleteSequences(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
				t.Errorf("retention deleted %d (%v), want 1", n, err)
			}
			if _, looks, err := a.BeginLook(ctx, seq, 6, ""); err != nil || looks != 1 {
				t.Errorf("a deleted sequence starts again at look 1: %d (%v)", looks, err)
			}
		})
	}
}

// TestConcurrentLooks begins 40 looks of one new sequence at once from two
// replicas: each gets its own number, 1 to 40.
func TestConcurrentLooks(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			a, b := open(), open()
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				looks []int
			)
			for i := range 40 {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, look, err := s.BeginLook(ctx, "flagger:test/podinfo/abc", 0, "")
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					looks = append(looks, look)
					mu.Unlock()
				}()
			}
			wg.Wait()
			slices.Sort(looks)
			for i, l := range looks {
				if l != i+1 {
					t.Fatalf("looks %v, want 1 to 40 once each", looks)
				}
			}
		})
	}
}

// TestSequencePagesBounded: a page of looks stops at MaxLookPage looks or
// after about 8 MiB of verdicts (issue 30, row 6: a 300 × 500 sequence was
// read whole, 192 MB), and the pages together hold every look once.
// Ownership: another owner's look, claim and cancel are ErrNotOwner.
func TestSequencePagesBounded(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			big := []byte(`{"reason":"` + strings.Repeat("x", 1<<20) + `"}`)
			for k := 1; k <= 20; k++ {
				if _, look, err := s.BeginLook(ctx, "big", 0, "token:a"); err != nil || look != k {
					t.Fatalf("look %d: %d %v", k, look, err)
				}
				if err := s.FinishLook(ctx, "big", k, "", big, SequenceOpen, ""); err != nil {
					t.Fatal(err)
				}
			}
			var seen []int
			after := 0
			for {
				_, looks, next, err := s.GetSequence(ctx, "big", after, MaxLookPage)
				if err != nil {
					t.Fatal(err)
				}
				bytes := 0
				for _, l := range looks {
					bytes += len(l.Verdict)
					seen = append(seen, l.Look)
				}
				if bytes > maxLookPageBytes+len(big) {
					t.Errorf("a page of %d looks holds %d bytes, more than %d plus one look", len(looks), bytes, maxLookPageBytes)
				}
				if next == 0 {
					break
				}
				after = next
			}
			if len(seen) != 20 || seen[0] != 1 || seen[19] != 20 {
				t.Errorf("pages held looks %v, want 1 to 20 once each", seen)
			}
			if _, _, err := s.BeginLook(ctx, "big", 0, "token:b"); !errors.Is(err, ErrNotOwner) {
				t.Errorf("another owner's look: %v, want ErrNotOwner", err)
			}
			if _, err := s.ClaimSequence(ctx, "big", 0, "token:b"); !errors.Is(err, ErrNotOwner) {
				t.Errorf("another owner's claim: %v, want ErrNotOwner", err)
			}
			// An analysis is cancelled only by its creator.
			a, err := s.CreateAnalysis(ctx, "c", "", "token:a", []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CancelAnalysis(ctx, a.ID, "token:b"); !errors.Is(err, ErrNotOwner) {
				t.Errorf("another caller's cancel: %v, want ErrNotOwner", err)
			}
			if got, err := s.CancelAnalysis(ctx, a.ID, "token:a"); err != nil || got.Status != StatusCanceled {
				t.Errorf("the creator's cancel: %v %v", got.Status, err)
			}
		})
	}
}

// TestFinishLookRecorded: a webhook's analysis is stored with the look it
// judged, on each backend, whether the look decides nothing (on
// PostgreSQL one statement) or decides the sequence; an analysis that
// cannot be stored (its id taken) leaves the look unfinished too, so that
// the two are never stored apart.
func TestFinishLookRecorded(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			const seq = "argo-web:7f9c"
			rec := func(result string) Recorded {
				return Recorded{ConfigName: "podinfo", Application: "web", Spec: []byte(`{"sequence":"7f9c"}`),
					Outcome: Outcome{Verdict: []byte(`{"result":"` + result + `"}`), Series: []byte(`[]`)}}
			}
			for look, tc := range []struct {
				id, result, state string
			}{{"id-one", "PASS", SequenceOpen}, {"id-two", "FAIL", SequenceFailed}} {
				if _, k, err := s.BeginLook(ctx, seq, 3, ""); err != nil || k != look+1 {
					t.Fatalf("begin look %d: %d, %v", look+1, k, err)
				}
				if err := s.FinishLookRecorded(ctx, seq, look+1, tc.id, []byte(`{"result":"`+tc.result+`"}`), tc.state, "why", rec(tc.result)); err != nil {
					t.Fatal(err)
				}
				a, err := s.GetAnalysis(ctx, tc.id)
				if err != nil || a.Status != StatusSucceeded || string(a.Verdict) != `{"result":"`+tc.result+`"}` || a.ConfigName != "podinfo" || string(a.Series) != `[]` {
					t.Errorf("look %d's analysis: %+v, %v", look+1, a, err)
				}
			}
			got, looks, _, err := s.GetSequence(ctx, seq, 0, 10)
			if err != nil || got.State != SequenceFailed || len(looks) != 2 || looks[0].AnalysisID != "id-one" || looks[1].AnalysisID != "id-two" {
				t.Fatalf("sequence: %+v %+v, %v", got, looks, err)
			}

			const other = "argo-web:other"
			if _, _, err := s.BeginLook(ctx, other, 3, ""); err != nil {
				t.Fatal(err)
			}
			if err := s.FinishLookRecorded(ctx, other, 1, "id-one", []byte(`{"result":"PASS"}`), SequenceOpen, "", rec("PASS")); err == nil {
				t.Fatal("an analysis id already taken was stored")
			}
			if _, looks, _, err := s.GetSequence(ctx, other, 0, 10); err != nil || len(looks) != 1 || len(looks[0].Verdict) != 0 || looks[0].AnalysisID != "" {
				t.Errorf("a look whose analysis was refused: %+v, %v; want it unfinished", looks, err)
			}
		})
	}
}
