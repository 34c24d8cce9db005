package ingest

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/chunk"
	"github.com/livegate/gateway/ingest/rtmptest"
)

// countingSession counts media messages and does nothing else.
type countingSession struct {
	msgs atomic.Int64
	done chan struct{}
}

func (s *countingSession) Video(uint32, []byte) error { s.msgs.Add(1); return nil }
func (s *countingSession) Audio(uint32, []byte) error { s.msgs.Add(1); return nil }
func (s *countingSession) Metadata(amf.Object) error  { return nil }
func (s *countingSession) End(bool)                   {}
func (s *countingSession) Done() <-chan struct{}      { return s.done }

// oneSecond returns the chunk stream of one second of a 6 Mbit/s H.264 +
// 128 kbit/s AAC publish on message stream 1 at a 4096-byte chunk size, and
// its message count.
func oneSecond() ([]byte, int) {
	var buf bytes.Buffer
	w := chunk.NewWriter(&buf, chunk.WriterConfig{})
	_ = w.WriteSetChunkSize(4096)
	key := make([]byte, 125_000)
	inter := make([]byte, 23_300)
	audio := make([]byte, 340)
	n := 0
	for f := range 30 {
		ts := uint32(f * 1000 / 30)
		for a := 0; a < 2 && n < 77; a++ {
			_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 4, Type: chunk.TypeAudio, StreamID: 1, Timestamp: ts, Payload: audio})
			n++
		}
		body := inter
		if f == 0 {
			body = key
		}
		_ = w.WriteMessage(&chunk.Message{ChunkStreamID: 6, Type: chunk.TypeVideo, StreamID: 1, Timestamp: ts, Payload: body})
		n++
	}
	_ = w.Flush()
	return buf.Bytes(), n
}

// BenchmarkServerPublish pushes 6 Mbit/s publishes through a real server
// over loopback TCP; one op is one second of media. ns/op is the CPU time
// (client writes and kernel included) to ingest one stream-second, i.e.
// ns/op / 1e9 is the fraction of a core one live stream costs.
func BenchmarkServerPublish(b *testing.B) {
	sess := &countingSession{done: make(chan struct{})}
	s := &Server{
		Listen: "127.0.0.1:0",
		OnPublish: func(context.Context, *PublishRequest) (Session, error) {
			return sess, nil
		},
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := rtmptest.Dial(s.Addr().String(), rtmptest.Options{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if st, err := c.PublishFlow("live", "bench"); err != nil || st.Code() != CodePublishStart {
		b.Fatal(st, err)
	}
	stream, n := oneSecond()
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	b.ResetTimer()
	var sent int64
	for b.Loop() {
		if err := c.WriteRaw(stream); err != nil {
			b.Fatal(err)
		}
		sent += int64(n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for sess.msgs.Load() < sent && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := sess.msgs.Load(); got != sent {
		b.Fatalf("session got %d of %d messages", got, sent)
	}
}
