package httpreply

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestStatus pins the one table every HTTP surface answers service errors
// with: a deadline is 504 on Kayenta's API and the webhooks alike (503 on
// one and 504 on the other before), unavailable asks to retry, and an
// internal error says nothing of the request.
func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err        error
		code       int
		msg, retry string
	}{
		{status.Error(codes.InvalidArgument, "spec.x: bad"), 400, "spec.x: bad", ""},
		{status.Error(codes.FailedPrecondition, "no account"), 400, "no account", ""},
		{status.Error(codes.PermissionDenied, "not yours"), 403, "not yours", ""},
		{status.Error(codes.NotFound, "no config"), 404, "no config", ""},
		{status.Error(codes.ResourceExhausted, "too big"), 413, "too big", ""},
		{status.Error(codes.Canceled, "gone"), StatusClientClosed, "gone", ""},
		{status.Error(codes.Unavailable, "busy"), 503, "busy", "2"},
		{status.Error(codes.DeadlineExceeded, "late"), 504, "late", ""},
		{status.Error(codes.Internal, "secret detail"), 500, "internal error", ""},
		{errors.New("plain"), 500, "internal error", ""},
	} {
		w := httptest.NewRecorder()
		code, msg := Status(w, tc.err)
		if code != tc.code || msg != tc.msg || w.Header().Get("Retry-After") != tc.retry {
			t.Errorf("%v: %d %q (Retry-After %q), want %d %q (%q)", tc.err, code, msg, w.Header().Get("Retry-After"), tc.code, tc.msg, tc.retry)
		}
	}
	w := httptest.NewRecorder()
	JSON(w, http.StatusOK, func() {})
	if w.Code != 500 || w.Body.String() != internal {
		t.Errorf("an unencodable value: %d %s", w.Code, w.Body)
	}
}
