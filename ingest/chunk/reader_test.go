package chunk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
)

// raw builds chunk streams byte by byte, so tests control every header.
type raw struct{ b []byte }

func (r *raw) basic(format uint8, id uint32) *raw {
	switch {
	case id < 64:
		r.b = append(r.b, format<<6|byte(id))
	case id < 320:
		r.b = append(r.b, format<<6, byte(id-64))
	default:
		r.b = append(r.b, format<<6|1, byte(id-64), byte((id-64)>>8))
	}
	return r
}

func (r *raw) u24(v uint32) *raw { r.b = append(r.b, byte(v>>16), byte(v>>8), byte(v)); return r }
func (r *raw) u32(v uint32) *raw { r.b = binary.BigEndian.AppendUint32(r.b, v); return r }

// ts writes a 3-byte timestamp field plus the extended field when needed.
func (r *raw) ts(v uint32, tail func()) {
	if v >= 0xFFFFFF {
		r.u24(0xFFFFFF)
		tail()
		r.u32(v)
		return
	}
	r.u24(v)
	tail()
}

func (r *raw) fmt0(id, ts, length uint32, typ MessageType, msid uint32) *raw {
	r.basic(0, id)
	r.ts(ts, func() {
		r.u24(length)
		r.b = append(r.b, byte(typ))
		r.b = binary.LittleEndian.AppendUint32(r.b, msid)
	})
	return r
}

func (r *raw) fmt1(id, delta, length uint32, typ MessageType) *raw {
	r.basic(1, id)
	r.ts(delta, func() {
		r.u24(length)
		r.b = append(r.b, byte(typ))
	})
	return r
}

func (r *raw) fmt2(id, delta uint32) *raw {
	r.basic(2, id)
	r.ts(delta, func() {})
	return r
}

func (r *raw) fmt3(id uint32) *raw                 { return r.basic(3, id) }
func (r *raw) data(p []byte) *raw                  { r.b = append(r.b, p...); return r }
func (r *raw) bytesOf(n int, v byte) *raw          { return r.data(bytes.Repeat([]byte{v}, n)) }
func (r *raw) setChunkSize(n uint32) *raw          { return r.fmt0(2, 0, 4, TypeSetChunkSize, 0).u32(n) }
func (r *raw) abort(id uint32) *raw                { return r.fmt0(2, 0, 4, TypeAbort, 0).u32(id) }
func newReader(b []byte, cfg ReaderConfig) *Reader { return NewReader(bytes.NewReader(b), cfg) }

type want struct {
	csid uint32
	typ  MessageType
	msid uint32
	ts   uint32
	data []byte
}

func readAll(t *testing.T, r *Reader, wants []want) {
	t.Helper()
	for i, w := range wants {
		m, err := r.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.ChunkStreamID != w.csid || m.Type != w.typ || m.StreamID != w.msid || m.Timestamp != w.ts {
			t.Fatalf("message %d: got csid %d type %v msid %d ts %d, want csid %d type %v msid %d ts %d",
				i, m.ChunkStreamID, m.Type, m.StreamID, m.Timestamp, w.csid, w.typ, w.msid, w.ts)
		}
		if !bytes.Equal(m.Payload, w.data) {
			t.Fatalf("message %d: payload mismatch (%d bytes, want %d)", i, len(m.Payload), len(w.data))
		}
	}
	if _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("after the last message: %v, want io.EOF", err)
	}
}

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// TestReaderFormats covers the four chunk header types and the timestamp
// rules of RTMP spec 5.3.1.2.
func TestReaderFormats(t *testing.T) {
	p1, p2, p3, p4 := seq(300, 1), seq(300, 2), seq(300, 3), seq(10, 4)
	var r raw
	r.fmt0(6, 1000, 300, TypeVideo, 1).data(p1[:128]).fmt3(6).data(p1[128:256]).fmt3(6).data(p1[256:])
	r.fmt1(6, 40, 300, TypeVideo).data(p2[:128]).fmt3(6).data(p2[128:256]).fmt3(6).data(p2[256:])
	r.fmt2(6, 33).data(p3[:128]).fmt3(6).data(p3[128:256]).fmt3(6).data(p3[256:])
	r.fmt3(6).data(p3[:128]).fmt3(6).data(p3[128:256]).fmt3(6).data(p3[256:]) // new message, same delta
	r.fmt1(6, 0, 10, TypeAudio).data(p4)
	r.fmt0(6, 5, 0, TypeDataAMF0, 1) // zero-length message, timestamp going back
	readAll(t, newReader(r.b, ReaderConfig{}), []want{
		{6, TypeVideo, 1, 1000, p1},
		{6, TypeVideo, 1, 1040, p2},
		{6, TypeVideo, 1, 1073, p3},
		{6, TypeVideo, 1, 1106, p3},
		{6, TypeAudio, 1, 1106, p4},
		{6, TypeDataAMF0, 1, 5, nil},
	})
}

