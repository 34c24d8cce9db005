package chunk

import (
	"bytes"
	"testing"
)

// mediaStream returns the chunk stream of seconds seconds of a realistic
// publish: 6 Mbit/s H.264 at 30 fps with a key frame every 2 s (key frames
// ~5× larger), and 128 kbit/s AAC at 48 kHz (1024-sample frames), written
// with a 4096-byte chunk size the way encoders interleave them. It also
// returns the number of messages.
func mediaStream(tb testing.TB, chunkSize uint32, seconds int) ([]byte, int) {
	tb.Helper()
	const (
		videoBitrate = 6_000_000
		fps          = 30
		gop          = 60
		audioBytes   = 128_000 / 8 * 1024 / 48000 // per AAC frame
	)
	perFrame := videoBitrate / 8 / fps
	keySize := perFrame * 5
	interSize := (perFrame*gop - keySize) / (gop - 1)
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterConfig{})
	if err := w.WriteSetChunkSize(chunkSize); err != nil {
		tb.Fatal(err)
	}
	key := bytes.Repeat([]byte{0x17, 1, 0, 0, 0, 0xAA}, keySize/6)
	inter := bytes.Repeat([]byte{0x27, 1, 0, 0, 0, 0x55}, interSize/6)
	audio := bytes.Repeat([]byte{0xAF, 1, 0x21}, audioBytes/3)
	n := 0
	var audioTS float64
	for f := 0; f < fps*seconds; f++ {
		vts := uint32(f * 1000 / fps)
		for audioTS <= float64(vts) {
			if err := w.WriteMessage(&Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: uint32(audioTS), Payload: audio}); err != nil {
				tb.Fatal(err)
			}
			audioTS += 1024.0 * 1000 / 48000
			n++
		}
		body := inter
		if f%gop == 0 {
			body = key
		}
		if err := w.WriteMessage(&Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: vts, Payload: body}); err != nil {
			tb.Fatal(err)
		}
		n++
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), n
}

// BenchmarkReadMessage measures reassembly of a 6 Mbit/s A/V publish in
// 4096-byte chunks; one op is one message.
func BenchmarkReadMessage(b *testing.B) {
	stream, n := mediaStream(b, 4096, 4)
	rd := NewReader(&loopReader{data: stream}, ReaderConfig{})
	for range n {
		if _, err := rd.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(stream) / n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := rd.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadMessageSmallChunks is the same stream at the default 128-byte
// chunk size, the worst case a client can choose.
func BenchmarkReadMessageSmallChunks(b *testing.B) {
	stream, n := mediaStream(b, 128, 4)
	rd := NewReader(&loopReader{data: stream}, ReaderConfig{})
	for range n {
		if _, err := rd.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(stream) / n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := rd.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteMessage measures chunking a 25 kB video message at 4096.
func BenchmarkWriteMessage(b *testing.B) {
	w := NewWriter(discard{}, WriterConfig{})
	if err := w.WriteSetChunkSize(4096); err != nil {
		b.Fatal(err)
	}
	m := &Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Payload: make([]byte, 25000)}
	b.SetBytes(int64(len(m.Payload)))
	b.ReportAllocs()
	for b.Loop() {
		m.Timestamp += 33
		if err := w.WriteMessage(m); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
