package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/chunk"
	"github.com/livegate/gateway/ingest/handshake"
	"github.com/livegate/gateway/ingest/rtmptest"
)

func dial(t *testing.T, ts *testServer, opts rtmptest.Options) *rtmptest.Client {
	t.Helper()
	c, err := rtmptest.Dial(ts.addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func publish(t *testing.T, ts *testServer, c *rtmptest.Client, app, name string) *fakeSession {
	t.Helper()
	st, err := c.PublishFlow(app, name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Code() != CodePublishStart {
		t.Fatalf("publish: %s (%v)", st.Code(), st.Info())
	}
	return ts.nextSession(t)
}

// expectClosed reads until the server closes the connection.
func expectClosed(t *testing.T, c *rtmptest.Client) {
	t.Helper()
	for range 1000 {
		if _, err := c.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open: %v", err)
			}
			return
		}
	}
	t.Fatal("connection still open")
}

// TestPublishFlow publishes through the whole command flow and checks that
// the session gets every message with its exact timestamp, including
// extended timestamps, values near 2^32 and wrapping.
func TestPublishFlow(t *testing.T) {
	for _, v := range []struct {
		name string
		opts rtmptest.Options
	}{
		{"plain", rtmptest.Options{}},
		{"digest schema0", rtmptest.Options{Digest: true, Schema: handshake.Schema0}},
		{"digest schema1", rtmptest.Options{Digest: true, Schema: handshake.Schema1}},
		{"no extended repeat", rtmptest.Options{OmitContinuationExtendedTimestamp: true}},
	} {
		t.Run(v.name, func(t *testing.T) {
			ts := startServer(t, nil)
			c := dial(t, ts, v.opts)
			if _, err := c.Connect("live?app_token=a", amf.Object{{Key: "objectEncoding", Value: 0.0}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateStream(); err != nil {
				t.Fatal(err)
			}
			st, err := c.Publish("mykey?token=secret")
			if err != nil {
				t.Fatal(err)
			}
			if st.Code() != CodePublishStart || st.StreamID != c.StreamID {
				t.Fatalf("publish status %q on stream %d", st.Code(), st.StreamID)
			}
			s := ts.nextSession(t)
			if s.req.App != "live" || s.req.Key != "mykey" {
				t.Fatalf("app %q key %q", s.req.App, s.req.Key)
			}
			if s.req.Query.Get("token") != "secret" || s.req.Query.Get("app_token") != "a" || len(s.req.Query["app_token"]) != 1 {
				t.Fatalf("query %v", s.req.Query)
			}
			if fv, _ := s.req.Connect.GetString("flashVer"); !strings.Contains(fv, "rtmptest") {
				t.Fatalf("connect object %v", s.req.Connect)
			}
			if v.opts.Digest != c.Server.Digest {
				t.Fatalf("digest handshake: %v", c.Server.Digest)
			}

			md := amf.Object{{Key: "width", Value: 1280.0}, {Key: "height", Value: 720.0}, {Key: "videocodecid", Value: 7.0}}
			if err := c.SendMetadata(md); err != nil {
				t.Fatal(err)
			}
			if err := c.SetChunkSize(4096); err != nil {
				t.Fatal(err)
			}
			big := bytes.Repeat([]byte{0x27, 1, 2, 3}, 5000) // 20 kB: several chunks
			type msg struct {
				video bool
				ts    uint32
				body  []byte
			}
			msgs := []msg{
				{true, 0, []byte{0x17, 0, 0, 0, 0, 1, 2}},
				{false, 0, []byte{0xaf, 0, 0x12, 0x10}},
				{true, 33, big},
				{false, 23, []byte{0xaf, 1, 9}},
				{true, 0xFFFFFE, big},
				{true, 0xFFFFFF, big},
				{true, 0x01000000, big},
				{false, 0x01000010, []byte{0xaf, 1, 8}},
				{true, 0xFFFFFFF0, big},
				{true, 0xFFFFFFFF, []byte{0x27, 1}},
				{true, 5, big}, // wrapped past 2^32
				{true, 38, big},
			}
			for _, m := range msgs {
				var err error
				if m.video {
					err = c.SendVideo(m.ts, m.body)
				} else {
					err = c.SendAudio(m.ts, m.body)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			s.waitFor(t, "all messages", func(ev []event, _ []bool) bool { return len(ev) == len(msgs)+1 })
			ev, _ := s.snapshot()
			if ev[0].kind != "metadata" || !reflect.DeepEqual(ev[0].md, md) {
				t.Fatalf("metadata %+v", ev[0])
			}
			for i, m := range msgs {
				e := ev[i+1]
				kind := "audio"
				if m.video {
					kind = "video"
				}
				if e.kind != kind || e.ts != m.ts || !bytes.Equal(e.body, m.body) {
					t.Fatalf("message %d: got %s ts %d (%d bytes), want %s ts %d (%d bytes)",
						i, e.kind, e.ts, len(e.body), kind, m.ts, len(m.body))
				}
			}

			if err := c.Unpublish("mykey"); err != nil {
				t.Fatal(err)
			}
			s.waitEnd(t, true)
			st, err = c.WaitStatus()
			if err != nil || st.Code() != CodeUnpublishSuccess {
				t.Fatalf("unpublish status %v %v", st, err)
			}
			c.Close()
			ts.logs.waitLog(t, `"message":"connection closed"`, ErrPeerClosed.Error())
			ts.logs.waitLog(t, `"app":"live"`, `"stream":"mykey"`, `"message":"publishing"`)
			if strings.Contains(ts.logs.String(), "secret") {
				t.Fatal("query secrets were logged")
			}
		})
	}
}

// TestUnknownCommand: an unknown call gets _error and the connection goes on.
func TestUnknownCommand(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	if _, err := c.Connect("live", nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"getStreamLength", "_checkbw", "noSuchMethod"} {
		r, err := c.Call(0, name, nil, "x")
		if err != nil {
			t.Fatal(err)
		}
		if r.Name != "_error" || r.Code() != CodeCallFailed {
			t.Fatalf("%s: %s %s", name, r.Name, r.Code())
		}
	}
	// Unknown notifications (transaction id 0) get nothing.
	if err := c.SendCommand(0, "someNotification", 0, nil); err != nil {
		t.Fatal(err)
	}
	// A second connect is refused with _error; the connection goes on.
	if r, err := c.Connect("other", nil); err == nil || r == nil || r.Code() != CodeConnectRejected {
		t.Fatalf("second connect: %v %v", r, err)
	}
	if _, err := c.CreateStream(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Publish("key")
	if err != nil || st.Code() != CodePublishStart {
		t.Fatalf("%v %v", st, err)
	}
	if s := ts.nextSession(t); s.req.App != "live" {
		t.Fatalf("app %q", s.req.App)
	}
}

func TestAMF3Commands(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	body, _ := amf.Marshal("connect", 1, amf.Object{{Key: "app", Value: "live"}, {Key: "objectEncoding", Value: 3.0}})
	if err := c.SendMessage(&chunk.Message{ChunkStreamID: 3, Type: chunk.TypeCommandAMF3, Payload: append([]byte{0}, body...)}); err != nil {
		t.Fatal(err)
	}
	r, err := c.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	if r.Code() != CodeConnectSuccess {
		t.Fatalf("connect: %s", r.Code())
	}
	if enc, _ := r.Info().GetNumber("objectEncoding"); enc != 3 {
		t.Fatalf("objectEncoding %v not echoed", enc)
	}
}

func TestEmptyKeyBadName(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	st, err := c.PublishFlow("live", "?token=x")
	if err != nil {
		t.Fatal(err)
	}
	if st.Code() != CodePublishBadName {
		t.Fatalf("got %s", st.Code())
	}
	if lvl, _ := st.Info().GetString("level"); lvl != "error" {
		t.Fatalf("level %q", lvl)
	}
	expectClosed(t, c)
	ts.logs.waitLog(t, ErrPublishRejected.Error(), CodePublishBadName)
}

func TestPublishHookErrors(t *testing.T) {
	for _, c := range []struct {
		err      error
		code     string
		describe string
	}{
		{&PublishError{Code: CodePublishUnauthorized, Description: "bad token"}, CodePublishUnauthorized, "bad token"},
		{fmt.Errorf("wrapped: %w", &PublishError{Code: CodePublishRejected, Description: "taken"}), CodePublishRejected, "taken"},
		{errors.New("database down"), CodePublishFailed, "database down"},
	} {
		t.Run(c.code, func(t *testing.T) {
			ts := startServer(t, nil)
			ts.reject = c.err
			cl := dial(t, ts, rtmptest.Options{})
			st, err := cl.PublishFlow("live", "key")
			if err != nil {
				t.Fatal(err)
			}
			if st.Code() != c.code {
				t.Fatalf("code %s", st.Code())
			}
			if d, _ := st.Info().GetString("description"); d != c.describe {
				t.Fatalf("description %q", d)
			}
			expectClosed(t, cl)
		})
	}
}

// TestTimeouts: peers that stall in each phase are closed after the
// phase's deadline.
func TestTimeouts(t *testing.T) {
	short := func(s *Server) {
		s.HandshakeTimeout = 300 * time.Millisecond
		s.PublishTimeout = 400 * time.Millisecond
		s.ReadTimeout = 300 * time.Millisecond
	}
	t.Run("mid-handshake", func(t *testing.T) {
		ts := startServer(t, short)
		c := dial(t, ts, rtmptest.Options{SkipHandshake: true})
		if err := c.WriteRaw(append([]byte{3}, make([]byte, 700)...)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := io.ReadAll(c.Conn()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("closed after %v", d)
		}
		ts.logs.waitLog(t, ErrHandshakeTimeout.Error())
	})
	t.Run("before publish", func(t *testing.T) {
		ts := startServer(t, short)
		c := dial(t, ts, rtmptest.Options{})
		if _, err := c.Connect("live", nil); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, c)
		ts.logs.waitLog(t, ErrPublishTimeout.Error())
	})
	t.Run("during media", func(t *testing.T) {
		ts := startServer(t, func(s *Server) {
			s.PublishTimeout = 400 * time.Millisecond
			s.ReadTimeout = time.Second
		})
		c := dial(t, ts, rtmptest.Options{})
		s := publish(t, ts, c, "live", "key")
		if err := c.SendVideo(0, []byte{0x17, 0}); err != nil {
			t.Fatal(err)
		}
		// Publishing well past PublishTimeout keeps the connection alive.
		for i := range 12 {
			time.Sleep(100 * time.Millisecond)
			if err := c.SendAudio(uint32(i), []byte{0xaf, 1}); err != nil {
				t.Fatal(err)
			}
		}
		expectClosed(t, c)
		s.waitEnd(t, false)
		ts.logs.waitLog(t, ErrReadTimeout.Error(), `"stream":"key"`)
	})
}

// TestHostile: protocol violations close only the offending connection,
// with a specific logged error, while another publisher goes on.
func TestHostile(t *testing.T) {
	ts := startServer(t, func(s *Server) { s.MaxMessageSize = 1 << 20; s.MaxChunkStreams = 8 })
	good := dial(t, ts, rtmptest.Options{})
	gs := publish(t, ts, good, "live", "good")

	var r bytes.Buffer
	cases := []struct {
		name  string
		bytes func() []byte
		log   string
	}{
		{"chunk size 0", func() []byte {
			r.Reset()
			w := chunk.NewWriter(&r, chunk.WriterConfig{})
			_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 2, Type: chunk.TypeSetChunkSize, Payload: []byte{0, 0, 0, 0}})
			_ = w.Flush()
			return r.Bytes()
		}, chunk.ErrInvalidChunkSize.Error()},
		{"huge message length", func() []byte {
			// Type 0 header: timestamp 0, length 0xFFFFFF, type 9, stream 1.
			return []byte{0x06, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0}
		}, chunk.ErrMessageTooLarge.Error()},
		{"too many chunk streams", func() []byte {
			var b []byte
			for id := byte(3); id < 20; id++ {
				b = append(b, id, 0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 0x17)
			}
			return b
		}, chunk.ErrTooManyChunkStreams.Error()},
		{"garbage command", func() []byte {
			return []byte{0x03, 0, 0, 0, 0, 0, 3, 20, 0, 0, 0, 0, 0x11, 1, 2}
		}, ErrBadCommand.Error()},
		{"not rtmp", nil, handshake.ErrUnsupportedVersion.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := dial(t, ts, rtmptest.Options{SkipHandshake: c.bytes == nil})
			if c.bytes == nil {
				if err := bad.WriteRaw([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
					t.Fatal(err)
				}
			} else {
				if c.name != "garbage command" && c.name != "huge message length" {
					if _, err := bad.Connect("live", nil); err != nil {
						t.Fatal(err)
					}
				}
				if err := bad.WriteRaw(c.bytes()); err != nil {
					t.Fatal(err)
				}
			}
			expectClosed(t, bad)
			ts.logs.waitLog(t, `"message":"connection closed"`, c.log)

			// The good publisher is unaffected.
			n := len(must(gs.snapshot()))
			if err := good.SendVideo(uint32(100+n), []byte{0x27, 1, 0, 0, 0, 9}); err != nil {
				t.Fatal(err)
			}
			gs.waitFor(t, "good publisher's message", func(ev []event, _ []bool) bool { return len(ev) == n+1 })
		})
	}
}

func must[T any](v T, _ ...any) T { return v }

// TestMediaBeforePublish: media outside a publication is dropped with a
// logged error and the connection goes on.
func TestMediaBeforePublish(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	if _, err := c.Connect("live", nil); err != nil {
		t.Fatal(err)
	}
	c.StreamID = 1
	if err := c.SendVideo(0, []byte{0x17, 0}); err != nil {
		t.Fatal(err)
	}
	ts.logs.waitLog(t, `"level":"warn"`, ErrMediaNotPublishing.Error())
	if _, err := c.CreateStream(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Publish("key")
	if err != nil || st.Code() != CodePublishStart {
		t.Fatalf("%v %v", st, err)
	}
	s := ts.nextSession(t)
	// Media on another message stream is dropped too.
	c.StreamID = 7
	if err := c.SendVideo(1, []byte{0x27, 1}); err != nil {
		t.Fatal(err)
	}
	c.StreamID = 1
	if err := c.SendVideo(2, []byte{0x27, 2}); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "one message", func(ev []event, _ []bool) bool { return len(ev) == 1 })
	ev, _ := s.snapshot()
	if ev[0].ts != 2 {
		t.Fatalf("got ts %d", ev[0].ts)
	}
	if st := ts.Stats(); st.DroppedNotPublishing != 2 || st.Open != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestKick: closing Session.Done sends Unpublish.Success and closes.
func TestKick(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	s := publish(t, ts, c, "live", "key")
	close(s.done)
	st, err := c.WaitStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.Code() != CodeUnpublishSuccess {
		t.Fatalf("got %s", st.Code())
	}
	expectClosed(t, c)
	s.waitEnd(t, false)
	ts.logs.waitLog(t, ErrSessionEnded.Error())
}

// TestCloseNotifiesPublishers: Close tells publishers, ends sessions and
// leaves no goroutines (checked in cleanup).
func TestCloseNotifiesPublishers(t *testing.T) {
	ts := startServer(t, nil)
	var clients []*rtmptest.Client
	var sessions []*fakeSession
	for i := range 3 {
		c := dial(t, ts, rtmptest.Options{})
		sessions = append(sessions, publish(t, ts, c, "live", fmt.Sprint("key", i)))
		clients = append(clients, c)
	}
	idle := dial(t, ts, rtmptest.Options{}) // connected, not publishing
	if _, err := idle.Connect("live", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(ts.Conns()); n != 4 {
		t.Fatalf("%d conns", n)
	}
	done := make(chan struct{})
	go func() { ts.Close(); close(done) }()
	for _, c := range clients {
		st, err := c.WaitStatus()
		if err != nil || st.Code() != CodeUnpublishSuccess {
			t.Fatalf("%v %v", st, err)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	for _, s := range sessions {
		s.waitEnd(t, false)
	}
	expectClosed(t, idle)
}

func TestSessionError(t *testing.T) {
	ts := startServer(t, nil)
	ts.failOn = "video"
	c := dial(t, ts, rtmptest.Options{})
	s := publish(t, ts, c, "live", "key")
	if err := c.SendAudio(0, []byte{0xaf, 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendVideo(0, []byte{0x17, 1}); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c)
	s.waitEnd(t, false)
	ts.logs.waitLog(t, ErrSession.Error(), "fake session refuses video")
}

// TestAckAndPing: the server acknowledges per the peer's window and
// answers pings.
func TestAckAndPing(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	s := publish(t, ts, c, "live", "key")
	if err := c.SendMessage(&chunk.Message{ChunkStreamID: 2, Type: chunk.TypeWindowAckSize, Payload: []byte{0, 0, 0x13, 0x88}}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 3000)
	for i := range 10 {
		if err := c.SendVideo(uint32(i), body); err != nil {
			t.Fatal(err)
		}
	}
	ping := []byte{0, chunk.EventPingRequest, 0, 0, 0x12, 0x34}
	if err := c.SendMessage(&chunk.Message{ChunkStreamID: 2, Type: chunk.TypeUserControl, Payload: ping}); err != nil {
		t.Fatal(err)
	}
	var acks []uint32
	for range 100 {
		m, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == chunk.TypeAck {
			acks = append(acks, binary.BigEndian.Uint32(m.Payload))
		}
		if m.Type == chunk.TypeUserControl && m.Payload[1] == chunk.EventPingResponse {
			if !bytes.Equal(m.Payload[2:], ping[2:]) {
				t.Fatalf("ping response % x", m.Payload)
			}
			break
		}
	}
	// 30 kB of media with a 5000-byte window: ~6 acks, increasing.
	if len(acks) < 4 {
		t.Fatalf("acks %v", acks)
	}
	for i := 1; i < len(acks); i++ {
		if acks[i]-acks[i-1] < 5000 {
			t.Fatalf("acks %v", acks)
		}
	}
	s.waitFor(t, "media", func(ev []event, _ []bool) bool { return len(ev) == 10 })
}

func TestAggregate(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	s := publish(t, ts, c, "live", "key")
	tag := func(typ byte, ts uint32, body []byte) []byte {
		b := []byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body)),
			byte(ts >> 16), byte(ts >> 8), byte(ts), byte(ts >> 24), 0, 0, 0}
		b = append(b, body...)
		return binary.BigEndian.AppendUint32(b, uint32(11+len(body)))
	}
	var agg []byte
	agg = append(agg, tag(9, 5000, []byte{0x17, 1, 0xaa})...)
	agg = append(agg, tag(8, 5020, []byte{0xaf, 1, 0xbb})...)
	agg = append(agg, tag(9, 5033, []byte{0x27, 1, 0xcc})...)
	if err := c.SendMessage(&chunk.Message{ChunkStreamID: 6, Type: chunk.TypeAggregate, StreamID: c.StreamID, Timestamp: 100, Payload: agg}); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "sub-messages", func(ev []event, _ []bool) bool { return len(ev) == 3 })
	ev, _ := s.snapshot()
	for i, w := range []struct {
		kind string
		ts   uint32
	}{{"video", 100}, {"audio", 120}, {"video", 133}} {
		if ev[i].kind != w.kind || ev[i].ts != w.ts {
			t.Fatalf("sub-message %d: %s %d", i, ev[i].kind, ev[i].ts)
		}
	}
	// A sub-message overrunning the aggregate closes the connection.
	bad := tag(9, 0, []byte{1, 2, 3})
	bad[3] = 200
	if err := c.SendMessage(&chunk.Message{ChunkStreamID: 6, Type: chunk.TypeAggregate, StreamID: c.StreamID, Payload: bad}); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c)
	ts.logs.waitLog(t, ErrBadAggregate.Error())
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, func(s *Server) { s.MaxConnections = 1 })
	c := dial(t, ts, rtmptest.Options{})
	if _, err := c.Connect("live", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rtmptest.Dial(ts.addr(), rtmptest.Options{Timeout: 2 * time.Second}); err == nil {
		t.Fatal("second connection accepted")
	}
	ts.logs.waitLog(t, ErrTooManyConnections.Error())
	if st := ts.Stats(); st.Refused != 1 || st.Accepted != 1 || st.Open != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConnsAndState(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	publish(t, ts, c, "live", "key")
	conns := ts.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d conns", len(conns))
	}
	ci := conns[0]
	if ci.State != StatePublishing || ci.App != "live" || ci.Key != "key" || ci.Messages == 0 || ci.ID == "" {
		t.Fatalf("%+v", ci)
	}
	if ci.State.String() != "publishing" || StateHandshake.String() != "handshake" || ConnState(9).String() != "state(9)" {
		t.Fatal("ConnState.String")
	}
}

func TestStartErrors(t *testing.T) {
	if err := (&Server{}).Start(); !errors.Is(err, ErrNoPublishHook) {
		t.Fatal(err)
	}
	hook := func(context.Context, *PublishRequest) (Session, error) { return nil, nil }
	s := &Server{Listen: "127.0.0.1:0", OnPublish: hook, CertFile: "/nonexistent", KeyFile: "/nonexistent"}
	if err := s.Start(); err == nil {
		t.Fatal("missing certificate accepted")
	}
	s.Close() // safe after a failed Start
	(&Server{}).Close()
}

func TestPlayRefused(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	if _, err := c.Connect("live", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateStream(); err != nil {
		t.Fatal(err)
	}
	if err := c.SendCommand(1, "play", 0, nil, "key"); err != nil {
		t.Fatal(err)
	}
	st, err := c.WaitStatus()
	if err != nil || st.Code() != CodePlayFailed {
		t.Fatalf("%v %v", st, err)
	}
	expectClosed(t, c)
}
