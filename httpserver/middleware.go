package httpserver

import (
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
)

// The middleware below do one thing each; Server.routes composes them in
// one visible chain.

// corsHeaders are the prepared CORS header values (notes A2).
type corsHeaders struct {
	allowOrigin   []string
	exposeHeaders []string
	allowMethods  []string
	allowHeaders  []string
	maxAge        []string
}

func newCORSHeaders(allowOrigin string) corsHeaders {
	return corsHeaders{
		allowOrigin: []string{allowOrigin},
		// Age lets players and monitors see CDN cache age; Content-Range
		// matters to range loaders; Content-Length and Date are safelisted
		// in newer browsers only.
		exposeHeaders: []string{"Age, Content-Length, Content-Range, Date, ETag, Last-Modified"},
		allowMethods:  []string{"GET, HEAD, OPTIONS"},
		// Range is not CORS-safelisted in every form; hls.js sends it for
		// byte-range segments and parts, and the If-* headers come with
		// conditional requests made by custom loaders.
		allowHeaders: []string{"Range, If-Range, If-None-Match, If-Modified-Since, Cache-Control, Pragma"},
		maxAge:       []string{"7200"},
	}
}

// newAPICORSHeaders are the CORS headers of /api/: DELETE and the
// Authorization header are allowed there too.
func newAPICORSHeaders(allowOrigin string) corsHeaders {
	c := newCORSHeaders(allowOrigin)
	c.allowMethods = []string{"GET, HEAD, DELETE, OPTIONS"}
	c.allowHeaders = []string{"Authorization, If-None-Match, If-Modified-Since, Cache-Control, Pragma"}
	return c
}

// cors adds Access-Control-Allow-Origin and -Expose-Headers to every
// response, errors included (without them hls.js sees status 0 and cannot
// tell a 404 from a network failure), and answers every OPTIONS request as
// a CORS preflight with 204.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &s.corsHdr
		if strings.HasPrefix(r.URL.Path, "/api/") {
			c = &s.apiCORS
		}
		h := w.Header()
		h["Access-Control-Allow-Origin"] = c.allowOrigin
		h["Access-Control-Expose-Headers"] = c.exposeHeaders
		if r.Method == http.MethodOptions {
			h["Access-Control-Allow-Methods"] = c.allowMethods
			h["Access-Control-Allow-Headers"] = c.allowHeaders
			h["Access-Control-Max-Age"] = c.maxAge
			h["Allow"] = c.allowMethods
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests logs one Debug line per request with its status, size and
// duration. When Debug is disabled it costs one level check.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := s.Logger.Debug()
		if ev == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			status := rec.status
			if status == 0 {
				if r.Context().Err() != nil {
					status = 499 // nginx's "client closed request"
				} else {
					status = http.StatusOK
				}
			}
			ev.Str("method", r.Method).
				Str("path", r.URL.Path).
				Str("query", r.URL.RawQuery).
				Str("remote", r.RemoteAddr).
				Int("status", status).
				Int64("bytes", rec.bytes).
				Dur("duration", time.Since(start)).
				Msg("http request")
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder records the status and body size of a response. It
// changes nothing else and unwraps for http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's io.ReaderFrom fast path, which
// http.ServeContent uses for the body.
func (r *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writeDeadline bounds the time to write each response (WriteTimeout) so
// that a client that stops reading cannot hold a connection for ever. It
// replaces the server-wide WriteTimeout, which would also count the LL-HLS
// blocking wait: serveHLS starts the clock again once its object is ready.
func (s *Server) writeDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setWriteDeadline(w, s.WriteTimeout)
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a handler panic into a logged 500, so that one bad
// request never takes the process down. http.ErrAbortHandler keeps its
// meaning (abort the response silently).
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value, compared as net/http does
				panic(v)
			}
			s.Logger.Error().
				Interface("panic", v).
				Str("method", r.Method).
				Str("path", r.URL.Path).
				Bytes("stack", debug.Stack()).
				Msg("handler panic recovered")
			writeStatus(w, http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}
