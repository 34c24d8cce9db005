package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
	"github.com/livegate/gateway/httpserver"
	"github.com/livegate/gateway/ingest"
	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/flv"
	"github.com/livegate/gateway/remux"
)

// App wires the RTMP server, the segmenter and the HTTP origin.
type App struct {
	cfg  Config
	log  zerolog.Logger
	hls  *hls.Manager
	rtmp *ingest.Server
	http *httpserver.Server
}

// NewApp builds the components from cfg; nothing listens until Start.
func NewApp(cfg Config, log zerolog.Logger) (*App, error) {
	mgr, err := hls.NewManager(hls.Config{
		Variant:         hls.Variant(cfg.HLS.Variant),
		SegmentDuration: cfg.HLS.SegmentDuration,
		PartDuration:    cfg.HLS.PartDuration,
		SegmentCount:    cfg.HLS.SegmentCount,
		ReconnectWindow: cfg.HLS.ReconnectWindow,
		Retention:       cfg.HLS.Retention,
		Logger:          log.With().Str("component", "hls").Logger(),
	})
	if err != nil {
		return nil, fmt.Errorf("hls: %w", err)
	}
	a := &App{cfg: cfg, log: log, hls: mgr}
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
	a.http = &httpserver.Server{
		Listen:      cfg.HTTP.Listen,
		AllowOrigin: cfg.HTTP.AllowOrigin,
		Logger:      log.With().Str("component", "http").Logger(),
		Origin:      mgr,
	}
	return a, nil
}

// Start binds every listener; on error nothing is left running.
func (a *App) Start() error {
	if err := a.http.Start(); err != nil {
		a.hls.Close()
		return fmt.Errorf("http: %w", err)
	}
	if err := a.rtmp.Start(); err != nil {
		a.http.Close()
		a.hls.Close()
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
func (a *App) Close() {
	a.rtmp.Close()
	a.hls.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.http.Shutdown(ctx); err != nil {
		a.log.Warn().Err(err).Msg("http shutdown")
	}
}

// onPublish admits a publisher: its media flows FLV → remux → segmenter.
func (a *App) onPublish(_ context.Context, req *ingest.PublishRequest) (ingest.Session, error) {
	log := a.log.With().Str("conn", req.ConnID).Str("app", req.App).Str("stream", req.Key).Logger()
	pub, err := a.hls.Publish(req.App, req.Key)
	if err != nil {
		return nil, &ingest.PublishError{Code: "NetStream.Publish.BadName", Description: err.Error()}
	}
	rmx := remux.NewRemuxer(pub, log)
	return &session{pub: pub, rmx: rmx, dmx: flv.NewDemuxer(rmx, log)}, nil
}

// session connects one RTMP publication to its segmenter publication.
type session struct {
	pub *hls.Publication
	rmx *remux.Remuxer
	dmx *flv.Demuxer
}

func (s *session) Video(ts uint32, body []byte) error { return s.dmx.Video(ts, body) }
func (s *session) Audio(ts uint32, body []byte) error { return s.dmx.Audio(ts, body) }
func (s *session) Metadata(md amf.Object) error     { return s.dmx.Metadata(metadataMap(md)) }
func (s *session) Done() <-chan struct{}             { return s.pub.Done() }

func (s *session) End(clean bool) {
	s.rmx.Close()
	s.pub.End(clean)
}

// metadataMap flattens onMetaData into the plain values the FLV demuxer reads.
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
