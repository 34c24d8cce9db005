package flv

import (
	"bytes"
	"errors"
	"os/exec"
	"reflect"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/vp9"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
	"github.com/livegate/gateway/remux"
)

// Bitstream pieces from ffmpeg encodes of testsrc2 320x240 (libsvtav1,
// libvpx-vp9); the demuxer reads headers only, so frames may be cut.
var (
	// AV1: temporal delimiter, sequence header, frame OBU of a shown
	// KEY_FRAME (first payload byte 0x14: show_existing_frame 0,
	// frame_type 0, show_frame 1), and of an INTER_FRAME (0x30).
	av1TD     = mustHex("1200")
	av1SeqHdr = mustHex("0a0b000000043cffbcfbf90040")
	av1KeyOBU = mustHex("3205" + "1400217820")
	av1IntOBU = mustHex("3203" + "300102")
	av1KeyTU  = cat(av1TD, av1SeqHdr, av1KeyOBU)
	av1IntTU  = cat(av1TD, av1IntOBU)
	// AV1CodecConfigurationRecord: marker/version, profile 0 level 4,
	// 4:2:0, no presentation delay, then the sequence header.
	av1C = cat([]byte{0x81, 0x04, 0x0c, 0x00}, av1SeqHdr)

	vp9Key   = mustHex("824983420013f00ef60638241c184a000d405fcdf7fbfd1f")
	vp9Inter = mustHex("86004092f121400000a07f90dced3d87")
	// vpcC with FullBox header: profile 0, level 31, 8 bits, 4:2:0
	// colocated, limited range, BT.709, no initialization data.
	vpcC = mustHex("01000000" + "001f" + "82" + "010101" + "0000")

	// OpusHead: version 1, 2 channels, pre-skip 312 (0x0138 LE), input
	// 48000 Hz (LE), gain 0, family 0.
	opusHead = cat([]byte("OpusHead"), []byte{1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0})
)

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func vmsg(h ertmp.Header, body []byte, tracks ...ertmp.TrackBody) []byte {
	return ertmp.AppendVideo(nil, h, body, tracks...)
}

func amsg(h ertmp.Header, body []byte, tracks ...ertmp.TrackBody) []byte {
	return ertmp.AppendAudio(nil, h, body, tracks...)
}

