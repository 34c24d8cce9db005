package ingest

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/chunk"
	"github.com/livegate/gateway/ingest/handshake"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed files")

// scriptConn is a net.Conn that reads a fixed script and discards writes.
type scriptConn struct{ r io.Reader }

func (c *scriptConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *scriptConn) Close() error                { return nil }
func (c *scriptConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1935}
}
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
}
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// serveScript runs one connection on the handshake followed by stream and
// returns the publications it created.
func serveScript(stream []byte) []*fakeSession {
	var sessions []*fakeSession
	s := &Server{
		Logger: zerolog.Nop(),
		OnPublish: func(_ context.Context, req *PublishRequest) (Session, error) {
			if req.Key == "reject" {
				return nil, &PublishError{Code: CodePublishUnauthorized, Description: "no"}
			}
			f := newFakeSession(req)
			sessions = append(sessions, f)
			return f, nil
		},
		MaxMessageSize:  1 << 16,
		MaxChunkStreams: 8,
	}
	s.defaults()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer s.cancel()
	s.conns = map[*conn]struct{}{}

	in := append([]byte{handshake.Version}, make([]byte, 2*handshake.PacketSize)...)
	in = append(in, stream...)
	c := newConn(s, &scriptConn{r: bytes.NewReader(in)}, false)
	s.wg.Add(2)
	go c.watchdog()
	c.run()
	s.wg.Wait()
	return sessions
}

// publishScript is the chunk stream of a complete publish.
func publishScript(key string, extra func(w *chunk.Writer)) []byte {
	var buf bytes.Buffer
	w := chunk.NewWriter(&buf, chunk.WriterConfig{})
	cmd := func(id uint32, vals ...any) {
		b, _ := amf.Marshal(vals...)
		_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 3, Type: chunk.TypeCommandAMF0, StreamID: id, Payload: b})
	}
	cmd(0, "connect", 1, amf.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://h/live?a=b"}})
	cmd(0, "releaseStream", 2, nil, key)
	cmd(0, "FCPublish", 3, nil, key)
	cmd(0, "createStream", 4, nil)
	cmd(1, "publish", 0, nil, key, "live")
	md, _ := amf.Marshal("@setDataFrame", "onMetaData", amf.ECMAArray{{Key: "width", Value: 640}})
	_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 4, Type: chunk.TypeDataAMF0, StreamID: 1, Payload: md})
	_ = w.WriteSetChunkSize(4096)
	_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 6, Type: chunk.TypeVideo, StreamID: 1, Payload: []byte{0x17, 0, 0, 0, 0, 1, 0x64}})
	_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 4, Type: chunk.TypeAudio, StreamID: 1, Timestamp: 0x01000000, Payload: []byte{0xaf, 0, 0x12, 0x10}})
	if extra != nil {
		extra(w)
	}
	cmd(0, "getStreamLength", 5, nil, key)
	cmd(0, "FCUnpublish", 6, nil, key)
	cmd(0, "deleteStream", 7, nil, 1)
	_ = w.Flush()
	return buf.Bytes()
}

func connFuzzSeeds() [][]byte {
	agg := []byte{9, 0, 0, 2, 0, 0, 5, 0, 0, 0, 0, 0x27, 1, 0, 0, 0, 13}
	return [][]byte{
		publishScript("key", nil),
		publishScript("reject", nil),
		publishScript("", nil),
		publishScript("key", func(w *chunk.Writer) {
			_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 6, Type: chunk.TypeAggregate, StreamID: 1, Timestamp: 50, Payload: agg})
			_ = w.WriteUserControl(chunk.EventPingRequest, 7)
			_ = w.WriteWindowAckSize(1)
			_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 3, Type: chunk.TypeCommandAMF3, Payload: []byte{0, 2, 0, 4, 'p', 'l', 'a', 'y'}})
		}),
	}
}

func TestServeScript(t *testing.T) {
	sessions := serveScript(publishScript("key", nil))
	if len(sessions) != 1 {
		t.Fatalf("%d sessions", len(sessions))
	}
	ev, ends := sessions[0].snapshot()
	if len(ev) != 3 || len(ends) != 1 || !ends[0] {
		t.Fatalf("events %d, ends %v", len(ev), ends)
	}
	if ev[2].ts != 0x01000000 {
		t.Fatalf("audio ts %d", ev[2].ts)
	}
}

// FuzzConn drives one connection, past the handshake, with arbitrary chunk
// streams: it must end without panicking or hanging, and every admitted
// session must be ended exactly once.
func FuzzConn(f *testing.F) {
	for _, s := range connFuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		for _, s := range serveScript(stream) {
			if _, ends := s.snapshot(); len(ends) != 1 {
				t.Fatalf("End called %d times", len(ends))
			}
		}
	})
}

func TestWriteConnFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzConn")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range connFuzzSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
