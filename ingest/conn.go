package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/chunk"
	"github.com/livegate/gateway/ingest/handshake"
)

// stopReason says why the watchdog interrupted a connection.
type stopReason int32

const (
	stopNone stopReason = iota
	stopShutdown
	stopKicked
)

// errStopped is returned by netReader once the connection was interrupted.
var errStopped = errors.New("ingest: connection interrupted")

// longAgo is a deadline in the past, used to interrupt a blocked read.
var longAgo = time.Unix(1, 0)

// minAckWindow bounds how often we acknowledge: a peer announcing a tiny
// window must not make us write after every message.
const minAckWindow = 4096

// maxStreams bounds createStream per connection.
const maxStreams = 8

// Chunk stream ids for our messages (any id works; these are the usual
// ones).
const (
	csidCommand = 3
	csidStatus  = 5
)

// netReader sits between the socket and the bufio.Reader: it applies the
// sliding read deadline of the publishing phase and refuses to read once the
// watchdog has interrupted the connection.
type netReader struct {
	c       *conn
	sliding time.Duration
}

func (r *netReader) Read(p []byte) (int, error) {
	if r.sliding > 0 {
		_ = r.c.nc.SetReadDeadline(time.Now().Add(r.sliding))
	}
	// Checked after setting the deadline: the watchdog sets the flag before
	// its past deadline, so either we see the flag or its deadline wins.
	if r.c.stop.Load() != int32(stopNone) {
		return 0, errStopped
	}
	return r.c.nc.Read(p)
}

// publication is the publish in progress on a connection.
type publication struct {
	streamID uint32
	key      string
	sess     Session
}

// conn is one RTMP connection. Everything not marked otherwise is owned by
// the run goroutine.
type conn struct {
	s      *Server
	id     string
	nc     net.Conn
	secure bool
	since  time.Time
	log    zerolog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	nr *netReader
	br *bufio.Reader
	cr *chunk.Reader
	cw *chunk.Writer

	// Shared with the watchdog.
	stop  atomic.Int32
	done  chan struct{}
	watch chan (<-chan struct{})

	// Shared with Server.Conns.
	state    atomic.Int32
	bytesIn  atomic.Uint64
	messages atomic.Uint64
	mu       sync.Mutex
	app, key string

	connected  bool
	connectObj amf.Object
	query      url.Values
	streams    map[uint32]bool
	nextStream uint32
	pub        *publication
	peerWindow uint32
	lastAck    uint64
	drops      uint64
	scratch    []byte
}

func newConn(s *Server, nc net.Conn, secure bool) *conn {
	c := &conn{
		s:      s,
		id:     newConnID(),
		nc:     nc,
		secure: secure,
		since:  time.Now(),
		done:   make(chan struct{}),
		watch:  make(chan (<-chan struct{})),
	}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	c.log = s.Logger.With().Str("conn", c.id).Str("remote", nc.RemoteAddr().String()).Logger()
	c.nr = &netReader{c: c}
	return c
}

func (c *conn) setState(st ConnState) { c.state.Store(int32(st)) }

func (c *conn) getState() ConnState { return ConnState(c.state.Load()) }

func (c *conn) info() ConnInfo {
	c.mu.Lock()
	app, key := c.app, c.key
	c.mu.Unlock()
	return ConnInfo{
		ID: c.id, Remote: c.nc.RemoteAddr(), Secure: c.secure, State: c.getState(),
		App: app, Key: key, Since: c.since,
		BytesIn: c.bytesIn.Load(), Messages: c.messages.Load(),
	}
}

// watchdog interrupts the run goroutine's blocking read when the server
// shuts down or the session's Done channel closes, and closes the socket if
// the goodbye takes longer than closeGrace.
func (c *conn) watchdog() {
	defer c.s.wg.Done()
	var sessDone <-chan struct{}
	shutdown := c.s.ctx.Done()
	var force <-chan time.Time
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	interrupt := func(r stopReason) {
		if c.stop.CompareAndSwap(int32(stopNone), int32(r)) {
			_ = c.nc.SetReadDeadline(longAgo)
			timer = time.NewTimer(closeGrace)
			force = timer.C
		}
	}
	for {
		select {
		case <-c.done:
			return
		case d := <-c.watch:
			sessDone = d
		case <-shutdown:
			shutdown = nil
			interrupt(stopShutdown)
		case <-sessDone:
			sessDone = nil
			interrupt(stopKicked)
		case <-force:
			force = nil
			_ = c.nc.Close()
		}
	}
}

