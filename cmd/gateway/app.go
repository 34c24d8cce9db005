package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
	"github.com/livegate/gateway/httpserver"
	"github.com/livegate/gateway/ingest"
	"github.com/livegate/gateway/ingest/admission"
	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/flv"
	"github.com/livegate/gateway/remux"
)

// App wires the RTMP server, the segmenter and the HTTP origin.
type App struct {
	cfg  Config
	log  zerolog.Logger
	hls  *hls.Manager
	auth *admission.Admitter
	rtmp *ingest.Server
	http *httpserver.Server

	publishes publishCounters

	// sessions are the live sessions; ended adds up the remux counters of
	// those that ended, so that drop totals never go down.
	mu       sync.Mutex
	sessions map[*session]struct{}
	ended    remux.Stats
}

// NewApp builds the components from cfg; nothing listens until Start.
func NewApp(cfg Config, log zerolog.Logger) (*App, error) {
	mgr, err := hls.NewManager(hls.Config{
		Variant:         hls.Variant(cfg.HLS.Variant),
		Ladder:          cfg.HLS.Ladder,
		SegmentDuration: cfg.HLS.SegmentDuration,
		PartDuration:    cfg.HLS.PartDuration,
		SegmentCount:    cfg.HLS.SegmentCount,
		ReconnectWindow: cfg.HLS.ReconnectWindow,
		Retention:       cfg.HLS.Retention,
		Takeover:        hls.TakeoverPolicy(cfg.HLS.Takeover),
		MaxStreams:      cfg.HLS.MaxStreams,
		Groups:          groupRules(cfg.HLS.Groups),
		Logger:          log, // the manager adds component=hls
	})
	if err != nil {
		return nil, fmt.Errorf("hls: %w", err)
	}
	keys := make([]admission.StaticKey, len(cfg.Auth.Keys))
	for i, k := range cfg.Auth.Keys {
		keys[i] = admission.StaticKey{App: k.App, Stream: k.Stream, Key: k.Key}
	}
	auth, err := admission.New(admission.Config{
		Keys:    keys,
		Webhook: admission.WebhookConfig{URL: cfg.Auth.Webhook.URL, Timeout: cfg.Auth.Webhook.Timeout},
		Notify:  admission.NotifyConfig{URL: cfg.Auth.Notify.URL, Timeout: cfg.Auth.Notify.Timeout, Retries: cfg.Auth.Notify.Retries},
		Logger:  log.With().Str("component", "auth").Logger(),
	})
	if err != nil {
		mgr.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	a := &App{cfg: cfg, log: log, hls: mgr, auth: auth, sessions: map[*session]struct{}{}}
	a.rtmp = &ingest.Server{
		Listen:           cfg.RTMP.Listen,
		TLSListen:        cfg.RTMPS.Listen,
		CertFile:         cfg.RTMPS.Cert,
		KeyFile:          cfg.RTMPS.Key,
		HandshakeTimeout: cfg.RTMP.HandshakeTimeout,
		PublishTimeout:   cfg.RTMP.PublishTimeout,
		ReadTimeout:      cfg.RTMP.ReadTimeout,
		MaxMessageSize:   cfg.RTMP.MaxMessageSize,
		MaxConnections:   cfg.RTMP.MaxConnections,
		Logger:           log.With().Str("component", "rtmp").Logger(),
		OnPublish:        a.onPublish,
	}
	httpLog := log.With().Str("component", "http").Logger()
	a.http = &httpserver.Server{
		Listen:              cfg.HTTP.Listen,
		AllowOrigin:         cfg.HTTP.AllowOrigin,
		Logger:              httpLog,
		Origin:              mgr,
		APIToken:            cfg.HTTP.APIToken,
		MetricsToken:        cfg.HTTP.MetricsToken,
		MaxBlockingRequests: cfg.HTTP.MaxBlockingRequests,
		DrainDelay:          cfg.Shutdown.ServeEnded,
	}
	a.http.Metrics = a.metricsHandler(httpLog)
	return a, nil
}

// Start binds every listener; on error nothing is left running.
func (a *App) Start() error {
	if err := a.http.Start(); err != nil {
		a.hls.Close()
		a.auth.Close()
		return fmt.Errorf("http: %w", err)
	}
	if err := a.rtmp.Start(); err != nil {
		a.http.Close()
		a.hls.Close()
		a.auth.Close()
		return fmt.Errorf("rtmp: %w", err)
	}
	ev := a.log.Info().Stringer("rtmp", a.rtmp.Addr()).Stringer("http", a.http.Addr()).Str("variant", a.cfg.HLS.Variant)
	if tls := a.rtmp.TLSAddr(); tls != nil {
		ev = ev.Stringer("rtmps", tls)
	}
	ev.Msg("gateway started")
	return nil
}

// RTMPAddr is the bound RTMP address.
func (a *App) RTMPAddr() net.Addr { return a.rtmp.Addr() }

// HTTPAddr is the bound HTTP address.
func (a *App) HTTPAddr() net.Addr { return a.http.Addr() }

// Close stops accepting publishers, ends every playlist and stops serving.
//
// The order is the drain a load balancer and the players expect: /readyz
// turns 503 at once; publishers get an onStatus and are disconnected; every
// playlist gets EXT-X-ENDLIST; HTTP keeps serving for shutdown.serveEnded so
// the final playlists reach players and CDNs, then finishes the responses in
// flight. Everything is bounded by shutdown.drainTimeout.
func (a *App) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Shutdown.DrainTimeout)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- a.http.Shutdown(ctx) }()
	a.rtmp.Close()
	a.hls.Close()
	a.auth.Close()
	if err := <-httpDone; err != nil {
		a.log.Warn().Err(err).Msg("http shutdown")
	}
}

