package httpserver

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/livegate/gateway/hls"
	"github.com/livegate/gateway/web"
)

// routes builds the router and its middleware chain.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()

	// The whole chain, outermost first: CORS must wrap everything so that
	// errors and recovered panics carry it; the counters and the log see
	// the final status.
	r.Use(
		s.cors,
		s.countRequests,
		s.logRequests,
		s.recoverPanics,
		s.writeDeadline,
	)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(methodNotAllowed)

	get(r, "/healthz", s.healthz)
	get(r, "/readyz", s.readyz)
	if s.Metrics != nil {
		get(r.With(requireToken(newBearerToken(s.MetricsToken), deniedText)), "/metrics", s.Metrics.ServeHTTP)
	}
	r.Route("/api", func(api chi.Router) {
		api.Use(requireToken(newBearerToken(s.APIToken), deniedJSON))
		api.NotFound(func(w http.ResponseWriter, _ *http.Request) { writeJSONError(w, http.StatusNotFound, "not found") })
		api.MethodNotAllowed(apiMethodNotAllowed)
		get(api, "/v1/streams", s.apiStreams)
		get(api, "/v1/streams/{app}/{stream}", s.apiStream)
		api.Delete("/v1/streams/{app}/{stream}", s.apiKick)
	})
	get(r, "/static/*", s.static)
	get(r, "/", s.indexPage)
	get(r, "/{app}/{stream}", s.redirectToPlayer)
	get(r, "/{app}/{stream}/", s.playerPage)
	get(r, "/{app}/{stream}/{file}", s.serveHLS)
	return r
}

// get routes GET and HEAD of pattern to h.
func get(r chi.Router, pattern string, h http.HandlerFunc) {
	r.Get(pattern, h)
	r.Head(pattern, h)
}

var (
	hdrTextPlain   = []string{"text/plain; charset=utf-8"}
	hdrHTML        = []string{"text/html; charset=utf-8"}
	hdrJSON        = []string{"application/json"}
	hdrAllowGet    = []string{"GET, HEAD, OPTIONS"}
	hdrAllowAPI    = []string{"GET, HEAD, DELETE, OPTIONS"}
	hdrImmutable1y = []string{"public, max-age=31536000, immutable"}
	// Pages load their scripts, styles and media from this origin only;
	// hls.js runs its transmuxer in a blob: worker and plays through blob:
	// MediaSource URLs. frame-ancestors is left open for <iframe> embeds.
	hdrPageCSP = []string{"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'"}
)

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, hls.ErrNotFound)
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Allow"] = hdrAllowGet
	writeStatus(w, http.StatusMethodNotAllowed)
}

func apiMethodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Allow"] = hdrAllowAPI
	writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
}

func deniedJSON(w http.ResponseWriter) {
	writeJSONError(w, http.StatusUnauthorized, "missing or invalid bearer token")
}

func deniedText(w http.ResponseWriter) {
	writeText(w, http.StatusUnauthorized, "missing or invalid bearer token")
}

// healthz is the liveness probe: the process is up and serving HTTP.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok")
}

// readyz is the readiness probe: 503 from the moment Shutdown starts, so
// load balancers stop sending new viewers before the listener closes.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		writeText(w, http.StatusServiceUnavailable, "draining")
		return
	}
	writeText(w, http.StatusOK, "ok")
}

func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h["Content-Type"] = hdrTextPlain
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// static serves the embedded assets of package web. URLs made by
// web.AssetURL carry the content version and are immutable; others
// revalidate with the ETag.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	a, ok := web.LookupAsset(name)
	if !ok {
		s.writeError(w, r, hls.ErrNotFound)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{a.ContentType}
	h["Etag"] = []string{a.ETag}
	h["X-Content-Type-Options"] = hdrNosniff
	if r.URL.Query().Get("v") == a.Version {
		h["Cache-Control"] = hdrImmutable1y
	} else {
		h["Cache-Control"] = hdrNoCache
	}
	body := a.Body
	if compressible(a.ContentType) {
		h["Vary"] = hdrVaryAcceptEncoding
		if r.Header.Get("Range") == "" && acceptsGzip(r.Header["Accept-Encoding"]) {
			if gz := s.gzip.get(gzipKey{stream: "/static", file: a.Name, etag: a.ETag, size: len(a.Body)}, a.Body); gz != nil {
				h["Content-Encoding"] = hdrGzip
				h["Content-Length"] = gz.contentLength
				h["Etag"] = gz.etag
				body = gz.body
			}
		}
	}
	serveBytes(w, r, time.Time{}, body)
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.HasPrefix(contentType, "image/svg") ||
		strings.HasPrefix(contentType, "application/json")
}

func (s *Server) indexPage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := web.RenderIndex(&buf); err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, r, buf.Bytes())
}

func (s *Server) playerPage(w http.ResponseWriter, r *http.Request) {
	rctx := chi.RouteContext(r.Context())
	app, stream := rctx.URLParam("app"), rctx.URLParam("stream")
	if !validName(app) || !validName(stream) {
		s.writeError(w, r, hls.ErrNotFound)
		return
	}
	var buf bytes.Buffer
	p := web.PlayerPage{App: app, Stream: stream, Embed: r.URL.Query().Get("embed") == "1"}
	if err := web.RenderPlayer(&buf, p); err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, r, buf.Bytes())
}

// redirectToPlayer sends /{app}/{stream} to /{app}/{stream}/ with a
// relative Location, which keeps working behind a path-prefix proxy.
func (s *Server) redirectToPlayer(w http.ResponseWriter, r *http.Request) {
	rctx := chi.RouteContext(r.Context())
	app, stream := rctx.URLParam("app"), rctx.URLParam("stream")
	if !validName(app) || !validName(stream) {
		s.writeError(w, r, hls.ErrNotFound)
		return
	}
	loc := stream + "/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	h := w.Header()
	h["Location"] = []string{loc}
	h["Cache-Control"] = hdrNoCache
	w.WriteHeader(http.StatusMovedPermanently)
}

func writePage(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrHTML
	h["Cache-Control"] = hdrNoCache
	h["X-Content-Type-Options"] = hdrNosniff
	h["Content-Security-Policy"] = hdrPageCSP
	serveBytes(w, r, time.Time{}, body)
}
