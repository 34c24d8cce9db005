package chunk

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// TestWriterHeaderCompression checks which header type the Writer picks.
func TestWriterHeaderCompression(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterConfig{})
	msgs := []struct {
		m    Message
		want uint8 // expected header type
	}{
		{Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 0, Payload: []byte{1, 2, 3}}, 0},
		{Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 23, Payload: []byte{1, 2, 3}}, 2},
		{Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 46, Payload: []byte{1, 2, 3}}, 3},
		{Message{ChunkStreamID: 4, Type: TypeAudio, StreamID: 1, Timestamp: 69, Payload: []byte{1, 2}}, 1},
		{Message{ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 69, Payload: []byte{1, 2}}, 1},
		{Message{ChunkStreamID: 4, Type: TypeVideo, StreamID: 1, Timestamp: 10, Payload: []byte{1, 2}}, 0},
		{Message{ChunkStreamID: 4, Type: TypeVideo, StreamID: 2, Timestamp: 10, Payload: []byte{1, 2}}, 0},
	}
	for i, c := range msgs {
		buf.Reset()
		if err := w.WriteMessage(&c.m); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := buf.Bytes()[0] >> 6; got != c.want {
			t.Errorf("message %d: header type %d, want %d", i, got, c.want)
		}
	}
}

func TestWriterExtendedTimestampBytes(t *testing.T) {
	for _, omit := range []bool{false, true} {
		var buf bytes.Buffer
		w := NewWriter(&buf, WriterConfig{OmitContinuationExtendedTimestamp: omit})
		p := seq(200, 0)
		if err := w.WriteMessage(&Message{ChunkStreamID: 6, Type: TypeVideo, StreamID: 1, Timestamp: 0x12345678, Payload: p}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		var r raw
		r.fmt0(6, 0x12345678, 200, TypeVideo, 1).data(p[:128]).fmt3(6)
		if !omit {
			r.u32(0x12345678)
		}
		r.data(p[128:])
		if !bytes.Equal(buf.Bytes(), r.b) {
			t.Fatalf("omit=%v:\n got % x\nwant % x", omit, buf.Bytes(), r.b)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(io.Discard, WriterConfig{})
	for _, id := range []uint32{0, 1, 65600} {
		if err := w.WriteMessage(&Message{ChunkStreamID: id}); !errors.Is(err, ErrInvalidChunkStreamID) {
			t.Errorf("csid %d: %v", id, err)
		}
	}
	if err := w.WriteMessage(&Message{ChunkStreamID: 3, Payload: make([]byte, 1<<24)}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("huge payload: %v", err)
	}
	for _, n := range []uint32{0, 0x80000000} {
		if err := w.WriteSetChunkSize(n); !errors.Is(err, ErrInvalidChunkSize) {
			t.Errorf("chunk size %d: %v", n, err)
		}
	}
}

// TestRoundTrip writes random message sequences and reads them back:
// random chunk stream ids of every form, lengths, types, stream ids,
// timestamps (including extended ones and wrapping), chunk size changes and
// both Extended Timestamp conventions.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := []uint32{2, 3, 4, 6, 63, 64, 200, 319, 320, 5000, 65599}
	for iter := range 50 {
		var buf bytes.Buffer
		w := NewWriter(&buf, WriterConfig{OmitContinuationExtendedTimestamp: iter%2 == 1})
		var wants []want
		ts := map[uint32]uint32{}
		for range 200 {
			if rng.IntN(20) == 0 {
				if err := w.WriteSetChunkSize(uint32(1 + rng.IntN(5000))); err != nil {
					t.Fatal(err)
				}
			}
			id := ids[rng.IntN(len(ids))]
			if id == ControlChunkStreamID {
				continue
			}
			switch rng.IntN(6) {
			case 0:
				ts[id] = rng.Uint32() // anywhere, including near 2^32
			case 1:
				ts[id] += 0xFFFFFF + uint32(rng.IntN(3)) - 1 // around the extended threshold
			default:
				ts[id] += uint32(rng.IntN(50))
			}
			m := Message{
				ChunkStreamID: id,
				Type:          []MessageType{TypeAudio, TypeVideo, TypeDataAMF0}[rng.IntN(3)],
				StreamID:      uint32(rng.IntN(2)),
				Timestamp:     ts[id],
				Payload:       seq(rng.IntN(3)*rng.IntN(3000), byte(rng.IntN(256))),
			}
			if err := w.WriteMessage(&m); err != nil {
				t.Fatal(err)
			}
			wants = append(wants, want{m.ChunkStreamID, m.Type, m.StreamID, m.Timestamp, m.Payload})
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		readAll(t, newReader(buf.Bytes(), ReaderConfig{}), wants)
	}
}

func TestWriterControl(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, WriterConfig{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteWindowAckSize(2500000))
	must(w.WriteSetPeerBandwidth(2500000, LimitDynamic))
	must(w.WriteAck(12345))
	must(w.WriteUserControl(EventStreamBegin, 1))
	must(w.WriteUserControl(EventSetBufferLength, 1, 3000))
	must(w.WriteSetChunkSize(4096))
	must(w.WriteMessage(&Message{ChunkStreamID: 3, Type: TypeCommandAMF0, Payload: seq(5000, 0)}))
	must(w.Flush())
	readAll(t, newReader(buf.Bytes(), ReaderConfig{}), []want{
		{2, TypeWindowAckSize, 0, 0, []byte{0, 0x26, 0x25, 0xa0}},
		{2, TypeSetPeerBandwidth, 0, 0, []byte{0, 0x26, 0x25, 0xa0, 2}},
		{2, TypeAck, 0, 0, []byte{0, 0, 0x30, 0x39}},
		{2, TypeUserControl, 0, 0, []byte{0, 0, 0, 0, 0, 1}},
		{2, TypeUserControl, 0, 0, []byte{0, 3, 0, 0, 0, 1, 0, 0, 0x0b, 0xb8}},
		{3, TypeCommandAMF0, 0, 0, seq(5000, 0)},
	})
	if w.ChunkSize() != 4096 {
		t.Fatal(w.ChunkSize())
	}
}