// exHeaderCases feed TestParseExHeader and the FuzzExHeader seeds.
var exHeaderCases = []struct {
	name    string
	video   bool
	in      []byte
	wantErr error
	want    exHeader // compared without body
	body    []byte
}{
	{"hvc1 SequenceStart", true,
		vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoSequenceStart, FourCC: ertmp.HEVC}, []byte{1, 2}),
		nil, exHeader{frameType: 1, packetType: 0, fourCC: FourCCHEVC}, []byte{1, 2}},
	{"av01 CodedFrames with nano offset", true,
		vmsg(ertmp.Header{FrameType: 2, PacketType: ertmp.VideoCodedFrames, FourCC: ertmp.AV1, NanoOffset: 333333}, []byte{9}),
		nil, exHeader{frameType: 2, packetType: 1, fourCC: FourCCAV1, nano: 333333}, []byte{9}},
	{"unknown ModEx then nano with 16-bit size", true,
		vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoCodedFramesX, FourCC: ertmp.AVC, NanoOffset: 999999,
			ModEx: []ertmp.ModEx{{Type: 5, Data: make([]byte, 300)}, {Type: 6, Data: []byte{1}}}}, nil),
		nil, exHeader{frameType: 1, packetType: 3, fourCC: FourCCAVC, nano: 999999, unknownModEx: 2}, []byte{}},
	{"command frame", true,
		vmsg(ertmp.Header{FrameType: ertmp.FrameCommand, PacketType: ertmp.VideoCodedFrames, Command: 1}, nil),
		nil, exHeader{frameType: 5, packetType: 1, command: true, videoCommand: 1}, nil},
	{"metadata ignores the command frame type", true,
		vmsg(ertmp.Header{FrameType: ertmp.FrameCommand, PacketType: ertmp.VideoMetadata, FourCC: ertmp.HEVC}, []byte{2}),
		nil, exHeader{frameType: 5, packetType: 4, fourCC: FourCCHEVC}, []byte{2}},
	{"ManyTracks", true,
		vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoCodedFramesX, FourCC: ertmp.VP9, Multitrack: true, MultitrackType: ertmp.ManyTracks}, nil,
			ertmp.TrackBody{ID: 0, Body: []byte{1}}, ertmp.TrackBody{ID: 1, Body: []byte{2, 3}}),
		nil, exHeader{frameType: 1, packetType: 3, fourCC: FourCCVP9, multitrack: true, multitrackType: 1},
		[]byte{0, 0, 0, 1, 1, 1, 0, 0, 2, 2, 3}},
	{"ManyTracksManyCodecs with nano", true,
		vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoCodedFramesX, NanoOffset: 7, Multitrack: true, MultitrackType: ertmp.ManyTracksManyCodecs}, nil,
			ertmp.TrackBody{FourCC: ertmp.AV1, ID: 4, Body: []byte{1}}),
		nil, exHeader{frameType: 1, packetType: 3, nano: 7, multitrack: true, multitrackType: 2},
		cat([]byte("av01"), []byte{4, 0, 0, 1, 1})},
	{"Opus CodedFrames", false,
		amsg(ertmp.Header{PacketType: ertmp.AudioCodedFrames, FourCC: ertmp.Opus}, []byte{0xfc}),
		nil, exHeader{packetType: 1, fourCC: FourCCOpus}, []byte{0xfc}},
	{"audio OneTrack with nano", false,
		amsg(ertmp.Header{PacketType: ertmp.AudioSequenceStart, FourCC: ertmp.AAC, NanoOffset: 1, Multitrack: true, MultitrackType: ertmp.OneTrack}, nil,
			ertmp.TrackBody{ID: 3, Body: []byte{0x11, 0x90}}),
		nil, exHeader{packetType: 0, fourCC: FourCCAAC, nano: 1, multitrack: true}, []byte{3, 0x11, 0x90}},
	{"empty", true, nil, ErrTruncated, exHeader{}, nil},
	{"no FourCC", true, []byte{0x90, 'h', 'v'}, ErrTruncated, exHeader{}, nil},
	{"command without command byte", true, []byte{0xd1}, ErrTruncated, exHeader{}, nil},
	{"ModEx without size", true, []byte{0x97}, ErrTruncated, exHeader{}, nil},
	{"ModEx data cut", true, []byte{0x97, 5, 1, 2}, ErrTruncated, exHeader{}, nil},
	{"ModEx without 16-bit size", false, []byte{0x97, 0xff, 1}, ErrTruncated, exHeader{}, nil},
	{"nano of 2 bytes", true, []byte{0x97, 1, 0, 0, 0x01, 'h', 'v', 'c', '1'}, ErrModEx, exHeader{}, nil},
	{"multitrack without type", true, []byte{0x96}, ErrTruncated, exHeader{}, nil},
	{"multitrack inside multitrack", true, []byte{0x96, 0x16, 'h', 'v', 'c', '1'}, ErrPacketType, exHeader{}, nil},
	{"ModEx inside multitrack", false, []byte{0x95, 0x17, 'O', 'p', 'u', 's'}, ErrPacketType, exHeader{}, nil},
	{"reserved multitrack type", true, []byte{0x96, 0x31, 'h', 'v', 'c', '1'}, ErrPacketType, exHeader{}, nil},
}

func TestParseExHeader(t *testing.T) {
	for _, c := range exHeaderCases {
		t.Run(c.name, func(t *testing.T) {
			parse := parseExAudioHeader
			if c.video {
				parse = parseExVideoHeader
			}
			got, err := parse(c.in)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			body := got.body
			got.body = nil
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("header %+v, want %+v", got, c.want)
			}
			if !bytes.Equal(body, c.body) {
				t.Errorf("body %x, want %x", body, c.body)
			}
		})
	}
}

