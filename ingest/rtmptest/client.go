// Package rtmptest is a small RTMP publishing client for tests: it dials,
// handshakes (plain or digest), runs connect/createStream/publish, sends
// metadata, audio and video with chosen timestamps, chunk sizes and chunk
// stream ids, writes raw bytes for hostile tests, and reads the server's
// replies.
//
// Every call applies Options.Timeout as a connection deadline, so a test
// never hangs on a silent server.
package rtmptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/chunk"
	"github.com/livegate/gateway/ingest/handshake"
)

// Chunk stream ids the client uses by default (those of FFmpeg).
const (
	CSIDCommand = 3
	CSIDAudio   = 4
	CSIDVideo   = 6
	CSIDData    = 4
)

// Options configures Dial.
type Options struct {
	// Digest sends a digest handshake; Schema picks its layout (Schema1
	// when SchemaNone).
	Digest bool
	Schema handshake.Schema
	// TLS, when set, dials RTMPS with this configuration.
	TLS *tls.Config
	// Timeout bounds each call. Default 5 s.
	Timeout time.Duration
	// SkipHandshake connects without handshaking, for hostile tests.
	SkipHandshake bool
	// OmitContinuationExtendedTimestamp makes the chunk writer leave the
	// Extended Timestamp out of type 3 chunks, like some encoders.
	OmitContinuationExtendedTimestamp bool
}

// Client is an RTMP client connection.
type Client struct {
	conn    net.Conn
	timeout time.Duration
	// R and W are the chunk reader and writer, for tests that need raw
	// messages.
	R *chunk.Reader
	W *chunk.Writer
	// Server is what the handshake learnt about the server.
	Server handshake.ServerInfo
	// StreamID is the message stream id of the last CreateStream.
	StreamID uint32
	// VideoCSID, AudioCSID and DataCSID are the chunk stream ids used by
	// SendVideo, SendAudio and SendMetadata.
	VideoCSID, AudioCSID, DataCSID uint32

	app  string
	txid float64
}

// Command is a command message received from the server.
type Command struct {
	Name     string
	TxID     float64
	Object   any   // the command object (usually nil)
	Args     []any // the values after the command object
	StreamID uint32
}

// Info returns the first argument as an Object (the info object of
// onStatus, _result and _error), or nil.
func (c *Command) Info() amf.Object {
	if len(c.Args) == 0 {
		return nil
	}
	o, _ := c.Args[0].(amf.Object)
	return o
}

// Code returns the info object's code ("NetStream.Publish.Start", ...).
func (c *Command) Code() string {
	s, _ := c.Info().GetString("code")
	return s
}

// Dial connects to addr ("127.0.0.1:1935") and performs the handshake.
func Dial(addr string, opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	d := net.Dialer{Timeout: opts.Timeout}
	var conn net.Conn
	var err error
	if opts.TLS != nil {
		conn, err = tls.DialWithDialer(&d, "tcp", addr, opts.TLS)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("rtmptest: dial: %w", err)
	}
	c := &Client{
		conn:      conn,
		timeout:   opts.Timeout,
		VideoCSID: CSIDVideo,
		AudioCSID: CSIDAudio,
		DataCSID:  CSIDData,
	}
	br := bufio.NewReaderSize(conn, chunk.DefaultReadBufferSize)
	if !opts.SkipHandshake {
		c.deadline()
		c.Server, err = handshake.Client(br, conn, handshake.ClientConfig{Digest: opts.Digest, Schema: opts.Schema})
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("rtmptest: %w", err)
		}
	}
	c.R = chunk.NewReader(br, chunk.ReaderConfig{})
	c.W = chunk.NewWriter(conn, chunk.WriterConfig{OmitContinuationExtendedTimestamp: opts.OmitContinuationExtendedTimestamp})
	return c, nil
}

func (c *Client) deadline() { _ = c.conn.SetDeadline(time.Now().Add(c.timeout)) }

