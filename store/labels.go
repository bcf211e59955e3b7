package store

import (
	"context"
	"fmt"
)

// The labels of an analysis (Analysis.Label).
const (
	// LabelRegression: the analysis should have failed.
	LabelRegression = "regression"
	// LabelGood: the analysis should have passed.
	LabelGood = "good"
)

// SetLabel labels an analysis that createdBy created (LabelRegression,
// LabelGood, or "" to clear it), recording by as who labelled it and the
// database's clock as when, and returns the analysis. One another caller
// created is ErrNotOwner; a label it does not know is an error naming it.
func (s *Store) SetLabel(ctx context.Context, id, label, createdBy, by string) (Analysis, error) {
	if label != LabelRegression && label != LabelGood && label != "" {
		return Analysis{}, fmt.Errorf("label %.40q: want %s, %s or empty: %w", label, LabelRegression, LabelGood, ErrInvalidLabel)
	}
	at := s.now().UnixNano()
	if label == "" {
		by, at = "", 0
	}
	res, err := s.exec(ctx, `UPDATE analyses SET label = ?, labelled_by = ?, labelled_at = ? WHERE id = ? AND created_by = ?`,
		label, by, at, id, createdBy)
	if err != nil {
		return Analysis{}, fmt.Errorf("label analysis %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		a, err := s.GetAnalysisSummary(ctx, id)
		if err != nil {
			return Analysis{}, err
		}
		return Analysis{}, fmt.Errorf("analysis %q: another caller created it: %w", a.ID, ErrNotOwner)
	}
	return s.GetAnalysisSummary(ctx, id)
}