// TestReaderType3AfterType0 checks RTMP spec 5.3.1.2.4: a type 3 chunk that
// follows a type 0 chunk uses the type 0 timestamp as its delta.
func TestReaderType3AfterType0(t *testing.T) {
	var r raw
	r.fmt0(4, 20, 1, TypeAudio, 1).data([]byte{1}).fmt3(4).data([]byte{2})
	readAll(t, newReader(r.b, ReaderConfig{}), []want{
		{4, TypeAudio, 1, 20, []byte{1}},
		{4, TypeAudio, 1, 40, []byte{2}},
	})
}

func TestReaderChunkStreamIDForms(t *testing.T) {
	ids := []uint32{2, 3, 63, 64, 65, 319, 320, 321, 1000, 65599}
	var r raw
	var wants []want
	for i, id := range ids {
		p := seq(200, byte(i))
		r.fmt0(id, uint32(i), 200, TypeCommandAMF0, 0).data(p[:128]).fmt3(id).data(p[128:])
		wants = append(wants, want{id, TypeCommandAMF0, 0, uint32(i), p})
	}
	readAll(t, newReader(r.b, ReaderConfig{}), wants)

	// The exact encodings of RTMP spec 5.3.1.1.
	for _, c := range []struct {
		id   uint32
		want []byte
	}{
		{2, []byte{0x02}},
		{63, []byte{0x3f}},
		{64, []byte{0x00, 0x00}},
		{319, []byte{0x00, 0xff}},
		{320, []byte{0x01, 0x00, 0x01}},
		{65599, []byte{0x01, 0xff, 0xff}},
	} {
		var w Writer
		if got := w.basicHeader(0, c.id); !bytes.Equal(got, c.want) {
			t.Errorf("basic header of %d = % x, want % x", c.id, got, c.want)
		}
	}
}

func TestReaderExtendedTimestamp(t *testing.T) {
	p := seq(300, 9)
	const big = 0x01000000
	build := func(repeat bool) []byte {
		var r raw
		cont := func() {
			r.fmt3(6)
			if repeat {
				r.u32(big)
			}
		}
		r.fmt0(6, big, 300, TypeVideo, 1).data(p[:128])
		cont()
		r.data(p[128:256])
		cont()
		r.data(p[256:])
		// A type 1 header with an extended delta, then a type 3 new message
		// repeating it.
		r.fmt1(6, 0xFFFFFF, 1, TypeVideo).data(p[:1])
		r.fmt3(6)
		if repeat {
			r.u32(0xFFFFFF)
		}
		r.data(p[1:2])
		return r.b
	}
	for _, repeat := range []bool{true, false} {
		t.Run(fmt.Sprintf("repeat=%v", repeat), func(t *testing.T) {
			readAll(t, newReader(build(repeat), ReaderConfig{}), []want{
				{6, TypeVideo, 1, big, p},
				{6, TypeVideo, 1, big + 0xFFFFFF, p[:1]},
				{6, TypeVideo, 1, big + 2*0xFFFFFF, p[1:2]},
			})
		})
	}
}

// TestReaderTimestampWrap checks uint32 wrapping accumulation of deltas and
// absolute timestamps near 2^32.
func TestReaderTimestampWrap(t *testing.T) {
	var r raw
	r.fmt0(4, 0xFFFFFFF0, 1, TypeAudio, 1).data([]byte{1})
	r.fmt2(4, 0x10).data([]byte{2})
	r.fmt3(4).data([]byte{3})
	r.fmt0(4, 0xFFFFFFFF, 1, TypeAudio, 1).data([]byte{4})
	r.fmt0(4, 0xFFFFFE, 1, TypeAudio, 1).data([]byte{5})
	readAll(t, newReader(r.b, ReaderConfig{}), []want{
		{4, TypeAudio, 1, 0xFFFFFFF0, []byte{1}},
		{4, TypeAudio, 1, 0, []byte{2}},
		{4, TypeAudio, 1, 0x10, []byte{3}},
		{4, TypeAudio, 1, 0xFFFFFFFF, []byte{4}},
		{4, TypeAudio, 1, 0xFFFFFE, []byte{5}},
	})
}

