package server

import (
	"net/http"
	"strings"
	"sync"
)

// SharedPort serves gRPC and HTTP on one port: HTTP/2 requests whose
// content type is application/grpc go to grpcHandler (a grpc.Server's
// ServeHTTP), the rest to httpHandler. judge-bench's decode floor serves
// through it too, so the floor and the service pay for the same transport.
//
// gRPC's writes are gathered until each flush (coalescingWriter).
func SharedPort(grpcHandler, httpHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			httpHandler.ServeHTTP(w, r)
			return
		}
		f, ok := w.(http.Flusher)
		if !ok {
			// gRPC refuses a writer that cannot flush; let it say so.
			grpcHandler.ServeHTTP(w, r)
			return
		}
		cw := coalescingPool.Get().(*coalescingWriter)
		cw.ResponseWriter, cw.flusher = w, f
		defer cw.release()
		grpcHandler.ServeHTTP(cw, r)
	})
}

// coalescingWriter holds a gRPC response's writes until Flush (up to
// maxHeld) and hands them to the HTTP/2 server in one Write. grpc-go's
// handler transport writes a message's 5-byte prefix and its body apart,
// and net/http's HTTP/2 server buffers a handler's writes in 4 KiB: a
// verdict of a little over 4 KiB (ten metrics) then left as two DATA
// frames, each a trip through the connection's serve loop, its writer
// goroutine and a write system call, where one Write of the whole message
// is one frame. The
// gRPC server flushes after every message and before its trailers, so
// nothing waits longer than its own message.
type coalescingWriter struct {
	http.ResponseWriter
	flusher http.Flusher
	buf     []byte
}

// maxHeld is the most a writer holds: a write that would take it past
// this goes through at once, after what was held, so a large message
// (already whole in memory) is not copied again, and the pooled buffers
// stay small.
const maxHeld = 64 << 10

var coalescingPool = sync.Pool{New: func() any { return new(coalescingWriter) }}

func (w *coalescingWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > maxHeld {
		if len(w.buf) > 0 {
			if _, err := w.ResponseWriter.Write(w.buf); err != nil {
				w.buf = w.buf[:0]
				return 0, err
			}
			w.buf = w.buf[:0]
		}
		return w.ResponseWriter.Write(p)
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Flush writes what is held in one Write, then flushes.
func (w *coalescingWriter) Flush() {
	if len(w.buf) > 0 {
		// An error here is the connection's: the gRPC server learns of
		// it from the request's context, as it would from a direct
		// write (whose errors it ignores).
		_, _ = w.ResponseWriter.Write(w.buf)
		w.buf = w.buf[:0]
	}
	w.flusher.Flush()
}

// release returns the writer to the pool once the handler has returned.
// Whatever the handler left unflushed is written first (grpc-go flushes
// every message, so this is nothing unless it changes).
func (w *coalescingWriter) release() {
	if len(w.buf) > 0 {
		_, _ = w.ResponseWriter.Write(w.buf)
	}
	w.ResponseWriter, w.flusher = nil, nil
	w.buf = w.buf[:0]
	coalescingPool.Put(w)
}