func TestNextTrack(t *testing.T) {
	h := exHeader{multitrack: true, multitrackType: multitrackManyTracks, fourCC: FourCCHEVC}
	body := []byte{0, 0, 0, 1, 0xaa, 7, 0, 0, 0, 9, 0, 0, 5, 1}
	var got []trackBody
	rest := body
	var err error
	for len(rest) > 0 && err == nil {
		var tb trackBody
		tb, rest, err = h.nextTrack(rest)
		if err == nil {
			got = append(got, tb)
		}
	}
	// Track 0 (1 byte), track 7 (empty), then track 9 announcing 5 bytes of 1.
	if !errors.Is(err, ErrTruncated) || len(got) != 2 || got[0].id != 0 || !bytes.Equal(got[0].body, []byte{0xaa}) ||
		got[1].id != 7 || len(got[1].body) != 0 || got[1].fourCC != FourCCHEVC {
		t.Fatalf("tracks %+v, err %v", got, err)
	}
	if cap(got[0].body) != 1 {
		t.Error("track body capacity not clipped")
	}
	h.multitrackType = multitrackManyTracksManyCodecs
	if _, _, err := h.nextTrack([]byte("av0")); !errors.Is(err, ErrTruncated) {
		t.Errorf("short FourCC: %v", err)
	}
	if _, _, err := h.nextTrack([]byte("av01")); !errors.Is(err, ErrTruncated) {
		t.Errorf("no id: %v", err)
	}
	if _, _, err := h.nextTrack([]byte("av01\x01\x00")); !errors.Is(err, ErrTruncated) {
		t.Errorf("no size: %v", err)
	}
}

func TestFourCC(t *testing.T) {
	if FourCCAV1 != 0x61763031 || FourCCAV1.String() != "av01" || FourCC(0x01020304).String() != "0x01020304" || MakeFourCC("abc") != 0 {
		t.Error("FourCC")
	}
}

// av1ConfigCases feed TestParseAV1Config and the FuzzParseAV1Config seeds.
var av1ConfigCases = []struct {
	name    string
	in      []byte
	wantErr error
	seqHdr  bool
}{
	{"av1C", av1C, nil, true},
	{"bare OBUs", av1SeqHdr, nil, true},
	{"without configOBUs", av1C[:4], nil, false},
	{"with metadata OBU after", cat(av1C, mustHex("2a0101")), nil, true},
	{"empty", nil, ErrTruncated, false},
	{"short", []byte{0x81, 0}, ErrTruncated, false},
	{"version 2", cat([]byte{0x82}, av1C[1:]), ErrConfigVersion, false},
	{"OBU cut", av1C[:len(av1C)-1], ErrOBU, false},
	{"forbidden bit", cat(av1C[:4], []byte{0x8a, 0}), ErrOBU, false},
	{"extension header missing", cat(av1C[:4], []byte{0x0c}), ErrOBU, false},
	{"bad leb128", cat(av1C[:4], []byte{0x0a, 0x80}), ErrOBU, false},
}

func TestParseAV1Config(t *testing.T) {
	for _, c := range av1ConfigCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAV1Config(c.in)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err == nil && (got.SequenceHeader != nil) != c.seqHdr {
				t.Fatalf("sequence header %x", got.SequenceHeader)
			}
			if c.seqHdr && !bytes.Equal(got.SequenceHeader, av1SeqHdr) {
				t.Errorf("sequence header %x", got.SequenceHeader)
			}
		})
	}
	c, _ := ParseAV1Config(av1C)
	if c.SeqProfile != 0 || c.SeqLevelIdx0 != 4 || !c.ChromaSubsamplingX || !c.ChromaSubsamplingY || c.InitialPresentationDelay != 0 {
		t.Errorf("fields %+v", c)
	}
}

