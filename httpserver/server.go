package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
)

// Origin is what the server needs from the segmenter (hls.Manager).
type Origin interface {
	// Get returns the object named file of stream app/stream. For LL-HLS
	// blocking reloads (query _HLS_msn, _HLS_part) it may wait, up to three
	// target durations, and it returns ctx.Err() once ctx is done. Errors
	// wrap hls.ErrNotFound, hls.ErrBadRequest or hls.ErrUnavailable.
	Get(ctx context.Context, app, stream, file string, query url.Values) (*hls.Object, error)
	// Streams lists the known streams.
	Streams() []hls.StreamInfo
}

// Kicker is implemented by an Origin that can end a live publication
// (hls.Manager). With it, DELETE /api/v1/streams/{app}/{stream} ends the
// stream; without it, that answers 405.
type Kicker interface {
	// Kick ends the live publication of app/stream; it returns an error
	// wrapping hls.ErrNotFound when the stream has no live publisher.
	Kick(app, stream string) error
}

// Defaults of the Server's optional fields.
const (
	DefaultListen            = ":8080"
	DefaultAllowOrigin       = "*"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultMediaMaxAge       = 24 * time.Hour
	DefaultGzipCacheEntries  = 512
	// DefaultMaxBlockingRequests bounds the requests that may wait at once.
	DefaultMaxBlockingRequests = 10000
)

// Server is the HTTP origin. Set its fields, then call Start; stop it with
// Shutdown (graceful) or Close. A Server serves once: it cannot be started
// again after it stopped.
type Server struct {
	// Listen is the TCP address to listen on. It defaults to ":8080".
	Listen string
	// AllowOrigin is sent as Access-Control-Allow-Origin on every response,
	// errors included. It defaults to "*".
	AllowOrigin string
	// Origin provides the HLS objects and the stream list. Required.
	Origin Origin
	// Logger receives lifecycle events at Info, errors at Error and one line
	// per request at Debug. The zero value logs nothing.
	Logger zerolog.Logger
	// ReadHeaderTimeout bounds reading a request's headers. It defaults to
	// 10 seconds.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle for this long. It
	// defaults to 60 seconds.
	IdleTimeout time.Duration
	// WriteTimeout bounds writing one response. For HLS objects it counts
	// from the moment the object is ready, so that an LL-HLS blocking wait
	// does not eat into it (there is deliberately no server-wide write
	// timeout). It defaults to 30 seconds.
	WriteTimeout time.Duration
	// MediaMaxAge is the Cache-Control max-age of segments, parts and init
	// sections, whose URLs are never reused. It defaults to 24 hours.
	MediaMaxAge time.Duration
	// DrainDelay is how long Shutdown keeps serving with /readyz answering
	// 503 before it closes the listener, so that load balancers stop sending
	// new viewers first. It defaults to 0 (no delay).
	DrainDelay time.Duration
	// GzipCacheEntries bounds the number of gzipped playlists kept, so that
	// a playlist is compressed once per version and not per request. It
	// defaults to 512.
	GzipCacheEntries int
	// MaxBlockingRequests bounds the requests that may wait at once (LL-HLS
	// blocking playlist reloads and part requests); over it they get 503
	// at once. It defaults to 10000; negative means no bound.
	MaxBlockingRequests int
	// APIToken, when set, is the bearer token every /api/ request must
	// carry (Authorization: Bearer TOKEN); others get 401. Empty: the API
	// is open.
	APIToken string
	// Metrics, when set, is served at GET /metrics (a Prometheus handler).
	Metrics http.Handler
	// MetricsToken, when set, is the bearer token /metrics requests must
	// carry. Empty: /metrics is open.
	MetricsToken string
	// Now returns the wall clock (tests); default time.Now.
	Now func() time.Time

	initOnce sync.Once
	handler  http.Handler
	policy   cachePolicy
	gzip     *gzipCache
	corsHdr  corsHeaders
	apiCORS  corsHeaders
	traffic  *traffic
	stats    serverStats

	// ctx is the parent of every request context; Shutdown and Close cancel
	// it so that LL-HLS blocking requests end.
	ctx      context.Context
	cancel   context.CancelFunc
	draining atomic.Bool
	// canceled is an already cancelled context, passed to Origin.Get for
	// HEAD requests so that they never wait.
	canceled context.Context

	mu       sync.Mutex
	started  bool
	srv      *http.Server
	ln       net.Listener
	serveErr chan error
}