// run serves the connection until it ends.
func (c *conn) run() {
	defer c.s.wg.Done()
	defer c.s.removeConn(c)
	c.log.Debug().Bool("tls", c.secure).Msg("accepted")
	err := c.serve()
	c.finish(err)
}

// serve runs the handshake and the message loop; it returns why the
// connection ends.
func (c *conn) serve() error {
	// Buffers are allocated here rather than on accept, so connections
	// refused for MaxConnections cost nothing.
	c.br = bufio.NewReaderSize(c.nr, chunk.DefaultReadBufferSize)
	c.cw = chunk.NewWriter(c.nc, chunk.WriterConfig{BufferSize: 8 << 10})
	c.setState(StateHandshake)
	deadline := time.Now().Add(c.s.HandshakeTimeout)
	_ = c.nc.SetReadDeadline(deadline)
	_ = c.nc.SetWriteDeadline(deadline)
	info, err := handshake.Server(c.br, c.nc)
	if err != nil {
		return c.readError(err, "handshake")
	}
	c.log.Debug().Bool("digest", info.Digest).Stringer("schema", info.Schema).
		Str("client_version", fmt.Sprintf("%d.%d.%d.%d", info.ClientVersion[0], info.ClientVersion[1],
			info.ClientVersion[2], info.ClientVersion[3])).Msg("handshake done")

	c.setState(StateConnecting)
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.PublishTimeout))
	c.cr = chunk.NewReader(c.br, chunk.ReaderConfig{
		MaxMessageSize:  c.s.MaxMessageSize,
		MaxChunkStreams: c.s.MaxChunkStreams,
	})
	for {
		m, err := c.cr.ReadMessage()
		if err != nil {
			return c.readError(err, "")
		}
		// Messages already buffered are not delivered after an interrupt.
		if c.stop.Load() != int32(stopNone) {
			return c.readError(errStopped, "")
		}
		if err := c.handle(&m); err != nil {
			return err
		}
	}
}

// readError turns a read error into the reason the connection ends.
func (c *conn) readError(err error, phase string) error {
	switch stopReason(c.stop.Load()) {
	case stopShutdown:
		return ErrServerClosed
	case stopKicked:
		return ErrSessionEnded
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		switch c.getState() {
		case StateHandshake:
			return ErrHandshakeTimeout
		case StatePublishing:
			return fmt.Errorf("%w: nothing received for %v", ErrReadTimeout, c.s.ReadTimeout)
		default:
			return fmt.Errorf("%w: %v after the handshake or last unpublish", ErrPublishTimeout, c.s.PublishTimeout)
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return ErrPeerClosed
	}
	if errors.Is(err, syscall.ECONNRESET) { // librtmp resets rather than closes
		return fmt.Errorf("%w: %w", ErrPeerClosed, err)
	}
	if phase != "" {
		return fmt.Errorf("%s: %w", phase, err)
	}
	return err
}

// finish ends the publication and closes the connection.
func (c *conn) finish(err error) {
	reason := stopReason(c.stop.Load())
	goodbye := errors.Is(err, ErrPublishRejected) || errors.Is(err, ErrPlayUnsupported) ||
		errors.Is(err, ErrConnectRejected)
	if p := c.pub; p != nil {
		if reason != stopNone {
			goodbye = true
			// Tell the publisher why, if its socket still takes it.
			desc := "The server is shutting down."
			if reason == stopKicked {
				desc = "The publication was ended by the server."
			}
			_ = c.nc.SetWriteDeadline(time.Now().Add(min(c.s.WriteTimeout, closeGrace)))
			if c.writeStatus(p.streamID, "status", CodeUnpublishSuccess, desc, p.key) == nil {
				_ = c.cw.Flush()
			}
		}
		_ = c.endPublication(false)
	}
	c.setState(StateClosed)
	if goodbye {
		c.lingerClose()
	} else {
		_ = c.nc.Close()
	}
	c.cancel()
	close(c.done)

	var ev *zerolog.Event
	switch {
	case err == nil, errors.Is(err, ErrPeerClosed), errors.Is(err, ErrServerClosed),
		errors.Is(err, ErrSessionEnded), errors.Is(err, ErrPublishRejected):
		ev = c.log.Info()
	default:
		ev = c.log.Warn()
	}
	var read uint64
	if c.cr != nil {
		read = c.cr.BytesRead()
	}
	ev.Err(err).Uint64("bytes_in", read).Uint64("messages", c.messages.Load()).
		Dur("duration", time.Since(c.since)).Msg("connection closed")
}

// flush writes buffered output under the write deadline.
func (c *conn) flush() error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.WriteTimeout))
	if err := c.cw.Flush(); err != nil {
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			// The peer already closed its side (publishers often close right
			// after deleteStream): a peer close, not a server-side failure.
			return fmt.Errorf("%w: %w", ErrPeerClosed, err)
		}
		return fmt.Errorf("ingest: writing to peer: %w", err)
	}
	return nil
}

