package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/livegate/gateway/hls"
)

// maxNameLen bounds app, stream and file names in URLs.
const maxNameLen = 128

// Header values are prepared once and assigned to the header map directly:
// each slice has len == cap, so an Add by anyone later copies, never
// writes through into the shared array.
var (
	hdrVaryAcceptEncoding = []string{"Accept-Encoding"}
	hdrGzip               = []string{"gzip"}
	hdrNoStore            = []string{"no-store"}
	hdrNoCache            = []string{"no-cache"}
	hdrNosniff            = []string{"nosniff"}
)

// knownContentTypes interns the Content-Types the segmenter uses so that
// serving them allocates nothing.
var knownContentTypes = map[string][]string{
	"application/vnd.apple.mpegurl": {"application/vnd.apple.mpegurl"},
	"video/mp2t":                    {"video/mp2t"},
	"video/mp4":                     {"video/mp4"},
	"audio/mp4":                     {"audio/mp4"},
	"video/iso.segment":             {"video/iso.segment"},
	"audio/aac":                     {"audio/aac"},
	"text/vtt":                      {"text/vtt"},
}

// playlistMaxAges caches "public, max-age=N" for the playlist ages we use.
const maxPrecomputedAge = 120

// cachePolicy decides Cache-Control per object (notes A0/A1).
type cachePolicy struct {
	media    []string   // segments, parts, init
	maxAge   [][]string // index n: "public, max-age=n"
	blocking []string
}

func newCachePolicy(mediaMaxAge time.Duration) cachePolicy {
	p := cachePolicy{
		// The URL of a segment, part or init section names one immutable
		// byte string for ever (per-session prefix + sequence number), so a
		// CDN may keep it as long as it likes.
		media:  []string{"public, max-age=" + strconv.Itoa(int(mediaMaxAge/time.Second)) + ", immutable"},
		maxAge: make([][]string, maxPrecomputedAge+1),
	}
	for i := range p.maxAge {
		p.maxAge[i] = []string{"public, max-age=" + strconv.Itoa(i)}
	}
	// EMP: LL-HLS media playlists 1 s. A blocking response describes the
	// state the client asked for; a short TTL lets a CDN coalesce the
	// viewers waiting on the same directive.
	p.blocking = p.maxAge[1]
	return p
}

func (p *cachePolicy) publicMaxAge(seconds int) []string {
	if seconds < 1 {
		seconds = 1
	}
	if seconds <= maxPrecomputedAge {
		return p.maxAge[seconds]
	}
	return []string{"public, max-age=" + strconv.Itoa(seconds)}
}

// cacheControl returns the Cache-Control value for a successful response.
func (p *cachePolicy) cacheControl(o *hls.Object) []string {
	switch o.Kind {
	case hls.KindSegment, hls.KindPart, hls.KindInit:
		return p.media
	}
	td := int(o.TargetDuration / time.Second)
	switch {
	case o.Ended:
		// An ended playlist changes only if the publisher comes back;
		// players that saw EXT-X-ENDLIST stop reloading anyway.
		return p.publicMaxAge(2 * td)
	case o.Blocking:
		return p.blocking
	default:
		// EMP and Fastly: playlists at most half a target duration, so a
		// CDN never hides a whole new segment.
		return p.publicMaxAge(td / 2)
	}
}

func isPlaylist(k hls.ObjectKind) bool {
	return k == hls.KindMultivariant || k == hls.KindMediaPlaylist
}

// serveHLS answers GET and HEAD /{app}/{stream}/{file}.
func (s *Server) serveHLS(w http.ResponseWriter, r *http.Request) {
	rctx := chi.RouteContext(r.Context())
	app, stream, file := rctx.URLParam("app"), rctx.URLParam("stream"), rctx.URLParam("file")
	if !validName(app) || !validName(stream) || !validFile(file) {
		s.writeError(w, r, hls.ErrNotFound)
		return
	}
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	start := s.Now()
	ctx := r.Context()
	if r.Method == http.MethodHead {
		// A HEAD never waits (notes A2): given a cancelled context the
		// origin answers from what exists now.
		ctx = s.canceled
	}
	var obj *hls.Object
	var err error
	if r.Method != http.MethodHead && (query.Has("_HLS_msn") || isPartName(file)) {
		obj, err = s.getBlocking(ctx, app, stream, file, query)
	} else {
		obj, err = s.Origin.Get(ctx, app, stream, file, query)
	}
	if err != nil {
		if r.Method == http.MethodHead && errors.Is(err, context.Canceled) && r.Context().Err() == nil {
			// Not the client's doing: a HEAD for what does not exist yet.
			err = fmt.Errorf("HEAD of a pending object: %w", hls.ErrNotFound)
		} else if errors.Is(err, context.Canceled) && s.ctx.Err() != nil {
			// The client is still there; the server is going away.
			err = errServerClosed
		}
		s.writeError(w, r, err)
		return
	}
	if obj == nil {
		s.writeError(w, r, hls.ErrNotFound)
		return
	}
	if query != nil || obj.Kind == hls.KindPart {
		// Only LL-HLS directives and preload-hinted parts wait in Get: for
		// them the write deadline starts again now, after the wait.
		setWriteDeadline(w, s.WriteTimeout)
	}
	n := s.writeObject(w, r, app, stream, file, obj)
	s.traffic.record(r, app, stream, obj, n, start, s.Origin.Streams)
}

