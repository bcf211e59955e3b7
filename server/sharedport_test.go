package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// flushRecorder counts the writes and flushes a handler's writer passes on.
type flushRecorder struct {
	*httptest.ResponseRecorder
	writes  [][]byte
	flushes int
}

func (f *flushRecorder) Write(p []byte) (int, error) {
	f.writes = append(f.writes, bytes.Clone(p))
	return f.ResponseRecorder.Write(p)
}

func (f *flushRecorder) Flush() { f.flushes++ }

// TestSharedPort: gRPC requests (HTTP/2, application/grpc…) reach the gRPC
// handler, whose writes arrive below as one Write per flush, and whatever
// it left unflushed is still written; every other request reaches the
// HTTP handler with the writer it came with.
func TestSharedPort(t *testing.T) {
	prefix, body := []byte{0, 0, 0, 0, 3}, []byte("abc")
	grpcHandler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		_, _ = w.Write(prefix)
		_, _ = w.Write(body)
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte("tail"))
	})
	var httpWriter http.ResponseWriter
	httpHandler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { httpWriter = w })
	h := SharedPort(grpcHandler, httpHandler)

	for _, tc := range []struct {
		name        string
		major       int
		contentType string
		grpc        bool
	}{
		{"gRPC", 2, "application/grpc", true},
		{"gRPC with a codec", 2, "application/grpc+proto", true},
		{"HTTP/2 JSON", 2, "application/json", false},
		{"HTTP/1.1 claiming gRPC", 1, "application/grpc", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
			r := httptest.NewRequest(http.MethodPost, "/judge.v1.JudgeService/Analyze", nil)
			r.ProtoMajor = tc.major
			r.Header.Set("Content-Type", tc.contentType)
			httpWriter = nil
			h.ServeHTTP(rec, r)
			if !tc.grpc {
				if httpWriter != http.ResponseWriter(rec) || len(rec.writes) != 0 {
					t.Fatalf("HTTP handler got writer %T and %d writes; want the request's own writer", httpWriter, len(rec.writes))
				}
				return
			}
			want := [][]byte{append(bytes.Clone(prefix), body...), []byte("tail")}
			if len(rec.writes) != len(want) || !bytes.Equal(rec.writes[0], want[0]) || !bytes.Equal(rec.writes[1], want[1]) {
				t.Fatalf("writes below the gRPC handler: %q, want %q (one per flush, then the unflushed rest)", rec.writes, want)
			}
			if rec.flushes != 1 || rec.Header().Get("Content-Type") != "application/grpc" {
				t.Errorf("%d flushes, content type %q: want 1 and the handler's header", rec.flushes, rec.Header().Get("Content-Type"))
			}
		})
	}
}

// TestCoalescingWriterLimit: writes are held up to maxHeld; one that
// would pass it goes through at once, after what was held and in order,
// and the writer returns to the pool empty with a buffer no larger than
// maxHeld.
func TestCoalescingWriterLimit(t *testing.T) {
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	cw := &coalescingWriter{ResponseWriter: rec, flusher: rec}
	small, large := bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("b"), maxHeld)
	for _, p := range [][]byte{small, large, small} {
		if n, err := cw.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
		}
	}
	if len(rec.writes) != 2 || !bytes.Equal(rec.writes[0], small) || !bytes.Equal(rec.writes[1], large) {
		t.Fatalf("before the flush, %d writes below; want the held 100 bytes, then the large write", len(rec.writes))
	}
	cw.Flush()
	if len(rec.writes) != 3 || !bytes.Equal(rec.writes[2], small) || rec.Body.Len() != 2*len(small)+len(large) {
		t.Fatalf("after the flush: %d writes, %d bytes in order", len(rec.writes), rec.Body.Len())
	}
	cw.release()
	if cw.ResponseWriter != nil || len(cw.buf) != 0 || cap(cw.buf) > maxHeld {
		t.Errorf("released with writer %v, %d bytes held, capacity %d", cw.ResponseWriter, len(cw.buf), cap(cw.buf))
	}
}
