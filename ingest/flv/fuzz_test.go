package flv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/vp9"
	"github.com/rs/zerolog"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
	"github.com/livegate/gateway/remux"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/ and run with every
// `go test`; `GEN_FUZZ_SEEDS=1 go test -run TestGenerateFuzzSeeds` rewrites
// them from the case tables (and from an ffmpeg recording when available).

func FuzzParseAVCConfig(f *testing.F) {
	for _, c := range avcConfigCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAVCConfig(b)
		if err != nil {
			return
		}
		if c.LengthSize != 1 && c.LengthSize != 2 && c.LengthSize != 4 {
			t.Fatalf("length size %d", c.LengthSize)
		}
		total := 0
		for _, s := range append(c.SPS, c.PPS...) {
			if len(s) == 0 {
				t.Fatal("empty parameter set")
			}
			total += len(s) + 2
		}
		if total > len(b) {
			t.Fatalf("parameter sets (%d bytes) larger than the record (%d)", total, len(b))
		}
	})
}

func FuzzParseHEVCConfig(f *testing.F) {
	f.Add(hevcRecord(4, hevcVPS, hevcSPS, hevcPPS))
	f.Add(hevcRecord(2, hevcVPS, hevcSPS, hevcPPS))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseHEVCConfig(b)
		if err != nil {
			return
		}
		if c.LengthSize != 1 && c.LengthSize != 2 && c.LengthSize != 4 {
			t.Fatalf("length size %d", c.LengthSize)
		}
	})
}

func FuzzSplitNALUs(f *testing.F) {
	for _, c := range splitCases {
		f.Add(c.in, byte(c.ls))
	}
	f.Fuzz(func(t *testing.T, b []byte, ls byte) {
		nalus, err := SplitNALUs(nil, b, int(ls))
		if err != nil {
			return
		}
		if len(nalus) > MaxNALUs {
			t.Fatalf("%d NAL units", len(nalus))
		}
		total := 0
		for _, n := range nalus {
			if len(n) == 0 || cap(n) != len(n) {
				t.Fatalf("NAL unit len %d cap %d", len(n), cap(n))
			}
			total += len(n) + int(ls)
		}
		if total > len(b) {
			t.Fatalf("NAL units (%d bytes) larger than the input (%d)", total, len(b))
		}
	})
}

// fuzzMessage is one message in the FuzzDemuxer input encoding:
// kind (bit 0: audio), signed 16-bit timestamp delta, 16-bit length, body.
const fuzzMessageHeader = 5

func encodeMessages(msgs ...fuzzMsg) []byte {
	var b []byte
	var prev uint32
	for _, m := range msgs {
		b = append(b, m.kind)
		b = binary.BigEndian.AppendUint16(b, uint16(int16(m.ts-prev)))
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.body)))
		b = append(b, m.body...)
		prev = m.ts
	}
	return b
}

type fuzzMsg struct {
	kind byte
	ts   uint32
	body []byte
}

func demuxerSeeds() [][]byte {
	return [][]byte{
		encodeMessages(
			fuzzMsg{0, 0, videoTag(1, 7, 0, 0, x264Record)},
			fuzzMsg{1, 0, aacTag(0, asc44mono)},
			fuzzMsg{0, 0, videoTag(1, 7, 1, 67, lengthPrefixed(4, aud, sps320, ppsX, idrNAL))},
			fuzzMsg{1, 23, aacTag(1, []byte{0x21, 1})},
			fuzzMsg{0, 33, videoTag(2, 7, 1, -33, lengthPrefixed(4, pNAL))},
			fuzzMsg{0, 66, videoTag(1, 7, 1, 0, lengthPrefixed(4, sps640, ppsX, idrNAL))},
			fuzzMsg{1, 46, aacTag(1, adts(4, 1, []byte{0x21, 2}))},
		),
		encodeMessages(
			fuzzMsg{0, 0, videoTag(1, 12, 0, 0, hevcRecord(4, hevcVPS, hevcSPS, hevcPPS))},
			fuzzMsg{0, 0, videoTag(1, 12, 1, 0, lengthPrefixed(4, hevcVPS, hevcSPS, hevcPPS, []byte{0x26, 1, 0xaf}))},
			fuzzMsg{1, 0, aacTag(0, asc48stereo)},
			fuzzMsg{1, 20, aacTag(1, []byte{0x21})},
		),
		encodeMessages(
			fuzzMsg{0, 0xfffffff0, videoTag(1, 7, 0, 0, avcRecord(1, [][]byte{sps320}, [][]byte{ppsX}, nil))},
			fuzzMsg{0, 0xfffffff0, videoTag(1, 7, 1, 0, lengthPrefixed(1, idrNAL))},
			fuzzMsg{0, 0x10, videoTag(2, 7, 1, 0, lengthPrefixed(1, pNAL))},
			fuzzMsg{0, 0x5, videoTag(2, 7, 1, 0, lengthPrefixed(1, pNAL))},
		),
		encodeMessages(fuzzMsg{0, 0, []byte{0x90, 'h', 'v', 'c', '1'}}, fuzzMsg{1, 0, []byte{0x2f, 1}}),
		encodeMessages(ertmpSeed()...),
		encodeMessages(mp3Seed()...),
		encodeMessages(mp3DropSeed()...),
	}
}