// Conn returns the underlying connection.
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// WriteRaw writes bytes as they are, after flushing buffered chunks.
func (c *Client) WriteRaw(b []byte) error {
	c.deadline()
	if err := c.W.Flush(); err != nil {
		return err
	}
	_, err := c.conn.Write(b)
	return err
}

// SendMessage writes one message and flushes.
func (c *Client) SendMessage(m *chunk.Message) error {
	c.deadline()
	if err := c.W.WriteMessage(m); err != nil {
		return err
	}
	return c.W.Flush()
}

// SetChunkSize announces and applies our outbound chunk size.
func (c *Client) SetChunkSize(n uint32) error {
	c.deadline()
	if err := c.W.WriteSetChunkSize(n); err != nil {
		return err
	}
	return c.W.Flush()
}

// SendCommand sends an AMF0 command on message stream streamID.
func (c *Client) SendCommand(streamID uint32, name string, txid float64, object any, args ...any) error {
	b, err := amf.Marshal(append([]any{name, txid, object}, args...)...)
	if err != nil {
		return err
	}
	return c.SendMessage(&chunk.Message{ChunkStreamID: CSIDCommand, Type: chunk.TypeCommandAMF0, StreamID: streamID, Payload: b})
}

// Call sends a command with the next transaction id and waits for its
// _result or _error, which is returned (an _error is not a Go error).
func (c *Client) Call(streamID uint32, name string, object any, args ...any) (*Command, error) {
	c.txid++
	txid := c.txid
	if err := c.SendCommand(streamID, name, txid, object, args...); err != nil {
		return nil, err
	}
	for range 100 {
		cmd, err := c.ReadCommand()
		if err != nil {
			return nil, err
		}
		if (cmd.Name == "_result" || cmd.Name == "_error") && cmd.TxID == txid {
			return cmd, nil
		}
	}
	return nil, fmt.Errorf("rtmptest: no reply to %s", name)
}

// ErrCallFailed is returned by Connect and CreateStream for an _error reply.
var ErrCallFailed = errors.New("rtmptest: call failed")

// Connect sends connect for app (which may carry "?query") with the usual
// properties plus extra, and returns the _result.
func (c *Client) Connect(app string, extra amf.Object) (*Command, error) {
	c.app = app
	obj := amf.Object{
		{Key: "app", Value: app},
		{Key: "type", Value: "nonprivate"},
		{Key: "flashVer", Value: "FMLE/3.0 (compatible; rtmptest)"},
		{Key: "tcUrl", Value: "rtmp://" + c.conn.RemoteAddr().String() + "/" + app},
	}
	obj = append(obj, extra...)
	cmd, err := c.Call(0, "connect", obj)
	if err != nil {
		return nil, err
	}
	if cmd.Name != "_result" {
		return cmd, fmt.Errorf("%w: connect: %s", ErrCallFailed, cmd.Code())
	}
	return cmd, nil
}

// CreateStream creates a message stream and stores its id in StreamID.
func (c *Client) CreateStream() (uint32, error) {
	cmd, err := c.Call(0, "createStream", nil)
	if err != nil {
		return 0, err
	}
	if cmd.Name != "_result" || len(cmd.Args) == 0 {
		return 0, fmt.Errorf("%w: createStream: %s", ErrCallFailed, cmd.Code())
	}
	id, ok := cmd.Args[0].(float64)
	if !ok {
		return 0, fmt.Errorf("rtmptest: createStream returned %T", cmd.Args[0])
	}
	c.StreamID = uint32(id)
	return c.StreamID, nil
}

// Publish sends releaseStream, FCPublish and publish(name, "live") like
// FFmpeg, and returns the onStatus that answers the publish.
func (c *Client) Publish(name string) (*Command, error) {
	if err := c.SendCommand(0, "releaseStream", c.nextTx(), nil, name); err != nil {
		return nil, err
	}
	if err := c.SendCommand(0, "FCPublish", c.nextTx(), nil, name); err != nil {
		return nil, err
	}
	if err := c.SendCommand(c.StreamID, "publish", 0, nil, name, "live"); err != nil {
		return nil, err
	}
	return c.WaitStatus()
}

