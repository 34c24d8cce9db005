package ingest

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/chunk"
)

// Values of the connect _result, as FMS sends them; clients only check the
// status code.
const (
	fmsVersion   = "FMS/3,0,1,123"
	capabilities = 31
)

// command handles an AMF0 command message (RTMP spec 7.1.1, 7.2): the
// command name, a transaction id, a command object, then arguments.
func (c *conn) command(m *chunk.Message, body []byte) error {
	vs, err := amf.DecodeAll(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCommand, err)
	}
	if len(vs) == 0 {
		return fmt.Errorf("%w: empty", ErrBadCommand)
	}
	name, ok := vs[0].(string)
	if !ok {
		return fmt.Errorf("%w: name is %T, not a string", ErrBadCommand, vs[0])
	}
	var txid float64
	if len(vs) > 1 {
		txid, _ = vs[1].(float64)
	}
	var args []any
	if len(vs) > 3 {
		args = vs[3:]
	}
	c.log.Debug().Str("command", name).Float64("txid", txid).Uint32("stream_id", m.StreamID).Msg("command")

	if !c.connected && name != "connect" {
		return fmt.Errorf("%w: %q", ErrNotConnected, name)
	}
	switch name {
	case "connect":
		return c.onConnect(txid, vs)
	case "releaseStream":
		return c.result(txid, nil, amf.Undefined{})
	case "FCPublish":
		if err := c.result(txid, nil, amf.Undefined{}); err != nil {
			return err
		}
		key, _ := stringArg(args, 0)
		key = stripQuery(key)
		if err := c.writeCommand(csidCommand, 0, "onFCPublish", 0, nil, amf.Object{
			{Key: "code", Value: CodePublishStart},
			{Key: "description", Value: key},
		}); err != nil {
			return err
		}
		return c.flush()
	case "createStream":
		return c.onCreateStream(txid)
	case "publish":
		return c.onPublish(m.StreamID, args)
	case "FCUnpublish":
		if err := c.endPublication(true); err != nil {
			return err
		}
		return c.result(txid, nil, amf.Undefined{})
	case "deleteStream":
		id, _ := args0Number(args)
		delete(c.streams, uint32(id))
		if p := c.pub; p != nil && p.streamID == uint32(id) {
			return c.endPublication(true)
		}
		return nil
	case "closeStream":
		if p := c.pub; p != nil && p.streamID == m.StreamID {
			return c.endPublication(true)
		}
		return nil
	case "play", "play2":
		if err := c.writeStatus(m.StreamID, "error", CodePlayFailed, "This server accepts publishers only.", ""); err != nil {
			return err
		}
		_ = c.flush()
		return ErrPlayUnsupported
	case "_result", "_error", "onStatus", "onBWDone":
		// Replies and notifications: nothing to answer.
		return nil
	}
	// RTMP spec 7.2.1: a call with a transaction id expects a _result or an
	// _error; one with id 0 expects nothing.
	c.log.Debug().Str("command", name).Msg("unknown command")
	if txid == 0 {
		return nil
	}
	if err := c.writeCommand(csidCommand, m.StreamID, "_error", txid, nil, statusObject("error", CodeCallFailed,
		fmt.Sprintf("Method %q not found.", name), "")); err != nil {
		return err
	}
	return c.flush()
}

func stringArg(args []any, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	s, ok := args[i].(string)
	return s, ok
}

func args0Number(args []any) (float64, bool) {
	if len(args) == 0 {
		return 0, false
	}
	f, ok := args[0].(float64)
	return f, ok
}

func statusObject(level, code, description, details string) amf.Object {
	o := amf.Object{
		{Key: "level", Value: level},
		{Key: "code", Value: code},
		{Key: "description", Value: description},
	}
	if details != "" {
		o = append(o, amf.Property{Key: "details", Value: details})
	}
	return o
}

// writeCommand buffers an AMF0 command message.
func (c *conn) writeCommand(csid, streamID uint32, vals ...any) error {
	b, err := amf.Append(c.scratch[:0], vals...)
	if err != nil {
		return fmt.Errorf("ingest: encoding a command: %w", err)
	}
	c.scratch = b
	if err := c.cw.WriteMessage(&chunk.Message{ChunkStreamID: csid, Type: chunk.TypeCommandAMF0, StreamID: streamID, Payload: b}); err != nil {
		return fmt.Errorf("ingest: writing to peer: %w", err)
	}
	return nil
}