// vpConfigCases feed TestParseVPConfig and the FuzzParseVPConfig seeds.
var vpConfigCases = []struct {
	name    string
	in      []byte
	wantErr error
	want    remux.VP9Config
}{
	{"vpcC FullBox", vpcC, nil, remux.VP9Config{Level: 31, BitDepth: 8, ChromaSubsampling: 1, ColourPrimaries: 1, TransferCharacteristics: 1, MatrixCoefficients: 1}},
	{"bare record", vpcC[4:], nil, remux.VP9Config{Level: 31, BitDepth: 8, ChromaSubsampling: 1, ColourPrimaries: 1, TransferCharacteristics: 1, MatrixCoefficients: 1}},
	{"profile 2 10 bits full range", mustHex("01000000" + "021f" + "a3" + "090e09" + "0000"),
		nil, remux.VP9Config{Profile: 2, Level: 31, BitDepth: 10, ChromaSubsampling: 1, FullRange: true, ColourPrimaries: 9, TransferCharacteristics: 14, MatrixCoefficients: 9}},
	{"empty", nil, ErrTruncated, remux.VP9Config{}},
	{"version 0", mustHex("00000000001f8201010100"), ErrConfigVersion, remux.VP9Config{}},
	{"bit depth 9", mustHex("01000000" + "001f" + "92" + "010101" + "0000"), ErrParameterSet, remux.VP9Config{}},
	{"profile 4", mustHex("01000000" + "041f" + "82" + "010101" + "0000"), ErrParameterSet, remux.VP9Config{}},
}

func TestParseVPConfig(t *testing.T) {
	for _, c := range vpConfigCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseVPConfig(c.in)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err == nil && got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// vp9FrameCases feed TestParseVP9Frame and the FuzzParseVP9Frame seeds.
var vp9FrameCases = [][]byte{
	vp9Key, vp9Inter, vp9Key[:10], {0x82}, {},
	{0x88}, // show_existing_frame
	// Profile 1 key frame, 4:4:4 (subsampling 0 0), profile 2 (10 bits)
	// and profile 3 RGB 12 bits 320x240 key frames.
	mustHex("a24983420206000000000000"), mustHex("924983420e00100000000000"), mustHex("b124c1a17804fc03bc"),
}

// The header parser agrees with mediacommon's (which allocates) on real
// and crafted frames.
func TestParseVP9Frame(t *testing.T) {
	frames := vp9FrameCases
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		for _, f := range vp9Track(t, "320x240").Frames {
			frames = append(frames, f.Data)
		}
	}
	for i, b := range frames {
		got, err := parseVP9Frame(b)
		var h vp9.Header
		herr := h.Unmarshal(b)
		if (err == nil) != (herr == nil) {
			t.Fatalf("frame %d (%x): err %v, mediacommon %v", i, b[:min(len(b), 8)], err, herr)
		}
		if err != nil {
			continue
		}
		if got.key != (!h.NonKeyFrame && !h.ShowExistingFrame) || got.profile != h.Profile && !h.ShowExistingFrame {
			t.Fatalf("frame %d: %+v vs %+v", i, got, h)
		}
		if got.key {
			if got.width != h.Width() || got.height != h.Height() || got.bitDepth != h.ColorConfig.BitDepth ||
				got.chromaSubsampling != h.ChromaSubsampling() || got.fullRange != h.ColorConfig.ColorRange {
				t.Fatalf("frame %d: %+v vs %+v %+v", i, got, h.ColorConfig, h.FrameSize)
			}
		}
	}
}