// mp3Seed is a legacy FLV publication with MP3 audio whose configuration
// changes (bitrate only, then sample rate, then MPEG-2 rates), ending with
// MPEG-2.5 and SoundFormat 14 messages.
func mp3Seed() []fuzzMsg {
	return []fuzzMsg{
		{1, 0, mp3Tag(mp3Joint44)},
		{0, 0, videoTag(1, 7, 0, 0, x264Record)},
		{0, 0, videoTag(1, 7, 1, 0, lengthPrefixed(4, idrNAL))},
		{1, 26, mp3Tag(mp3Joint44, mp3Stereo44)},
		{0, 40, videoTag(2, 7, 1, 0, lengthPrefixed(4, pNAL))},
		{1, 78, mp3Tag(mp3Joint48)},
		{1, 102, mp3Tag(mp3Mono44)},
		{1, 128, mp3Tag(mp3LSF24)},
		{1, 152, mp3Tag(mp3MPEG25)},
		{1, 152, append([]byte{soundFormatMP38k<<4 | 0x02}, mp3MPEG25...)},
	}
}

// mp3DropSeed is every dropped legacy MP3 message, then a good one.
func mp3DropSeed() []fuzzMsg {
	var msgs []fuzzMsg
	for _, c := range mp3DropCases {
		msgs = append(msgs, fuzzMsg{1, 0, c.body})
	}
	return append(msgs, fuzzMsg{1, 0, mp3Tag(mp3Joint44)})
}

// ertmpSeed is an E-RTMP publication touching every packet type: HEVC and
// AV1 renditions (ManyTracksManyCodecs), VP9 (OneTrack), ModEx nano
// offsets, metadata, commands, Opus with a multichannel configuration,
// AC-3 without sequence start.
func ertmpSeed() []fuzzMsg {
	rec := hevcRecord(4, hevcVPS, hevcSPS, hevcPPS)
	mc := ertmp.Header{FrameType: 1, PacketType: ertmp.VideoSequenceStart, Multitrack: true, MultitrackType: ertmp.ManyTracksManyCodecs}
	frames := mc
	frames.PacketType, frames.NanoOffset = ertmp.VideoCodedFrames, 333333
	ac3 := make([]byte, 256)
	copy(ac3, []byte{0x0b, 0x77, 0, 0, 0x08, 0x40, 0x40, 0})
	b, _ := amf.Marshal("colorInfo", amf.Object{{Key: "colorConfig", Value: amf.Object{{Key: "bitDepth", Value: 10}}}})
	return []fuzzMsg{
		{0, 0, vmsg(ertmp.Header{PacketType: ertmp.VideoMetadata, FourCC: ertmp.HEVC}, b)},
		{0, 0, vmsg(mc, nil, ertmp.TrackBody{FourCC: ertmp.HEVC, ID: 0, Body: rec}, ertmp.TrackBody{FourCC: ertmp.AV1, ID: 1, Body: av1C})},
		{0, 0, vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoSequenceStart, FourCC: ertmp.VP9, Multitrack: true}, nil, ertmp.TrackBody{ID: 2, Body: vpcC})},
		{1, 0, amsg(ertmp.Header{PacketType: ertmp.AudioMultichannelConfig, FourCC: ertmp.Opus}, []byte{1, 2, 0, 0, 0, 3})},
		{1, 0, amsg(ertmp.Header{PacketType: ertmp.AudioSequenceStart, FourCC: ertmp.Opus}, opusHead)},
		{0, 0, vmsg(frames, nil, ertmp.TrackBody{FourCC: ertmp.HEVC, ID: 0, Body: ertmp.CodedFramesBody(33, lengthPrefixed(4, hevcIDR))},
			ertmp.TrackBody{FourCC: ertmp.AV1, ID: 1, Body: av1KeyTU})},
		{0, 0, vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoCodedFramesX, FourCC: ertmp.VP9, Multitrack: true}, nil, ertmp.TrackBody{ID: 2, Body: vp9Key})},
		{1, 0, amsg(ertmp.Header{PacketType: ertmp.AudioCodedFrames, FourCC: ertmp.Opus, NanoOffset: 5}, []byte{0xfc, 1})},
		{1, 0, amsg(ertmp.Header{PacketType: ertmp.AudioCodedFrames, FourCC: ertmp.AC3, Multitrack: true}, nil, ertmp.TrackBody{ID: 1, Body: ac3})},
		{0, 33, vmsg(ertmp.Header{FrameType: ertmp.FrameCommand, PacketType: ertmp.VideoCodedFrames, Command: 1}, nil)},
		{0, 33, hvc1(ertmp.VideoCodedFramesX, 2, lengthPrefixed(4, hevcTrail))},
		{0, 33, vmsg(ertmp.Header{FrameType: 2, PacketType: ertmp.VideoCodedFramesX, FourCC: ertmp.AV1, Multitrack: true, MultitrackType: ertmp.ManyTracks,
			ModEx: []ertmp.ModEx{{Type: 3, Data: []byte{1}}}}, nil, ertmp.TrackBody{ID: 1, Body: av1IntTU})},
		{0, 33, vmsg(ertmp.Header{FrameType: 2, PacketType: ertmp.VideoCodedFrames, FourCC: ertmp.VP9, Multitrack: true}, nil, ertmp.TrackBody{ID: 2, Body: vp9Inter})},
		{1, 20, amsg(ertmp.Header{PacketType: ertmp.AudioSequenceEnd, FourCC: ertmp.Opus}, nil)},
		{0, 67, hvc1(ertmp.VideoSequenceEnd, 1, nil)},
	}
}