// PublishFlow runs connect, createStream and publish and returns the
// publish's onStatus.
func (c *Client) PublishFlow(app, name string) (*Command, error) {
	if _, err := c.Connect(app, nil); err != nil {
		return nil, err
	}
	if _, err := c.CreateStream(); err != nil {
		return nil, err
	}
	return c.Publish(name)
}

// Unpublish sends FCUnpublish and deleteStream like FFmpeg does on exit.
func (c *Client) Unpublish(name string) error {
	if err := c.SendCommand(0, "FCUnpublish", c.nextTx(), nil, name); err != nil {
		return err
	}
	return c.SendCommand(0, "deleteStream", c.nextTx(), nil, float64(c.StreamID))
}

func (c *Client) nextTx() float64 {
	c.txid++
	return c.txid
}

// SendMetadata sends "@setDataFrame", "onMetaData", md (an ECMA array) on
// the publishing stream.
func (c *Client) SendMetadata(md amf.Object) error {
	b, err := amf.Marshal("@setDataFrame", "onMetaData", amf.ECMAArray(md))
	if err != nil {
		return err
	}
	return c.SendMessage(&chunk.Message{ChunkStreamID: c.DataCSID, Type: chunk.TypeDataAMF0, StreamID: c.StreamID, Payload: b})
}

// SendAudio sends an audio message with timestamp ts on the publishing
// stream.
func (c *Client) SendAudio(ts uint32, body []byte) error {
	return c.SendMessage(&chunk.Message{ChunkStreamID: c.AudioCSID, Type: chunk.TypeAudio, StreamID: c.StreamID, Timestamp: ts, Payload: body})
}

// SendVideo sends a video message with timestamp ts on the publishing
// stream.
func (c *Client) SendVideo(ts uint32, body []byte) error {
	return c.SendMessage(&chunk.Message{ChunkStreamID: c.VideoCSID, Type: chunk.TypeVideo, StreamID: c.StreamID, Timestamp: ts, Payload: body})
}

// ReadMessage reads the next message (protocol control included, except
// Set Chunk Size and Abort which the reader applies).
func (c *Client) ReadMessage() (chunk.Message, error) {
	c.deadline()
	return c.R.ReadMessage()
}

// ReadCommand reads messages until a command arrives and decodes it.
func (c *Client) ReadCommand() (*Command, error) {
	for range 1000 {
		m, err := c.ReadMessage()
		if err != nil {
			return nil, err
		}
		body := m.Payload
		switch m.Type {
		case chunk.TypeCommandAMF3:
			body = amf.StripAMF3Prefix(body)
		case chunk.TypeCommandAMF0:
		default:
			continue
		}
		vs, err := amf.DecodeAll(body)
		if err != nil {
			return nil, fmt.Errorf("rtmptest: decoding command: %w", err)
		}
		if len(vs) < 2 {
			return nil, fmt.Errorf("rtmptest: short command %v", vs)
		}
		cmd := &Command{StreamID: m.StreamID}
		cmd.Name, _ = vs[0].(string)
		cmd.TxID, _ = vs[1].(float64)
		if len(vs) > 2 {
			cmd.Object = vs[2]
		}
		if len(vs) > 3 {
			cmd.Args = vs[3:]
		}
		return cmd, nil
	}
	return nil, errors.New("rtmptest: no command in 1000 messages")
}

// WaitStatus reads until an onStatus arrives and returns it.
func (c *Client) WaitStatus() (*Command, error) {
	for range 100 {
		cmd, err := c.ReadCommand()
		if err != nil {
			return nil, err
		}
		if cmd.Name == "onStatus" {
			return cmd, nil
		}
	}
	return nil, errors.New("rtmptest: no onStatus")
}
