// Package httpreply writes the answers of judge's HTTP surfaces outside
// /v1 (Kayenta's API, the deployer webhooks): one JSON writer and one
// table from the service's gRPC status codes to HTTP statuses, so the
// surfaces agree.
package httpreply

import (
	"encoding/json"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// internal is the body of an answer that could not be encoded: both
// surfaces' error fields, so either reader finds it.
const internal = `{"error":"internal error","message":"internal error"}`

// JSON writes v as JSON with the status code; a value that cannot be
// encoded is a 500.
func JSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(internal)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// StatusClientClosed is nginx's status for a request its client gave up.
const StatusClientClosed = 499

// Status maps a service error to its HTTP status and message, and asks
// the caller to come back (Retry-After) when judge is busy or its database
// is down: bad input 400, a token's scope 403, not found 404, too large
// 413, cancelled by the client 499, unavailable 503, out of time 504;
// anything else is an internal error, whose message says nothing more.
func Status(w http.ResponseWriter, err error) (int, string) {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest, st.Message()
	case codes.PermissionDenied:
		return http.StatusForbidden, st.Message()
	case codes.NotFound:
		return http.StatusNotFound, st.Message()
	case codes.ResourceExhausted:
		return http.StatusRequestEntityTooLarge, st.Message()
	case codes.Canceled:
		return StatusClientClosed, st.Message()
	case codes.Unavailable:
		w.Header().Set("Retry-After", "2")
		return http.StatusServiceUnavailable, st.Message()
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout, st.Message()
	}
	return http.StatusInternalServerError, "internal error"
}