// result answers a call with _result when it has a transaction id.
func (c *conn) result(txid float64, vals ...any) error {
	if txid == 0 {
		return nil
	}
	if err := c.writeCommand(csidCommand, 0, append([]any{"_result", txid}, vals...)...); err != nil {
		return err
	}
	return c.flush()
}

// writeStatus buffers an onStatus on a message stream.
func (c *conn) writeStatus(streamID uint32, level, code, description, details string) error {
	return c.writeCommand(csidStatus, streamID, "onStatus", 0, nil, statusObject(level, code, description, details))
}

// onConnect answers connect (RTMP spec 7.2.1.1): Window Acknowledgement
// Size, Set Peer Bandwidth and our chunk size, then _result.
func (c *conn) onConnect(txid float64, vs []any) error {
	if c.connected {
		if err := c.writeCommand(csidCommand, 0, "_error", txid, nil,
			statusObject("error", CodeConnectRejected, "Already connected.", "")); err != nil {
			return err
		}
		return c.flush()
	}
	var obj amf.Object
	if len(vs) > 2 {
		obj, _ = vs[2].(amf.Object)
	}
	rawApp, _ := obj.GetString("app")
	app, appQuery := splitQuery(rawApp)
	app = strings.Trim(app, "/")
	if !validName(app) {
		_ = c.writeCommand(csidCommand, 0, "_error", txid, nil,
			statusObject("error", CodeConnectRejected, "Invalid application name.", ""))
		_ = c.flush()
		return fmt.Errorf("%w: invalid app name (%d bytes)", ErrConnectRejected, len(app))
	}
	tcURL, _ := obj.GetString("tcUrl")
	query := url.Values{}
	_, tcQuery := splitQuery(tcURL)
	mergeQuery(query, tcQuery)
	mergeQuery(query, appQuery)
	encoding, _ := obj.GetNumber("objectEncoding")

	c.connected = true
	c.connectObj = obj
	c.query = query
	c.mu.Lock()
	c.app = app
	c.mu.Unlock()
	c.log = c.log.With().Str("app", app).Logger()
	c.setState(StateConnected)

	if err := c.cw.WriteWindowAckSize(c.s.WindowAckSize); err != nil {
		return err
	}
	if err := c.cw.WriteSetPeerBandwidth(c.s.WindowAckSize, chunk.LimitDynamic); err != nil {
		return err
	}
	if err := c.cw.WriteSetChunkSize(c.s.ChunkSize); err != nil {
		return err
	}
	info := statusObject("status", CodeConnectSuccess, "Connection succeeded.", "")
	info = append(info, amf.Property{Key: "objectEncoding", Value: encoding})
	props := amf.Object{
		{Key: "fmsVer", Value: fmsVersion},
		{Key: "capabilities", Value: capabilities},
		{Key: "mode", Value: 1},
	}
	// E-RTMP v2: answer an enhanced client with the codecs and extended
	// capabilities this server supports.
	caps := parseERTMPCaps(obj)
	props = append(props, caps.reply()...)
	if err := c.writeCommand(csidCommand, 0, "_result", txid, props, info); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	flashVer, _ := obj.GetString("flashVer")
	c.log.Info().Str("tc_url", stripQuery(tcURL)).Str("flash_ver", flashVer).
		Float64("object_encoding", encoding).Bool("enhanced", caps.present).Msg("connected")
	if caps.present {
		c.log.Debug().Strs("fourcc_list", caps.fourCCList).Float64("caps_ex", caps.capsEx).
			Int("video_fourccs", len(caps.videoMap)).Int("audio_fourccs", len(caps.audioMap)).
			Msg("enhanced RTMP client capabilities")
	}
	return nil
}

// onCreateStream answers createStream (RTMP spec 7.2.1.3) with a new message
// stream id.
func (c *conn) onCreateStream(txid float64) error {
	if len(c.streams) >= maxStreams {
		if err := c.writeCommand(csidCommand, 0, "_error", txid, nil,
			statusObject("error", CodeCallFailed, "Too many streams.", "")); err != nil {
			return err
		}
		return c.flush()
	}
	if c.streams == nil {
		c.streams = make(map[uint32]bool)
	}
	c.nextStream++
	c.streams[c.nextStream] = true
	return c.result(txid, nil, c.nextStream)
}

