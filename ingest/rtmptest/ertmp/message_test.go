package ertmp

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

// The builder against messages written by hand from the E-RTMP v2
// bitstream tables.
func TestAppendMessages(t *testing.T) {
	for _, c := range []struct {
		name string
		got  []byte
		want string
	}{
		{"hvc1 SequenceStart", AppendVideo(nil, Header{FrameType: FrameKey, PacketType: VideoSequenceStart, FourCC: HEVC}, []byte{1}),
			"90" + "68766331" + "01"},
		{"hvc1 CodedFrames", AppendVideo(nil, Header{FrameType: FrameInter, PacketType: VideoCodedFrames, FourCC: HEVC}, CodedFramesBody(-33, []byte{9})),
			"a1" + "68766331" + "ffffdf" + "09"},
		// ModEx(7) with 3 data bytes (size-1 = 2), then type 0 /
		// Multitrack(6), then ManyTracks(1) / CodedFramesX(3), FourCC,
		// and two tracks of id, UI24 size, body.
		{"nano + ManyTracks", AppendVideo(nil, Header{FrameType: FrameKey, PacketType: VideoCodedFramesX, NanoOffset: 0x0a0b0c,
			Multitrack: true, MultitrackType: ManyTracks, FourCC: AV1}, nil, TrackBody{ID: 0, Body: []byte{0xaa}}, TrackBody{ID: 1}),
			"97" + "02" + "0a0b0c" + "06" + "13" + "61763031" + "00000001aa" + "01000000"},
		{"command", AppendVideo(nil, Header{FrameType: FrameCommand, PacketType: VideoCodedFrames, Command: 1}, nil), "d1" + "01"},
		{"Opus ManyTracksManyCodecs", AppendAudio(nil, Header{PacketType: AudioCodedFrames, Multitrack: true, MultitrackType: ManyTracksManyCodecs},
			nil, TrackBody{FourCC: Opus, ID: 2, Body: []byte{0xfc}}),
			"95" + "21" + "4f707573" + "02" + "000001" + "fc"},
		{"16-bit ModEx size", AppendAudio(nil, Header{PacketType: AudioSequenceEnd, FourCC: AAC, ModEx: []ModEx{{Type: 3, Data: make([]byte, 256)}}}, nil),
			"97" + "ff" + "00ff" + hex.EncodeToString(make([]byte, 256)) + "32" + "6d703461"},
	} {
		if h := hex.EncodeToString(c.got); h != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, h, c.want)
		}
	}
}

func TestMessages(t *testing.T) {
	v := &Track{Video: true, FourCC: HEVC, Header: []byte{1}, Frames: []Frame{
		{DTS: 0, PTS: 66666667, Key: true, Data: []byte{1}},
		{DTS: 33333333, PTS: 33333333, Data: []byte{2}},
	}}
	a := &Track{FourCC: Opus, Header: []byte("OpusHead"), Frames: []Frame{{DTS: 0, Key: true, Data: []byte{3}}, {DTS: 20 * time.Millisecond, Data: []byte{4}}}}
	msgs := Messages(Single, Options{NanoOffsets: true, CodedFramesX: true}, v, a)
	if len(msgs) != 6 || !msgs[0].Video || msgs[1].Video || msgs[4].Timestamp != 20 || msgs[5].Timestamp != 33 {
		t.Fatalf("messages %+v", msgs)
	}
	// The 33.333 ms frame: ModEx nano 333333, CodedFramesX (CTS 0).
	want := AppendVideo(nil, Header{FrameType: FrameInter, PacketType: VideoCodedFramesX, FourCC: HEVC, NanoOffset: 333333}, []byte{2})
	if !bytes.Equal(msgs[5].Body, want) {
		t.Errorf("frame 2: %x, want %x", msgs[5].Body, want)
	}
	// The first frame keeps its 67 ms composition offset.
	want = AppendVideo(nil, Header{FrameType: FrameKey, PacketType: VideoCodedFrames, FourCC: HEVC}, CodedFramesBody(67, []byte{1}))
	if !bytes.Equal(msgs[2].Body, want) {
		t.Errorf("frame 1: %x, want %x", msgs[2].Body, want)
	}
	w := *v
	w.ID = 1
	if msgs := Messages(LayoutManyTracks, Options{}, v, &w); len(msgs) != 3 {
		t.Errorf("ManyTracks: %d messages, want one per timestamp", len(msgs))
	}
}
