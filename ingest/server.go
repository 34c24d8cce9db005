package ingest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/ingest/chunk"
)

// Server defaults.
const (
	DefaultListen           = ":1935"
	DefaultTLSListen        = ":1936"
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultPublishTimeout   = 10 * time.Second
	DefaultReadTimeout      = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultMaxConnections   = 1000
	// DefaultChunkSize is the outbound chunk size announced after connect.
	DefaultChunkSize = 4096
	// DefaultWindowAckSize is the acknowledgement window announced to the
	// peer (and its Set Peer Bandwidth), the value FMS and most servers use.
	DefaultWindowAckSize = 2_500_000
)

// closeGrace bounds how long a connection may take to say goodbye (send its
// last onStatus) after shutdown or a kick before its socket is closed.
const closeGrace = 2 * time.Second

// Server accepts RTMP publishers. Set the exported fields, then call Start;
// Close stops it. Zero fields take the defaults given.
type Server struct {
	// Listen is the TCP address for plain RTMP. Default ":1935".
	Listen string
	// TLSListen is the TCP address for RTMPS, used only when CertFile and
	// KeyFile are set. Default ":1936".
	TLSListen string
	// CertFile and KeyFile are the PEM certificate chain and private key for
	// RTMPS (tls.LoadX509KeyPair).
	CertFile, KeyFile string

	// HandshakeTimeout bounds the TLS and RTMP handshakes. Default 5 s.
	HandshakeTimeout time.Duration
	// PublishTimeout bounds the time from the end of the handshake to a
	// successful publish (connect, createStream, publish). Default 10 s.
	PublishTimeout time.Duration
	// ReadTimeout closes a publishing connection that sends no bytes for
	// that long. Default 10 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write to the peer. Default 10 s.
	WriteTimeout time.Duration

	// MaxMessageSize bounds one RTMP message. Default 8 MiB.
	MaxMessageSize int
	// MaxChunkStreams bounds the chunk streams per connection. Default 64.
	MaxChunkStreams int
	// MaxConnections bounds concurrent connections; more are closed on
	// accept. Default 1000.
	MaxConnections int
	// ChunkSize is our outbound chunk size, announced after connect.
	// Default 4096.
	ChunkSize uint32
	// WindowAckSize is the acknowledgement window announced to the peer.
	// Default 2500000.
	WindowAckSize uint32

	// Logger receives the server's logs; each connection adds conn, remote,
	// app and stream fields. Lifecycle events are at Info, per-message
	// detail at Debug and Trace. The zero Logger discards.
	Logger zerolog.Logger

	// OnPublish admits or rejects each publish (required).
	OnPublish PublishHook

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	ln, tlsLn net.Listener
	closeOnce sync.Once

	mu    sync.Mutex
	conns map[*conn]struct{}

	accepted, refused, droppedMedia atomic.Uint64
}

// Stats are a Server's counters, for metrics.
type Stats struct {
	// Open is the number of connections open now.
	Open int
	// Accepted counts the connections accepted since Start; Refused those
	// closed at once because MaxConnections were open.
	Accepted, Refused uint64
	// DroppedNotPublishing counts media and metadata messages dropped
	// because their message stream was not publishing
	// (ErrMediaNotPublishing).
	DroppedNotPublishing uint64
}

// Stats returns a snapshot of the Server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	open := len(s.conns)
	s.mu.Unlock()
	return Stats{
		Open:                 open,
		Accepted:             s.accepted.Load(),
		Refused:              s.refused.Load(),
		DroppedNotPublishing: s.droppedMedia.Load(),
	}
}

// Start applies defaults, binds the listeners and starts accepting.
func (s *Server) Start() error {
	if s.OnPublish == nil {
		return ErrNoPublishHook
	}
	if s.ctx != nil {
		return errors.New("ingest: server already started")
	}
	s.defaults()

	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("ingest: listen %s: %w", s.Listen, err)
	}
	var tlsLn net.Listener
	if s.CertFile != "" && s.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("ingest: loading RTMPS certificate: %w", err)
		}
		raw, err := net.Listen("tcp", s.TLSListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("ingest: listen %s: %w", s.TLSListen, err)
		}
		tlsLn = tls.NewListener(raw, &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		})
	}

	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ln, s.tlsLn = ln, tlsLn
	s.conns = make(map[*conn]struct{})
	s.wg.Add(1)
	go s.accept(ln, false)
	s.Logger.Info().Str("addr", ln.Addr().String()).Msg("RTMP listening")
	if tlsLn != nil {
		s.wg.Add(1)
		go s.accept(tlsLn, true)
		s.Logger.Info().Str("addr", tlsLn.Addr().String()).Msg("RTMPS listening")
	}
	return nil
}

func (s *Server) defaults() {
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if s.TLSListen == "" {
		s.TLSListen = DefaultTLSListen
	}
	if s.HandshakeTimeout <= 0 {
		s.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if s.PublishTimeout <= 0 {
		s.PublishTimeout = DefaultPublishTimeout
	}
	if s.ReadTimeout <= 0 {
		s.ReadTimeout = DefaultReadTimeout
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = DefaultWriteTimeout
	}
	if s.MaxMessageSize <= 0 {
		s.MaxMessageSize = chunk.DefaultMaxMessageSize
	}
	if s.MaxChunkStreams <= 0 {
		s.MaxChunkStreams = chunk.DefaultMaxChunkStreams
	}
	if s.MaxConnections <= 0 {
		s.MaxConnections = DefaultMaxConnections
	}
	if s.ChunkSize == 0 || s.ChunkSize > chunk.MaxChunkSize {
		s.ChunkSize = DefaultChunkSize
	}
	if s.WindowAckSize == 0 {
		s.WindowAckSize = DefaultWindowAckSize
	}
}

// Addr returns the plain RTMP listener's address, nil before Start.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// TLSAddr returns the RTMPS listener's address, nil when RTMPS is off.
func (s *Server) TLSAddr() net.Addr {
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// Close stops accepting, tells publishers the stream is over
// (NetStream.Unpublish.Success) where their socket allows, closes every
// connection, ends every Session and waits for all goroutines.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.cancel == nil {
			return
		}
		s.cancel()
		s.ln.Close()
		if s.tlsLn != nil {
			s.tlsLn.Close()
		}
		s.wg.Wait()
		s.Logger.Info().Msg("RTMP server closed")
	})
}

// accept runs one listener's accept loop.
func (s *Server) accept(ln net.Listener, secure bool) {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			// Out of file descriptors and the like: back off, do not spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.Logger.Error().Err(err).Dur("retry_in", backoff).Msg("accept failed")
			select {
			case <-time.After(backoff):
				continue
			case <-s.ctx.Done():
				return
			}
		}
		backoff = 0
		c := newConn(s, nc, secure)
		s.mu.Lock()
		if len(s.conns) >= s.MaxConnections {
			s.mu.Unlock()
			s.refused.Add(1)
			c.log.Warn().Err(ErrTooManyConnections).Int("max", s.MaxConnections).Msg("connection refused")
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		s.accepted.Add(1)
		go c.watchdog()
		go c.run()
	}
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// ConnInfo is a snapshot of one connection.
type ConnInfo struct {
	ID       string
	Remote   net.Addr
	Secure   bool
	State    ConnState
	App, Key string
	Since    time.Time
	// BytesIn counts chunk stream bytes received; Messages counts messages.
	BytesIn, Messages uint64
}

// Conns returns a snapshot of the open connections.
func (s *Server) Conns() []ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ConnInfo, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c.info())
	}
	return out
}

// newConnID returns a short random connection id.
func newConnID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