// handle dispatches one message.
func (c *conn) handle(m *chunk.Message) error {
	c.messages.Add(1)
	c.bytesIn.Store(c.cr.BytesRead())
	if err := c.maybeAck(); err != nil {
		return err
	}
	switch m.Type {
	case chunk.TypeVideo, chunk.TypeAudio:
		return c.media(m)
	case chunk.TypeCommandAMF0:
		return c.command(m, m.Payload)
	case chunk.TypeCommandAMF3:
		return c.command(m, amf.StripAMF3Prefix(m.Payload))
	case chunk.TypeDataAMF0:
		return c.data(m, m.Payload)
	case chunk.TypeDataAMF3:
		return c.data(m, amf.StripAMF3Prefix(m.Payload))
	case chunk.TypeAggregate:
		return c.aggregate(m)
	case chunk.TypeWindowAckSize:
		if len(m.Payload) >= 4 {
			c.peerWindow = be32(m.Payload)
			c.log.Debug().Uint32("size", c.peerWindow).Msg("peer window acknowledgement size")
		}
	case chunk.TypeUserControl:
		return c.userControl(m)
	case chunk.TypeAck, chunk.TypeSetPeerBandwidth:
		// We send too little to need flow control.
	default:
		c.log.Debug().Stringer("type", m.Type).Int("len", len(m.Payload)).Msg("ignoring message")
	}
	return nil
}