// FuzzExHeader parses hostile ExVideoTagHeader / ExAudioTagHeader and walks
// their track loop: every body must be a sub-slice of the input and the
// walk must end.
func FuzzExHeader(f *testing.F) {
	for _, c := range exHeaderCases {
		f.Add(c.video, c.in)
	}
	f.Fuzz(func(t *testing.T, video bool, in []byte) {
		parse := parseExAudioHeader
		if video {
			parse = parseExVideoHeader
		}
		h, err := parse(in)
		if err != nil || h.command {
			return
		}
		if h.nano > 1<<24-1 || len(h.body) > len(in) {
			t.Fatalf("header %+v from %d bytes", h, len(in))
		}
		if !h.multitrack {
			return
		}
		total := 0
		for rest, n := h.body, 0; len(rest) > 0; n++ {
			tb, next, err := h.nextTrack(rest)
			if err != nil {
				return
			}
			if len(next) >= len(rest) || n > len(in) {
				t.Fatal("track loop does not advance")
			}
			total += len(tb.body)
			rest = next
		}
		if total > len(h.body) {
			t.Fatalf("tracks of %d bytes in a body of %d", total, len(h.body))
		}
	})
}

func FuzzParseAV1Config(f *testing.F) {
	for _, c := range av1ConfigCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAV1Config(b)
		if err != nil {
			return
		}
		if c.SequenceHeader != nil {
			if (c.SequenceHeader[0]>>3)&0x0f != obuSequenceHeader || len(c.SequenceHeader) > len(b) {
				t.Fatalf("sequence header %x", c.SequenceHeader)
			}
			// The track constructor must not panic on what the parser accepts.
			_, _ = remux.NewAV1Track(c.SequenceHeader)
		}
	})
}

func FuzzParseVPConfig(f *testing.F) {
	for _, c := range vpConfigCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseVPConfig(b)
		if err != nil {
			return
		}
		if _, err := remux.NewVP9Track(c, 16, 16); err != nil {
			t.Fatalf("accepted configuration %+v refused by the track: %v", c, err)
		}
	})
}

// FuzzParseVP9Frame checks the allocation-free header parser against
// mediacommon's on hostile frames.
func FuzzParseVP9Frame(f *testing.F) {
	for _, c := range vp9FrameCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseVP9Frame(b)
		var h vp9.Header
		herr := h.Unmarshal(b)
		if (err == nil) != (herr == nil) {
			t.Fatalf("err %v, mediacommon %v", err, herr)
		}
		if err != nil {
			return
		}
		if got.key != (!h.NonKeyFrame && !h.ShowExistingFrame) {
			t.Fatalf("key %v, mediacommon %+v", got.key, h)
		}
		if got.key && (got.width != h.Width() || got.height != h.Height() || got.bitDepth != h.ColorConfig.BitDepth ||
			got.chromaSubsampling != h.ChromaSubsampling() || got.fullRange != h.ColorConfig.ColorRange) {
			t.Fatalf("%+v, mediacommon %+v %+v", got, h.ColorConfig, h.FrameSize)
		}
	})
}