// errServerClosed answers requests cut short by Shutdown; it maps to 503 so
// that players and CDNs retry elsewhere.
var errServerClosed = fmt.Errorf("server shutting down: %w", hls.ErrUnavailable)

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.Listen == "" {
			s.Listen = DefaultListen
		}
		if s.AllowOrigin == "" {
			s.AllowOrigin = DefaultAllowOrigin
		}
		if s.ReadHeaderTimeout == 0 {
			s.ReadHeaderTimeout = DefaultReadHeaderTimeout
		}
		if s.IdleTimeout == 0 {
			s.IdleTimeout = DefaultIdleTimeout
		}
		if s.WriteTimeout == 0 {
			s.WriteTimeout = DefaultWriteTimeout
		}
		if s.MediaMaxAge == 0 {
			s.MediaMaxAge = DefaultMediaMaxAge
		}
		if s.GzipCacheEntries == 0 {
			s.GzipCacheEntries = DefaultGzipCacheEntries
		}
		if s.MaxBlockingRequests == 0 {
			s.MaxBlockingRequests = DefaultMaxBlockingRequests
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		s.ctx, s.cancel = context.WithCancel(context.Background())
		var cancel context.CancelFunc
		s.canceled, cancel = context.WithCancel(context.Background())
		cancel()
		s.policy = newCachePolicy(s.MediaMaxAge)
		s.gzip = newGzipCache(s.GzipCacheEntries)
		s.corsHdr = newCORSHeaders(s.AllowOrigin)
		s.apiCORS = newAPICORSHeaders(s.AllowOrigin)
		s.traffic = newTraffic()
		s.handler = s.routes()
	})
}

// Handler returns the server's complete HTTP handler (routes and
// middleware), for embedding in another server or for tests. Requests
// served through it directly are not ended by Shutdown.
func (s *Server) Handler() http.Handler {
	s.init()
	return s.handler
}

// Start binds the listener and serves in the background.
func (s *Server) Start() error {
	if s.Origin == nil {
		return errors.New("httpserver: Origin is required")
	}
	s.init()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("httpserver: already started")
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("httpserver: listen on %s: %w", s.Listen, err)
	}
	s.started = true
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		IdleTimeout:       s.IdleTimeout,
		// No WriteTimeout: it would cut LL-HLS blocking requests. Each HLS
		// response sets its own write deadline instead (see WriteTimeout).
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ErrorLog:    log.New(stdLogWriter{s.Logger}, "", 0),
	}
	s.serveErr = make(chan error, 1)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.serveErr <- err
	}()
	s.Logger.Info().Str("addr", ln.Addr().String()).Msg("http server listening")
	return nil
}

// Addr returns the address the server listens on, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops the server gracefully: /readyz turns 503 at once, the
// server keeps serving for DrainDelay, then it stops accepting
// connections, ends LL-HLS blocking requests (they answer 503), and waits
// for in-flight responses to finish. If ctx ends first, the remaining
// connections are closed and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.draining.Store(true)
	s.mu.Lock()
	srv, started := s.srv, s.started
	s.mu.Unlock()
	if !started {
		s.cancel()
		return nil
	}
	s.Logger.Info().Dur("drain_delay", s.DrainDelay).Msg("http server draining")

	if s.DrainDelay > 0 {
		t := time.NewTimer(s.DrainDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	s.cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
		err = fmt.Errorf("httpserver: shutdown: %w", err)
	}
	if serveErr := <-s.serveErr; serveErr != nil && err == nil {
		err = fmt.Errorf("httpserver: serve: %w", serveErr)
	}
	s.serveErr <- nil // let a later Shutdown or Close return
	s.Logger.Info().Msg("http server stopped")
	return err
}

// Close stops the server at once, closing all connections, and waits for
// the serving goroutine to end.
func (s *Server) Close() {
	s.init()
	s.draining.Store(true)
	s.cancel()
	s.mu.Lock()
	srv, started := s.srv, s.started
	s.mu.Unlock()
	if !started {
		return
	}
	_ = srv.Close()
	<-s.serveErr
	s.serveErr <- nil
}

// stdLogWriter routes net/http's own error log (e.g. TLS handshake or
// "superfluous WriteHeader" messages) to zerolog.
type stdLogWriter struct{ l zerolog.Logger }

func (w stdLogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.l.Warn().Str("component", "net/http").Msg(msg)
	return len(p), nil
}