// onPublish admits a publisher: its media flows FLV → remux → segmenter.
func (a *App) onPublish(ctx context.Context, req *ingest.PublishRequest) (ingest.Session, error) {
	log := a.log.With().Str("conn", req.ConnID).Str("app", req.App).Logger()
	remote := addrString(req.Remote)
	dec, err := a.auth.Admit(ctx, &admission.Request{
		App:     req.App,
		Key:     req.Key,
		Query:   req.Query,
		Remote:  remote,
		Connect: metadataMap(req.Connect),
		ConnID:  req.ConnID,
	})
	if err != nil {
		var rej *admission.Rejection
		if errors.As(err, &rej) {
			a.publishes.rejected(rej.Code)
			log.Warn().Str("key_id", a.auth.KeyID(req.Key)).Str("reason", rej.Reason).Msg("publish refused")
			return nil, &ingest.PublishError{Code: rej.Code, Description: rej.Description}
		}
		a.publishes.failed.Add(1)
		return nil, err
	}
	log = log.With().Str("stream", dec.Stream).Logger()
	pub, err := a.hls.Publish(dec.App, dec.Stream, hls.WithRemote(remote))
	if err != nil {
		pe := publishError(err)
		a.publishes.refusedBySegmenter(err)
		log.Warn().Err(err).Str("code", pe.Code).Msg("publish refused by the segmenter")
		return nil, pe
	}
	log.Info().Str("source", dec.Source.String()).Msg("publish admitted")
	a.publishes.admitted(dec.Source)
	rmx := remux.NewRemuxer(pub, log)
	s := &session{
		app: a, pub: pub, rmx: rmx, dmx: flv.NewDemuxer(rmx, log), auth: a.auth,
		ev: admission.Event{App: dec.App, Stream: dec.Stream, Remote: remote, ConnID: req.ConnID, Time: time.Now()},
	}
	a.mu.Lock()
	a.sessions[s] = struct{}{}
	a.mu.Unlock()
	a.auth.NotifyStart(s.ev)
	return s, nil
}

// publishError maps a segmenter refusal to the onStatus the publisher gets.
func publishError(err error) *ingest.PublishError {
	switch {
	case errors.Is(err, hls.ErrStreamBusy):
		return &ingest.PublishError{Code: ingest.CodePublishBadName, Description: "stream already publishing"}
	case errors.Is(err, hls.ErrTooManyStreams):
		return &ingest.PublishError{Code: ingest.CodePublishRejected, Description: "too many streams on this server"}
	case errors.Is(err, hls.ErrInvalidName):
		return &ingest.PublishError{Code: ingest.CodePublishBadName, Description: "invalid stream name"}
	}
	return &ingest.PublishError{Code: ingest.CodePublishFailed, Description: err.Error()}
}

// sessionEnded moves s's remux counters into the totals.
func (a *App) sessionEnded(s *session) {
	st := s.rmx.Stats()
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, s)
	addRemuxStats(&a.ended, st)
}

// remuxStats adds up the remux counters of every session, ended or live.
func (a *App) remuxStats() remux.Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	sum := a.ended
	for s := range a.sessions {
		addRemuxStats(&sum, s.rmx.Stats())
	}
	return sum
}

func addRemuxStats(sum *remux.Stats, s remux.Stats) {
	sum.Samples += s.Samples
	sum.DroppedNoConfig += s.DroppedNoConfig
	sum.DroppedBackwards += s.DroppedBackwards
	sum.DTSNudged += s.DTSNudged
	sum.AudioResyncs += s.AudioResyncs
	sum.ConfigChanges += s.ConfigChanges
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// session connects one RTMP publication to its segmenter publication.
type session struct {
	app   *App
	pub   *hls.Publication
	rmx   *remux.Remuxer
	dmx   *flv.Demuxer
	auth  *admission.Admitter
	ev    admission.Event
	bytes int64 // media bytes received; only the connection goroutine touches it
}

func (s *session) Video(ts uint32, body []byte) error {
	s.bytes += int64(len(body))
	s.pub.CountReceived(len(body))
	return s.dmx.Video(ts, body)
}

func (s *session) Audio(ts uint32, body []byte) error {
	s.bytes += int64(len(body))
	s.pub.CountReceived(len(body))
	return s.dmx.Audio(ts, body)
}

func (s *session) Metadata(md amf.Object) error { return s.dmx.Metadata(metadataMap(md)) }
func (s *session) Done() <-chan struct{}        { return s.pub.Done() }

func (s *session) End(clean bool) {
	_ = s.rmx.Close()
	s.pub.End(clean)
	s.app.sessionEnded(s)
	ev := s.ev
	ev.Duration = time.Since(ev.Time)
	ev.Time = time.Now()
	ev.Bytes = s.bytes
	ev.Clean = clean
	s.auth.NotifyStop(ev)
}

// metadataMap flattens an AMF object into the plain values JSON and the FLV
// demuxer read.
func metadataMap(md amf.Object) map[string]any {
	m := make(map[string]any, len(md))
	for _, p := range md {
		switch p.Value.(type) {
		case float64, string, bool:
			m[p.Key] = p.Value
		}
	}
	return m
}

// StreamName is the public name of the stream (never the secret key).
func (s *session) StreamName() string { return s.ev.Stream }

// groupRules converts the configured rendition groups.
func groupRules(gs []GroupConfig) []hls.GroupRule {
	out := make([]hls.GroupRule, len(gs))
	for i, g := range gs {
		out[i] = hls.GroupRule{Renditions: g.Renditions}
	}
	return out
}
