package server

import (
	"fmt"
	"unicode/utf8"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
)

// Bounds of what a spec carries for its caller (application, annotations)
// and of the queries inline series name: stored with every analysis, so
// held small.
const (
	maxApplicationBytes = 256
	maxAnnotations      = 16
	maxAnnotationKey    = 63
	maxAnnotationValue  = 1024
	maxQueryBytes       = 16 << 10
)

// checkLabels checks a spec's application and annotations against their
// bounds, naming the field that is out of them.
func checkLabels(spec *judgev1.AnalysisSpec) error {
	if app := spec.GetApplication(); len(app) > maxApplicationBytes || !utf8.ValidString(app) {
		return fmt.Errorf("spec.application: want valid UTF-8 of at most %d bytes: %w", maxApplicationBytes, errInvalid)
	}
	ann := spec.GetAnnotations()
	if len(ann) > maxAnnotations {
		return fmt.Errorf("spec.annotations: %d entries, more than the limit of %d: %w", len(ann), maxAnnotations, errInvalid)
	}
	for k, v := range ann {
		if k == "" || len(k) > maxAnnotationKey {
			return fmt.Errorf("spec.annotations: key %.80q: want 1 to %d bytes: %w", k, maxAnnotationKey, errInvalid)
		}
		if len(v) > maxAnnotationValue {
			return fmt.Errorf("spec.annotations[%q]: %d bytes, more than the limit of %d: %w", k, len(v), maxAnnotationValue, errInvalid)
		}
	}
	return nil
}