// multichannelCases feed TestParseMultichannelConfig and its fuzz seeds.
var multichannelCases = []struct {
	name    string
	in      []byte
	wantErr error
	want    remux.ChannelLayout
}{
	{"unspecified", []byte{0, 2}, nil, remux.ChannelLayout{Count: 2}},
	{"native 5.1", []byte{1, 6, 0, 0, 0x06, 0x3f}, nil, remux.ChannelLayout{Order: 1, Count: 6, Mask: 0x063f}},
	{"custom", []byte{2, 3, 0, 1, 0xff}, nil, remux.ChannelLayout{Order: 2, Count: 3, Mapping: []byte{0, 1, 0xff}}},
	{"short", []byte{1}, ErrMultichannelConfig, remux.ChannelLayout{}},
	{"native without flags", []byte{1, 2, 0}, ErrMultichannelConfig, remux.ChannelLayout{}},
	{"custom cut", []byte{2, 3, 0}, ErrMultichannelConfig, remux.ChannelLayout{}},
	{"reserved order", []byte{3, 2}, ErrMultichannelConfig, remux.ChannelLayout{}},
}

func TestParseMultichannelConfig(t *testing.T) {
	for _, c := range multichannelCases {
		got, err := parseMultichannelConfig(c.in)
		if !errors.Is(err, c.wantErr) || (err == nil && !got.Equal(&c.want)) {
			t.Errorf("%s: %+v, %v", c.name, got, err)
		}
	}
}

func colorInfoAMF(t testing.TB, v any) []byte {
	b, err := amf.Marshal("colorInfo", v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var hdr10 = amf.Object{
	{Key: "colorConfig", Value: amf.Object{{Key: "bitDepth", Value: 10}, {Key: "colorPrimaries", Value: 9},
		{Key: "transferCharacteristics", Value: 16}, {Key: "matrixCoefficients", Value: 9}}},
	{Key: "hdrCll", Value: amf.Object{{Key: "maxFall", Value: 400}, {Key: "maxCLL", Value: 1000}}},
	{Key: "hdrMdcv", Value: amf.Object{{Key: "redX", Value: 0.708}, {Key: "redY", Value: 0.292}, {Key: "greenX", Value: 0.17},
		{Key: "greenY", Value: 0.797}, {Key: "blueX", Value: 0.131}, {Key: "blueY", Value: 0.046}, {Key: "whitePointX", Value: 0.3127},
		{Key: "whitePointY", Value: 0.329}, {Key: "maxLuminance", Value: 1000}, {Key: "minLuminance", Value: 0.0001}}},
}

func TestParseVideoMetadata(t *testing.T) {
	ci, found, err := parseVideoMetadata(colorInfoAMF(t, hdr10))
	if err != nil || !found || ci == nil || ci.BitDepth != 10 || ci.TransferCharacteristics != 16 || ci.MaxCLL != 1000 ||
		ci.Mastering == nil || ci.Mastering.WhitePointX != 0.3127 {
		t.Fatalf("HDR10: %+v %v %v", ci, found, err)
	}
	// Out-of-range values are absent; an incomplete mastering display is dropped.
	ci, _, _ = parseVideoMetadata(colorInfoAMF(t, amf.Object{
		{Key: "colorConfig", Value: amf.Object{{Key: "colorPrimaries", Value: 300}}},
		{Key: "hdrMdcv", Value: amf.Object{{Key: "redX", Value: 0.7}}},
	}))
	if ci == nil || ci.ColorPrimaries != -1 || ci.Mastering != nil || ci.BitDepth != 0 {
		t.Errorf("ranges: %+v", ci)
	}
	for _, reset := range []any{amf.Undefined{}, amf.Object{}, nil} {
		if ci, found, err := parseVideoMetadata(colorInfoAMF(t, reset)); ci != nil || !found || err != nil {
			t.Errorf("reset %T: %+v %v %v", reset, ci, found, err)
		}
	}
	if _, found, err := parseVideoMetadata(colorInfoAMF(t, 1.0)[:3]); found || !errors.Is(err, ErrColorInfo) {
		t.Errorf("truncated: %v %v", found, err)
	}
	b, _ := amf.Marshal("other", 1.0)
	if _, found, err := parseVideoMetadata(b); found || err != nil {
		t.Errorf("other name: %v %v", found, err)
	}
	b, _ = amf.Marshal("colorInfo")
	if _, _, err := parseVideoMetadata(b); !errors.Is(err, ErrColorInfo) {
		t.Errorf("odd values: %v", err)
	}
}