// onPublish handles publish (RTMP spec 7.2.2.6): name, then type
// ("live", "record", "append"; all are treated as live).
func (c *conn) onPublish(streamID uint32, args []any) error {
	rawName, _ := stringArg(args, 0)
	pubType, _ := stringArg(args, 1)
	key, nameQuery := splitQuery(rawName)
	if c.pub != nil {
		// One publication per connection at a time.
		if err := c.writeStatus(streamID, "error", CodePublishBadConnection, "Already publishing on this connection.", key); err != nil {
			return err
		}
		return c.flush()
	}
	if key == "" {
		return c.rejectPublish(streamID, key, &PublishError{Code: CodePublishBadName, Description: "Empty stream key."})
	}
	if !validName(key) {
		return c.rejectPublish(streamID, key, &PublishError{Code: CodePublishBadName, Description: "Invalid stream key."})
	}
	query := url.Values{}
	mergeQuery(query, c.query)
	mergeQuery(query, nameQuery)
	req := &PublishRequest{
		App:     c.info().App,
		Key:     key,
		Query:   query,
		Remote:  c.nc.RemoteAddr(),
		Connect: c.connectObj,
		ConnID:  c.id,
	}
	sess, err := c.s.OnPublish(c.ctx, req)
	if err == nil && sess == nil {
		err = errors.New("no session")
	}
	if err != nil {
		var pe *PublishError
		if !errors.As(err, &pe) {
			pe = &PublishError{Code: CodePublishFailed, Description: err.Error()}
		}
		return c.rejectPublish(streamID, key, pe)
	}

	// With stream keys configured the key is a secret: log and report the
	// public stream name when the session knows it.
	name := key
	if n, ok := sess.(StreamNamer); ok {
		name = n.StreamName()
	}
	c.pub = &publication{streamID: streamID, key: name, sess: sess}
	c.mu.Lock()
	c.key = name
	c.mu.Unlock()
	c.log = c.log.With().Str("stream", name).Logger()
	c.setState(StatePublishing)
	c.nr.sliding = c.s.ReadTimeout
	c.watch <- sess.Done()

	// RTMP spec 7.1.7: "The server sends this event to notify the client
	// that a stream has become functional".
	if err := c.cw.WriteUserControl(chunk.EventStreamBegin, streamID); err != nil {
		return err
	}
	if err := c.writeStatus(streamID, "status", CodePublishStart, name+" is now published.", name); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	c.log.Info().Str("type", pubType).Uint32("stream_id", streamID).Msg("publishing")
	return nil
}

// rejectPublish sends an error onStatus and returns the error that closes
// the connection.
func (c *conn) rejectPublish(streamID uint32, key string, pe *PublishError) error {
	if err := c.writeStatus(streamID, "error", pe.Code, pe.Description, key); err == nil {
		_ = c.flush()
	}
	return fmt.Errorf("%w: %w", ErrPublishRejected, pe)
}

// endPublication ends the publication in progress, if any. A clean end
// (the publisher unpublished) is acknowledged with
// NetStream.Unpublish.Success and the connection returns to connected,
// with PublishTimeout to publish again or leave.
func (c *conn) endPublication(clean bool) error {
	p := c.pub
	if p == nil {
		return nil
	}
	c.pub = nil
	if clean {
		// Stop watching Done before End: a session may close Done when it
		// ends, and that must not read as a kick.
		c.watch <- nil
	}
	p.sess.End(clean)
	c.mu.Lock()
	c.key = ""
	c.mu.Unlock()
	if !clean {
		return nil
	}
	c.setState(StateConnected)
	c.nr.sliding = 0
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.PublishTimeout))
	c.log.Info().Msg("unpublished")
	// Publishers commonly close the socket right after deleteStream; failing
	// to deliver this acknowledgement is then a normal end, not an error.
	if err := c.writeStatus(p.streamID, "status", CodeUnpublishSuccess, p.key+" is now unpublished.", p.key); err != nil {
		return fmt.Errorf("%w: %w", ErrPeerClosed, err)
	}
	if err := c.flush(); err != nil {
		return fmt.Errorf("%w: %w", ErrPeerClosed, err)
	}
	return nil
}

// lingerClose closes the connection gracefully after a goodbye: it shuts
// down our side, then discards what the peer still sends for a moment, so
// that unread input does not make the kernel reset the connection and drop
// the goodbye.
func (c *conn) lingerClose() {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.nc.(closeWriter); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.nc, 256<<10))
	_ = c.nc.Close()
}