func FuzzVideoMetadata(f *testing.F) {
	b, _ := amf.Marshal("colorInfo", hdr10)
	f.Add(b)
	b, _ = amf.Marshal("colorInfo", amf.Undefined{})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ci, found, err := parseVideoMetadata(b)
		if err != nil || ci == nil {
			return
		}
		if !found || ci.BitDepth < 0 || ci.BitDepth > 16 || ci.ColorPrimaries > 255 || ci.MaxCLL < 0 {
			t.Fatalf("colorInfo %+v", ci)
		}
	})
}

func FuzzMultichannelConfig(f *testing.F) {
	for _, c := range multichannelCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseMultichannelConfig(b)
		if err != nil {
			return
		}
		if l.Order > remux.ChannelOrderCustom || len(l.Mapping) > l.Count {
			t.Fatalf("layout %+v", l)
		}
	})
}

func FuzzDemuxer(f *testing.F) {
	for _, s := range demuxerSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sink := newRecSink(t) // checks the Sink contract on every sample
		r := remux.NewRemuxer(sink, zerolog.Nop())
		d := NewDemuxer(r, zerolog.Nop())
		var ts uint32
		for len(in) >= fuzzMessageHeader {
			kind := in[0]
			ts += uint32(int32(int16(binary.BigEndian.Uint16(in[1:]))))
			n := int(binary.BigEndian.Uint16(in[3:]))
			in = in[fuzzMessageHeader:]
			n = min(n, len(in))
			// A private copy: the demuxer must not depend on the body
			// outliving the call, so scribble on it afterwards.
			body := bytes.Clone(in[:n])
			in = in[n:]
			var err error
			if kind&1 == 0 {
				err = d.Video(ts, body)
			} else {
				err = d.Audio(ts, body)
			}
			if err != nil {
				t.Fatalf("error with a healthy sink: %v", err)
			}
			for i := range body {
				body[i] = 0xAA
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGenerateFuzzSeeds rewrites testdata/fuzz from the seeds above.
func TestGenerateFuzzSeeds(t *testing.T) {
	if os.Getenv("GEN_FUZZ_SEEDS") == "" {
		t.Skip("set GEN_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(fuzz, name string, args ...any) {
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case byte:
				fmt.Fprintf(&b, "byte(%q)\n", v)
			case bool:
				fmt.Fprintf(&b, "bool(%v)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range avcConfigCases {
		write("FuzzParseAVCConfig", fmt.Sprintf("seed-%02d", i), c.in)
	}
	write("FuzzParseHEVCConfig", "seed-00", hevcRecord(4, hevcVPS, hevcSPS, hevcPPS))
	write("FuzzParseHEVCConfig", "seed-01", hevcRecord(1, hevcVPS, hevcSPS, hevcPPS))
	for i, c := range splitCases {
		write("FuzzSplitNALUs", fmt.Sprintf("seed-%02d", i), c.in, byte(c.ls))
	}
	for i, s := range demuxerSeeds() {
		write("FuzzDemuxer", fmt.Sprintf("seed-%02d", i), s)
	}
	for i, c := range exHeaderCases {
		write("FuzzExHeader", fmt.Sprintf("seed-%02d", i), c.video, c.in)
	}
	for i, c := range av1ConfigCases {
		write("FuzzParseAV1Config", fmt.Sprintf("seed-%02d", i), c.in)
	}
	for i, c := range vpConfigCases {
		write("FuzzParseVPConfig", fmt.Sprintf("seed-%02d", i), c.in)
	}
	for i, c := range vp9FrameCases {
		write("FuzzParseVP9Frame", fmt.Sprintf("seed-%02d", i), c)
	}
	for i, c := range multichannelCases {
		write("FuzzMultichannelConfig", fmt.Sprintf("seed-%02d", i), c.in)
	}
	b, _ := amf.Marshal("colorInfo", hdr10)
	write("FuzzVideoMetadata", "seed-00", b)
	b, _ = amf.Marshal("colorInfo", amf.Undefined{})
	write("FuzzVideoMetadata", "seed-01", b)
	if msgs := recordedMessages(t, 10); msgs != nil {
		write("FuzzDemuxer", "seed-ffmpeg", encodeMessages(msgs...))
	}
}