// errTooManyBlocking answers a request that may wait when
// MaxBlockingRequests are already waiting.
var errTooManyBlocking = fmt.Errorf("too many blocking requests: %w", hls.ErrUnavailable)

// getBlocking is Origin.Get for requests that may wait (LL-HLS blocking
// reloads, part requests): at most MaxBlockingRequests at once, each wait
// measured.
func (s *Server) getBlocking(ctx context.Context, app, stream, file string, query url.Values) (*hls.Object, error) {
	st := &s.stats
	n := st.blocking.Add(1)
	defer st.blocking.Add(-1)
	if s.MaxBlockingRequests > 0 && n > int64(s.MaxBlockingRequests) {
		st.blockingRejected.Add(1)
		return nil, errTooManyBlocking
	}
	start := time.Now()
	obj, err := s.Origin.Get(ctx, app, stream, file, query)
	st.observeWait(time.Since(start))
	if errors.Is(err, hls.ErrUnavailable) {
		st.blockingTimeouts.Add(1)
	}
	return obj, err
}

// writeObject sends obj with its headers through http.ServeContent, which
// handles Range, If-None-Match, If-Modified-Since, 304 and HEAD.
// It returns the number of body bytes written.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, app, stream, file string, obj *hls.Object) int64 {
	h := w.Header()
	// Set Content-Type first so ServeContent neither sniffs nor asks the
	// host's mime table (.ts is a Qt translation file on Debian).
	if ct, ok := knownContentTypes[obj.ContentType]; ok {
		h["Content-Type"] = ct
	} else if obj.ContentType != "" {
		h["Content-Type"] = []string{obj.ContentType}
	} else {
		h["Content-Type"] = []string{"application/octet-stream"}
	}
	h["Cache-Control"] = s.policy.cacheControl(obj)
	if obj.ETag != "" {
		h["Etag"] = []string{obj.ETag}
	}

	body := obj.Body
	if isPlaylist(obj.Kind) {
		// bis §6.2.1: servers SHOULD gzip playlists for clients that accept
		// it; the representation varies with Accept-Encoding either way.
		h["Vary"] = hdrVaryAcceptEncoding
		// A Range request gets identity bytes, so that byte offsets always
		// refer to the playlist text.
		if r.Header.Get("Range") == "" && acceptsGzip(r.Header["Accept-Encoding"]) {
			if gz := s.gzip.get(gzipKey{app: app, stream: stream, file: file, etag: obj.ETag, size: len(obj.Body)}, obj.Body); gz != nil {
				h["Content-Encoding"] = hdrGzip
				h["Content-Length"] = gz.contentLength
				if obj.ETag != "" {
					h["Etag"] = gz.etag
				}
				body = gz.body
			}
		}
	} else if !obj.Expires.IsZero() {
		// RFC 8216 §6.2.2: if a server plans to remove a Media Segment after
		// it is delivered, the response SHOULD carry an Expires header that
		// reflects the planned time-to-live.
		h["Expires"] = []string{obj.Expires.UTC().Format(http.TimeFormat)}
	}
	return serveBytes(w, r, obj.ModTime, body)
}

// validName reports whether an app or stream name is safe and well formed:
// [A-Za-z0-9_.-]+, not starting with a dot (no ".", "..", hidden names).
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameChar(s[i]) {
			return false
		}
	}
	return true
}

// validFile is validName plus one of the extensions the segmenter serves.
func validFile(s string) bool {
	if !validName(s) {
		return false
	}
	dot := strings.LastIndexByte(s, '.')
	if dot <= 0 {
		return false
	}
	switch s[dot:] {
	case ".m3u8", ".ts", ".m4s", ".mp4":
		return true
	}
	return false
}

func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}