func TestReaderInterleaved(t *testing.T) {
	v, a := seq(256, 1), seq(200, 100)
	var r raw
	r.fmt0(6, 0, 256, TypeVideo, 1).data(v[:128])
	r.fmt0(4, 0, 200, TypeAudio, 1).data(a[:128])
	r.fmt3(6).data(v[128:])
	r.fmt3(4).data(a[128:])
	readAll(t, newReader(r.b, ReaderConfig{}), []want{
		{6, TypeVideo, 1, 0, v},
		{4, TypeAudio, 1, 0, a},
	})
}

func TestReaderAbort(t *testing.T) {
	v := seq(200, 1)
	var r raw
	r.fmt0(6, 10, 200, TypeVideo, 1).data(v[:128])
	r.abort(6)
	r.fmt0(6, 20, 3, TypeVideo, 1).data([]byte{7, 8, 9})
	r.abort(77) // unknown chunk stream: ignored
	readAll(t, newReader(r.b, ReaderConfig{}), []want{
		{6, TypeVideo, 1, 20, []byte{7, 8, 9}},
	})
}

func TestReaderSetChunkSize(t *testing.T) {
	p := seq(5000, 1)
	var r raw
	r.setChunkSize(4096)
	r.fmt0(6, 0, 5000, TypeVideo, 1).data(p[:4096]).fmt3(6).data(p[4096:])
	r.setChunkSize(MaxChunkSize)
	r.fmt1(6, 1, 5000, TypeVideo).data(p)
	rd := newReader(r.b, ReaderConfig{})
	readAll(t, rd, []want{{6, TypeVideo, 1, 0, p}, {6, TypeVideo, 1, 1, p}})
	if rd.ChunkSize() != MaxChunkSize {
		t.Fatalf("chunk size %d", rd.ChunkSize())
	}
	for _, bad := range []uint32{0, 0x80000000, 0xFFFFFFFF} {
		var r raw
		r.setChunkSize(bad)
		if _, err := newReader(r.b, ReaderConfig{}).ReadMessage(); !errors.Is(err, ErrInvalidChunkSize) {
			t.Errorf("chunk size %#x: %v, want ErrInvalidChunkSize", bad, err)
		}
	}
	var short raw
	short.fmt0(2, 0, 2, TypeSetChunkSize, 0).data([]byte{0, 1})
	if _, err := newReader(short.b, ReaderConfig{}).ReadMessage(); !errors.Is(err, ErrShortControlMessage) {
		t.Errorf("short set chunk size: %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(r *raw)
		cfg   ReaderConfig
		want  error
	}{
		{"message too large", func(r *raw) { r.fmt0(6, 0, 1025, TypeVideo, 1) }, ReaderConfig{MaxMessageSize: 1024}, ErrMessageTooLarge},
		{"message too large type 1", func(r *raw) {
			r.fmt0(6, 0, 1, TypeVideo, 1).data([]byte{1}).fmt1(6, 0, 0xFFFFFF, TypeVideo)
		}, ReaderConfig{}, ErrMessageTooLarge},
		{"too many chunk streams", func(r *raw) {
			for id := uint32(3); id < 8; id++ {
				r.fmt0(id, 0, 1, TypeAudio, 1).data([]byte{1})
			}
		}, ReaderConfig{MaxChunkStreams: 4}, ErrTooManyChunkStreams},
		{"type 2 on new chunk stream", func(r *raw) { r.fmt2(5, 0) }, ReaderConfig{}, ErrNoPreviousHeader},
		{"type 3 on new chunk stream", func(r *raw) { r.fmt3(5) }, ReaderConfig{}, ErrNoPreviousHeader},
		{"interrupted message", func(r *raw) {
			r.fmt0(6, 0, 200, TypeVideo, 1).bytesOf(128, 1).fmt1(6, 0, 1, TypeVideo)
		}, ReaderConfig{}, ErrInterruptedMessage},
		{"buffer limit", func(r *raw) {
			r.setChunkSize(512)
			r.fmt0(6, 0, 1024, TypeVideo, 1).bytesOf(512, 1)
			r.fmt0(7, 0, 1024, TypeVideo, 1).bytesOf(512, 1)
			r.fmt0(8, 0, 1024, TypeVideo, 1).bytesOf(512, 1)
		}, ReaderConfig{MaxMessageSize: 1024, BufferSize: 16}, ErrBufferLimit},
		{"truncated header", func(r *raw) { r.b = append(r.b, 0x06, 0, 0) }, ReaderConfig{}, io.ErrUnexpectedEOF},
		{"truncated 3-byte id", func(r *raw) { r.b = append(r.b, 0x01, 0) }, ReaderConfig{}, io.ErrUnexpectedEOF},
		{"truncated data", func(r *raw) { r.fmt0(6, 0, 10, TypeVideo, 1).bytesOf(5, 1) }, ReaderConfig{}, io.ErrUnexpectedEOF},
		{"truncated extended", func(r *raw) { r.basic(0, 6).u24(0xFFFFFF).u24(1).data([]byte{9, 1, 0, 0, 0, 0}) }, ReaderConfig{}, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r raw
			c.build(&r)
			rd := newReader(r.b, c.cfg)
			var err error
			for range 100 {
				if _, err = rd.ReadMessage(); err != nil {
					break
				}
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if _, again := rd.ReadMessage(); again != err {
				t.Fatalf("error not sticky: %v", again)
			}
		})
	}
}

// TestReaderBufferRelease checks that idle buffers are released to make room
// before ErrBufferLimit is returned.
func TestReaderBufferRelease(t *testing.T) {
	var r raw
	r.setChunkSize(4096)
	var wants []want
	for id := uint32(3); id < 10; id++ {
		p := seq(1000, byte(id))
		r.fmt0(id, 0, 1000, TypeVideo, 1).data(p)
		wants = append(wants, want{id, TypeVideo, 1, 0, p})
	}
	rd := newReader(r.b, ReaderConfig{MaxMessageSize: 1000, MaxBufferedBytes: 2500})
	readAll(t, rd, wants)
	if rd.buffered > 2500 {
		t.Fatalf("buffered %d", rd.buffered)
	}
}

// TestReaderLargeAnnouncedSmallSent checks that announcing a large message
// does not allocate its full length up front.
func TestReaderLargeAnnouncedSmallSent(t *testing.T) {
	var r raw
	r.fmt0(6, 0, 8<<20, TypeVideo, 1).bytesOf(128, 1)
	rd := newReader(r.b, ReaderConfig{})
	if _, err := rd.ReadMessage(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	if rd.buffered > minGrow {
		t.Fatalf("allocated %d bytes for 128 received", rd.buffered)
	}
}

func TestReaderBytesRead(t *testing.T) {
	var r raw
	r.setChunkSize(100).fmt0(6, 0, 250, TypeVideo, 1).bytesOf(100, 1).fmt3(6).bytesOf(100, 1).fmt3(6).bytesOf(50, 1)
	rd := newReader(r.b, ReaderConfig{})
	if _, err := rd.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if rd.BytesRead() != uint64(len(r.b)) {
		t.Fatalf("BytesRead %d, want %d", rd.BytesRead(), len(r.b))
	}
}

// loopReader returns its data over and over.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func TestReaderZeroAllocSteadyState(t *testing.T) {
	stream, n := mediaStream(t, 4096, 2)
	rd := NewReader(&loopReader{data: stream}, ReaderConfig{})
	for range n { // warm up: grow every buffer
		if _, err := rd.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := rd.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

// TestReaderType1OnNewChunkStream: like librtmp and FFmpeg, a type 1 header
// may open a chunk stream; the message stream id and timestamp base are 0.
func TestReaderType1OnNewChunkStream(t *testing.T) {
	var r raw
	r.fmt1(4, 40, 2, TypeAudio).data([]byte{1, 2}).fmt2(4, 20).data([]byte{3, 4})
	readAll(t, newReader(r.b, ReaderConfig{}), []want{
		{4, TypeAudio, 0, 40, []byte{1, 2}},
		{4, TypeAudio, 0, 60, []byte{3, 4}},
	})
}
