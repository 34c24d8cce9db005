package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/chunk"
)

// flvTag is one tag of a synthetic FLV file.
type flvTag struct {
	typ  byte
	ts   uint32
	data []byte
}

// buildFLV writes an FLV file (FLV spec E.2, E.3) holding tags.
func buildFLV(t testing.TB, tags []flvTag) []byte {
	t.Helper()
	b := []byte{'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0}
	for _, tg := range tags {
		n := len(tg.data)
		b = append(b, tg.typ, byte(n>>16), byte(n>>8), byte(n),
			byte(tg.ts>>16), byte(tg.ts>>8), byte(tg.ts), byte(tg.ts>>24), 0, 0, 0)
		b = append(b, tg.data...)
		b = binary.BigEndian.AppendUint32(b, uint32(11+n))
	}
	return b
}

// testClipTags returns a one-second clip: metadata, AVC and AAC sequence
// headers, 25 fps video with a keyframe every 10 frames and AAC frames every
// 20 ms (carrying their index), and a trailing AVC end of sequence. Video
// frames are size bytes long.
func testClipTags(t testing.TB, size int) []flvTag {
	t.Helper()
	md, err := amf.Marshal("onMetaData", amf.ECMAArray{{Key: "width", Value: 320.0}})
	if err != nil {
		t.Fatal(err)
	}
	tags := []flvTag{
		{typ: 18, data: md},
		{typ: 9, data: []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f}},
		{typ: 8, data: []byte{0xaf, 0, 0x12, 0x10}},
	}
	v, a := 0, 0
	for ms := uint32(0); ms < 1000; ms++ {
		if ms%40 == 0 {
			frame := bytes.Repeat([]byte{byte(v)}, size)
			frame[0], frame[1] = 0x27, 1
			if v%10 == 0 {
				frame[0] = 0x17
			}
			tags = append(tags, flvTag{typ: 9, ts: ms, data: frame})
			v++
		}
		if ms%20 == 0 {
			tags = append(tags, flvTag{typ: 8, ts: ms, data: []byte{0xaf, 1, byte(a)}})
			a++
		}
	}
	return append(tags, flvTag{typ: 9, ts: 960, data: []byte{0x17, 2, 0, 0, 0}})
}

func TestReadClip(t *testing.T) {
	c, err := readClip(bytes.NewReader(buildFLV(t, testClipTags(t, 1000))), 128)
	if err != nil {
		t.Fatal(err)
	}
	if c.period != 1000 {
		t.Errorf("period = %d ms, want 1000 (last video 960 + 40)", c.period)
	}
	if c.metadata == nil {
		t.Fatal("no metadata")
	}
	vs, err := amf.DecodeAll(c.metadata)
	if err != nil || len(vs) != 3 || vs[0] != "@setDataFrame" || vs[1] != "onMetaData" {
		t.Errorf("metadata = %v, %v; want @setDataFrame, onMetaData, {...}", vs, err)
	}
	configs := 0
	for _, tg := range c.tags {
		if tg.config {
			configs++
		}
		if tg.typ == chunk.TypeVideo && tg.length == 5 {
			t.Error("the end-of-sequence tag was kept")
		}
	}
	if configs != 2 {
		t.Errorf("%d sequence headers, want 2", configs)
	}
	if want := 2 + 25 + 50; len(c.tags) != want {
		t.Errorf("%d tags, want %d", len(c.tags), want)
	}
	if want := int64(25*1000 + 50*3); c.payloadBytes != want {
		t.Errorf("payloadBytes = %d, want %d", c.payloadBytes, want)
	}
}

func TestReadClipErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"not flv":  []byte("hello world, not an FLV file"),
		"no media": buildFLV(t, testClipTags(t, 10)[:1]),
		"one tag":  buildFLV(t, []flvTag{{typ: 9, ts: 0, data: []byte{0x17, 1, 0, 0, 0}}}),
	} {
		if _, err := readClip(bytes.NewReader(data), 4096); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := readClip(bytes.NewReader(buildFLV(t, testClipTags(t, 10))), 64); err == nil {
		t.Error("chunk size 64 accepted")
	}
}

// TestPrechunkedRoundTrip checks that the pre-built chunks, with their
// per-stream headers, decode with the gateway's chunk reader into the
// original messages, over two passes with continuous timestamps.
func TestPrechunkedRoundTrip(t *testing.T) {
	for _, cs := range []uint32{128, 4096} {
		c, err := readClip(bytes.NewReader(buildFLV(t, testClipTags(t, 5000))), cs)
		if err != nil {
			t.Fatal(err)
		}
		var wire bytes.Buffer
		w := chunk.NewWriter(&wire, chunk.WriterConfig{})
		if err := w.WriteSetChunkSize(cs); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		type sent struct {
			typ  chunk.MessageType
			ts   uint32
			body []byte
		}
		var want []sent
		cur := cursor{clip: c}
		const streamID = 7
		for cur.pass < 2 {
			tg := cur.tag()
			var h [headerLen]byte
			putHeader(&h, tg, uint32(cur.timestamp()), streamID)
			bufs := net.Buffers{h[:], tg.body}
			if _, err := bufs.WriteTo(&wire); err != nil {
				t.Fatal(err)
			}
			want = append(want, sent{tg.typ, uint32(cur.timestamp()), nil})
			cur.advance()
		}

		r := chunk.NewReader(bufio.NewReader(&wire), chunk.ReaderConfig{})
		var last uint32
		for i, wm := range want {
			m, err := r.ReadMessage()
			if err != nil {
				t.Fatalf("chunk size %d, message %d: %v", cs, i, err)
			}
			if m.Type != wm.typ || m.Timestamp != wm.ts || m.StreamID != streamID || m.ChunkStreamID < 4 {
				t.Fatalf("message %d = %v ts %d stream %d csid %d, want %v ts %d", i, m.Type, m.Timestamp, m.StreamID, m.ChunkStreamID, wm.typ, wm.ts)
			}
			if m.Type == chunk.TypeVideo {
				if m.Timestamp < last {
					t.Fatalf("video timestamp went back: %d after %d", m.Timestamp, last)
				}
				last = m.Timestamp
				if len(m.Payload) == 5000 && i > 2 && m.Payload[4999] != m.Payload[2] {
					t.Fatalf("message %d: payload corrupted", i)
				}
			}
		}
		if _, err := r.ReadMessage(); err != io.EOF {
			t.Errorf("after the last message: %v, want EOF", err)
		}
		// Second pass: no sequence headers, timestamps shifted by period.
		if n := len(want); n != 2+2*75 {
			t.Errorf("%d messages in two passes, want %d", n, 2+2*75)
		}
		if want[2+75].ts != c.period {
			t.Errorf("second pass starts at %d ms, want %d", want[2+75].ts, c.period)
		}
	}
}

func BenchmarkPutHeader(b *testing.B) {
	c, err := readClip(bytes.NewReader(buildFLV(b, testClipTags(b, 20000))), 4096)
	if err != nil {
		b.Fatal(err)
	}
	var h [headerLen]byte
	b.ReportAllocs()
	cur := cursor{clip: c}
	for b.Loop() {
		putHeader(&h, cur.tag(), uint32(cur.timestamp()), 1)
		cur.advance()
	}
}