func be32(p []byte) uint32 {
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

// maybeAck sends an Acknowledgement when a window's worth of bytes arrived.
// RTMP spec 5.4.3: "The client or the server MUST send an acknowledgment to
// the peer after receiving bytes equal to the window size."
func (c *conn) maybeAck() error {
	if c.peerWindow == 0 {
		return nil
	}
	n := c.cr.BytesRead()
	if n-c.lastAck < uint64(max(c.peerWindow, minAckWindow)) {
		return nil
	}
	c.lastAck = n
	// The sequence number is the byte count modulo 2^32.
	if err := c.cw.WriteAck(uint32(n)); err != nil {
		return err
	}
	return c.flush()
}

// userControl answers PingRequest (RTMP spec 7.1.7: "The client sends
// this event in response to the ping request").
func (c *conn) userControl(m *chunk.Message) error {
	if len(m.Payload) < 2 {
		c.log.Debug().Int("len", len(m.Payload)).Msg("short user control message")
		return nil
	}
	event := uint16(m.Payload[0])<<8 | uint16(m.Payload[1])
	if event == chunk.EventPingRequest && len(m.Payload) >= 6 {
		if err := c.cw.WriteUserControl(chunk.EventPingResponse, be32(m.Payload[2:])); err != nil {
			return err
		}
		return c.flush()
	}
	c.log.Trace().Uint16("event", event).Msg("user control")
	return nil
}

// publishing returns the publication that media on message stream id
// belongs to, or nil. Stream id 0 is accepted too: librtmp may send media
// with a type 1 first header, which leaves the stream id at 0.
func (c *conn) publishing(id uint32) *publication {
	if p := c.pub; p != nil && (id == p.streamID || id == 0) {
		return p
	}
	return nil
}

// dropped logs media that no publication takes (see ErrMediaNotPublishing).
func (c *conn) dropped(m *chunk.Message) {
	c.drops++
	c.s.droppedMedia.Add(1)
	ev := c.log.Debug()
	if c.drops == 1 {
		ev = c.log.Warn()
	}
	ev.Err(ErrMediaNotPublishing).Stringer("type", m.Type).Uint32("stream_id", m.StreamID).
		Uint64("dropped", c.drops).Msg("dropping message")
}

func (c *conn) media(m *chunk.Message) error {
	p := c.publishing(m.StreamID)
	if p == nil {
		c.dropped(m)
		return nil
	}
	if len(m.Payload) == 0 {
		return nil // nothing to demux; some encoders send empty tags
	}
	var err error
	if m.Type == chunk.TypeVideo {
		err = p.sess.Video(m.Timestamp, m.Payload)
	} else {
		err = p.sess.Audio(m.Timestamp, m.Payload)
	}
	if err != nil {
		return fmt.Errorf("%w: %s at %d ms: %w", ErrSession, m.Type, m.Timestamp, err)
	}
	return nil
}

// data handles data messages: onMetaData, alone or behind @setDataFrame
// (FFmpeg and OBS send "@setDataFrame", "onMetaData", {…}; librtmp sends the
// FLV script tag "onMetaData", {…}). Undecodable or other data messages are
// logged and ignored: metadata is advisory.
func (c *conn) data(m *chunk.Message, body []byte) error {
	vs, err := amf.DecodeAll(body)
	if err != nil {
		c.log.Warn().Err(err).Int("len", len(body)).Msg("ignoring undecodable data message")
		return nil
	}
	if len(vs) > 0 && vs[0] == "@setDataFrame" {
		vs = vs[1:]
	}
	if len(vs) == 0 || vs[0] != "onMetaData" {
		var name any
		if len(vs) > 0 {
			name = vs[0]
		}
		c.log.Debug().Interface("name", name).Msg("ignoring data message")
		return nil
	}
	md := amf.Object{}
	if len(vs) > 1 {
		if o, ok := vs[1].(amf.Object); ok {
			md = o
		}
	}
	p := c.publishing(m.StreamID)
	if p == nil {
		c.dropped(m)
		return nil
	}
	c.log.Debug().Int("properties", len(md)).Msg("metadata")
	if err := p.sess.Metadata(md); err != nil {
		return fmt.Errorf("%w: metadata: %w", ErrSession, err)
	}
	return nil
}

// aggregate splits an aggregate message into its sub-messages. RTMP spec
// 7.1.6: the body holds FLV tags (header, data, back pointer); "The message
// stream ID of the aggregate message overrides the message stream IDs for
// the sub-messages inside the aggregate" and "The difference between the
// timestamps of the aggregate message and the first sub-message is the
// offset used to renormalize the timestamps of the sub-messages".
func (c *conn) aggregate(m *chunk.Message) error {
	p := m.Payload
	var first uint32
	for i := 0; len(p) > 0; i++ {
		if len(p) < 11 {
			return fmt.Errorf("%w: %d trailing bytes", ErrBadAggregate, len(p))
		}
		size := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		ts := uint32(p[7])<<24 | uint32(p[4])<<16 | uint32(p[5])<<8 | uint32(p[6])
		if len(p) < 11+size+4 {
			return fmt.Errorf("%w: sub-message %d of %d bytes overruns the message", ErrBadAggregate, i, size)
		}
		if i == 0 {
			first = ts
		}
		sub := chunk.Message{
			ChunkStreamID: m.ChunkStreamID,
			Type:          chunk.MessageType(p[0]),
			StreamID:      m.StreamID,
			Timestamp:     m.Timestamp + (ts - first),
			Payload:       p[11 : 11+size],
		}
		var err error
		switch sub.Type {
		case chunk.TypeAudio, chunk.TypeVideo:
			err = c.media(&sub)
		case chunk.TypeDataAMF0:
			err = c.data(&sub, sub.Payload)
		default:
			c.log.Debug().Stringer("type", sub.Type).Msg("ignoring aggregate sub-message")
		}
		if err != nil {
			return err
		}
		p = p[11+size+4:]
	}
	return nil
}
