package httpserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/livegate/gateway/hls"
)

// statusFor maps an error to its HTTP status. It is the one place where
// errors become status codes. A zero status means "do not answer": the
// client is gone.
func statusFor(err error) int {
	switch {
	case errors.Is(err, hls.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, hls.ErrBadRequest):
		// bis §6.2.5.2: _HLS_part without _HLS_msn, or a directive too far
		// ahead, is a Bad Request.
		return http.StatusBadRequest
	case errors.Is(err, hls.ErrUnavailable):
		// bis §6.2.5.2: a blocking reload not satisfied within 3×TD SHOULD
		// get 503; so does a request cut short by shutdown.
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		// A wait bounded by a deadline ran out: same as a blocking reload
		// that was not satisfied in time.
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return 0
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers a failed request with a short text body and
// Cache-Control: no-store, so that a CDN does not keep the error. The CORS
// headers set by the middleware stay. Unexpected errors are logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusFor(err)
	if status == 0 {
		if r.Context().Err() != nil {
			return // the client went away: nobody to answer
		}
		// A cancellation the client did not cause is a bug; never let it
		// become net/http's implicit empty 200.
		status = http.StatusInternalServerError
	}
	if status == http.StatusInternalServerError {
		s.Logger.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("request failed")
	}
	writeStatus(w, status)
}

// writeStatus writes a plain error response with the given status.
func writeStatus(w http.ResponseWriter, status int) {
	h := w.Header()
	// Drop what may have been set for a success that did not happen.
	for _, k := range [...]string{"Etag", "Last-Modified", "Content-Encoding", "Content-Length", "Expires", "Vary", "Accept-Ranges"} {
		delete(h, k)
	}
	h["Cache-Control"] = hdrNoStore
	http.Error(w, http.StatusText(status), status)
}
