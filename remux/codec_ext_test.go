package remux

import (
	"bytes"
	"errors"
	"testing"
)

func opusHeadOf(rest ...byte) []byte { return append([]byte("OpusHead"), rest...) }

// opusHeadCases feed TestParseOpusHead and the FuzzParseOpusHead seeds. The
// first is libopus's stereo header as ffmpeg writes it: pre-skip 312 is
// 38 01 and 48000 Hz is 80 bb 00 00, little-endian (RFC 7845 §5.1).
var opusHeadCases = []struct {
	name    string
	in      []byte
	wantErr error
	want    OpusConfig
}{
	{"libopus stereo", opusHeadOf(1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0), nil,
		OpusConfig{Version: 1, ChannelCount: 2, PreSkip: 312, InputSampleRate: 48000, StreamCount: 1, CoupledCount: 1}},
	{"mono 44.1 kHz input, negative gain, trailing bytes", opusHeadOf(1, 1, 0x68, 0x01, 0x44, 0xac, 0, 0, 0x00, 0xfd, 0, 9, 9), nil,
		OpusConfig{Version: 1, ChannelCount: 1, PreSkip: 360, InputSampleRate: 44100, OutputGain: -768, StreamCount: 1}},
	{"version 15", opusHeadOf(15, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0), nil,
		OpusConfig{Version: 15, ChannelCount: 2, StreamCount: 1, CoupledCount: 1}},
	{"5.1 family 1", opusHeadOf(1, 6, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 1, 4, 2, 0, 4, 1, 2, 3, 5), nil,
		OpusConfig{Version: 1, ChannelCount: 6, PreSkip: 312, InputSampleRate: 48000, MappingFamily: 1, StreamCount: 4, CoupledCount: 2,
			ChannelMapping: []byte{0, 4, 1, 2, 3, 5}}},
	{"family 255 with a silent channel", opusHeadOf(1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 255, 1, 0, 0, 255), nil,
		OpusConfig{Version: 1, ChannelCount: 2, MappingFamily: 255, StreamCount: 1, ChannelMapping: []byte{0, 255}}},
	{"short", opusHeadOf(1, 2, 0x38), ErrInvalidCodecHeader, OpusConfig{}},
	{"bad magic", append([]byte("OpusTags"), 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrInvalidCodecHeader, OpusConfig{}},
	{"version 0", opusHeadOf(0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrInvalidCodecHeader, OpusConfig{}},
	{"version 16", opusHeadOf(16, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrInvalidCodecHeader, OpusConfig{}},
	{"no channels", opusHeadOf(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrInvalidCodecHeader, OpusConfig{}},
	{"family 0 with 3 channels", opusHeadOf(1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrInvalidCodecHeader, OpusConfig{}},
	{"family 1 with 9 channels", opusHeadOf(1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8), ErrInvalidCodecHeader, OpusConfig{}},
	{"table cut", opusHeadOf(1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 2, 0, 4), ErrInvalidCodecHeader, OpusConfig{}},
	{"no streams", opusHeadOf(1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0), ErrInvalidCodecHeader, OpusConfig{}},
	{"more coupled than streams", opusHeadOf(1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0), ErrInvalidCodecHeader, OpusConfig{}},
	{"mapping out of range", opusHeadOf(1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1), ErrInvalidCodecHeader, OpusConfig{}},
}

func TestParseOpusHead(t *testing.T) {
	for _, c := range opusHeadCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseOpusHead(c.in)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err == nil && !got.equal(&c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	c, _ := ParseOpusHead(opusHeadCases[3].in)
	tr, err := NewOpusTrack(c)
	if err != nil || tr.ClockRate != 48000 || tr.SampleRate != 48000 || tr.ChannelCount != 6 || tr.Opus.PreSkip != 312 {
		t.Fatalf("track %+v %v", tr, err)
	}
	c.ChannelMapping[0] = 9 // the track owns its copy
	if tr.Opus.ChannelMapping[0] != 0 || tr.SameConfig(&Track{Kind: KindAudio, Codec: CodecOpus, ClockRate: 48000, SampleRate: 48000, ChannelCount: 6, Opus: &c}) {
		t.Error("mapping shared or SameConfig ignores it")
	}
	if _, err := NewOpusTrack(OpusConfig{}); !errors.Is(err, ErrInvalidCodecHeader) {
		t.Errorf("no channels: %v", err)
	}
}

// streamInfo44 is a STREAMINFO: 4096-sample blocks, 44.1 kHz, stereo, 16 bits.
var streamInfo44 = mustHex("10001000" + "000000" + "000000" + "0ac442f0" + "00000000" + "00000000000000000000000000000000")

// flacCases feed TestNewFLACTrack and the FuzzNewFLACTrack seeds.
var flacCases = []struct {
	name    string
	in      []byte
	wantErr error
}{
	{"bare block", streamInfo44, nil},
	{"with block header", append([]byte{0x80, 0, 0, 34}, streamInfo44...), nil},
	{"stream header", append([]byte("fLaC\x00\x00\x00\x22"), streamInfo44...), nil},
	{"short", streamInfo44[:33], ErrInvalidCodecHeader},
	{"rate 0", append(append(bytes.Clone(streamInfo44[:10]), 0, 0, 0x02, 0xf0), streamInfo44[14:]...), ErrInvalidCodecHeader},
	{"min block 15", append([]byte{0, 15, 0x10, 0}, streamInfo44[4:]...), ErrInvalidCodecHeader},
}

func TestNewFLACTrack(t *testing.T) {
	for _, c := range flacCases {
		tr, err := NewFLACTrack(c.in)
		if !errors.Is(err, c.wantErr) {
			t.Fatalf("%s: err = %v, want %v", c.name, err, c.wantErr)
		}
		if err == nil && (tr.ClockRate != 44100 || tr.ChannelCount != 2 || tr.FLAC.BitDepth != 16 || tr.FLAC.MaxBlockSize != 4096) {
			t.Fatalf("%s: track %+v %+v", c.name, tr, tr.FLAC)
		}
	}
}

// av1SeqHdr is an SVT-AV1 320x240 sequence header OBU with obu_size.
var av1SeqHdr = mustHex("0a0b000000043cffbcfbf90040")

// av1Cases feed TestNewAV1Track and the FuzzNewAV1Track seeds.
var av1Cases = []struct {
	name    string
	in      []byte
	wantErr error
}{
	{"with obu_size", av1SeqHdr, nil},
	{"without obu_size", mustHex("08000000043cffbcfbf90040"), nil},
	{"with extension header and trailing OBU", append(mustHex("0e000b000000043cffbcfbf90040"), 0x12, 0), nil},
	{"temporal delimiter", mustHex("1200"), ErrInvalidVideoConfig},
	{"forbidden bit", mustHex("8a0b000000043cffbcfbf90040"), ErrInvalidVideoConfig},
	{"size past the end", mustHex("0a0c000000043cffbcfbf90040"), ErrInvalidVideoConfig},
	{"empty payload", mustHex("0a00"), ErrInvalidVideoConfig},
	{"bad leb128", mustHex("0a80"), ErrInvalidVideoConfig},
	{"garbage", mustHex("08ff"), ErrInvalidVideoConfig},
}

func TestNewAV1Track(t *testing.T) {
	for _, c := range av1Cases {
		tr, err := NewAV1Track(c.in)
		if !errors.Is(err, c.wantErr) {
			t.Fatalf("%s: err = %v, want %v", c.name, err, c.wantErr)
		}
		if err == nil && (tr.Width != 320 || tr.Height != 240 || tr.ClockRate != VideoClockRate ||
			!bytes.Equal(tr.AV1SequenceHeader, mustHex("08000000043cffbcfbf90040"))) {
			t.Fatalf("%s: track %+v %x", c.name, tr, tr.AV1SequenceHeader)
		}
	}
}

func TestNewVP9Track(t *testing.T) {
	c := VP9Config{Profile: 2, BitDepth: 10, ChromaSubsampling: 1, ColourPrimaries: 9}
	tr, err := NewVP9Track(c, 1920, 1080)
	if err != nil || tr.Width != 1920 || tr.VP9 == nil || *tr.VP9 != c {
		t.Fatalf("track %+v %v", tr, err)
	}
	other, _ := NewVP9Track(c, 1280, 720)
	c2 := c
	c2.MatrixCoefficients = 9
	third, _ := NewVP9Track(c2, 1920, 1080)
	if tr.SameConfig(other) || tr.SameConfig(third) {
		t.Error("SameConfig ignores the size or the VP9 configuration")
	}
	for _, bad := range []VP9Config{{Profile: 4, BitDepth: 8}, {BitDepth: 9}, {BitDepth: 8, ChromaSubsampling: 4}} {
		if _, err := NewVP9Track(bad, 16, 16); !errors.Is(err, ErrInvalidVideoConfig) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := NewVP9Track(c, 0, 16); !errors.Is(err, ErrInvalidVideoConfig) {
		t.Errorf("no size: %v", err)
	}
}

func frameOf(size int, header ...byte) []byte {
	b := make([]byte, size)
	copy(b, header)
	return b
}

// Synthetic syncframe headers (zero-padded to their size).
var (
	// AC-3: 48 kHz, frmsizecod 8 (64 kbit/s, 256 bytes), bsid 8, bsmod 0, acmod 2.
	ac3Frame = frameOf(256, 0x0b, 0x77, 0, 0, 0x08, 0x40, 0x40, 0)
	// AC-3 5.1: acmod 7 with cmixlev and surmixlev, LFE on.
	ac3Frame51 = frameOf(256, 0x0b, 0x77, 0, 0, 0x08, 0x40, 0xe1, 0)
	// E-AC-3: independent, frmsiz 383 (768 bytes), 48 kHz, 6 blocks, acmod 2, bsid 16.
	eac3Frame = frameOf(768, 0x0b, 0x77, 0x01, 0x7f, 0x34, 0x80, 0, 0)
	// E-AC-3 dependent substream (strmtyp 1) of 64 bytes.
	eac3Dep = frameOf(64, 0x0b, 0x77, 0x40, 0x1f, 0x34, 0x80, 0, 0)
	// MPEG-1 Layer III 128 kbit/s 44.1 kHz mono (417 bytes).
	mp3Frame = frameOf(417, 0xff, 0xfb, 0x90, 0xc4)
	// MPEG-2 Layer III 64 kbit/s 24 kHz (192 bytes, 576 samples).
	mp3Frame24 = frameOf(192, 0xff, 0xf3, 0x84, 0x44)
)

// audioFrameCases feed TestAudioFrameHeaders, TestFrameSamples and the
// FuzzAudioFrames seeds.
var audioFrameCases = []struct {
	name    string
	codec   Codec
	rate    int
	frame   []byte
	samples int64
}{
	{"AC-3", CodecAC3, 48000, ac3Frame, 1536},
	{"AC-3 two frames", CodecAC3, 48000, append(bytes.Clone(ac3Frame), ac3Frame...), 3072},
	{"AC-3 5.1", CodecAC3, 48000, ac3Frame51, 1536},
	{"AC-3 cut", CodecAC3, 48000, ac3Frame[:200], 0},
	{"E-AC-3", CodecEAC3, 48000, eac3Frame, 1536},
	{"E-AC-3 with dependent substream", CodecEAC3, 48000, append(bytes.Clone(eac3Frame), eac3Dep...), 1536},
	{"MP3", CodecMP3, 44100, mp3Frame, 1152},
	{"MP3 24 kHz", CodecMP3, 24000, mp3Frame24, 576},
	{"MP3 with junk", CodecMP3, 44100, append(bytes.Clone(mp3Frame), 1, 2, 3), 0},
	{"MPEG-2.5", CodecMP3, 11025, frameOf(100, 0xff, 0xe3, 0x84, 0x44), 0},
	{"Opus 20 ms", CodecOpus, 48000, []byte{0xfc, 1}, 960},
	{"Opus 3 x 20 ms", CodecOpus, 48000, []byte{0xff, 3}, 2880},
	{"Opus 63 frames", CodecOpus, 48000, []byte{0xff, 63}, 0},
	{"FLAC", CodecFLAC, 44100, []byte{0xff, 0xf8, 0x69}, 0},
}

func TestAudioFrameHeaders(t *testing.T) {
	c, size, err := ParseAC3Frame(ac3Frame)
	if err != nil || size != 256 || c.SampleRate() != 48000 || c.ChannelCount() != 2 || c.BitRateCode != 4 || c.Bsid != 8 {
		t.Fatalf("AC-3 %+v %d %v", c, size, err)
	}
	tr, err := NewAC3Track(c)
	if err != nil || tr.ClockRate != 48000 || tr.ChannelCount != 2 || *tr.AC3 != c {
		t.Fatalf("AC-3 track %+v %v", tr, err)
	}
	if c, _, _ := ParseAC3Frame(ac3Frame51); c.ChannelCount() != 6 || !c.LfeOn {
		t.Errorf("AC-3 5.1 %+v", c)
	}
	e, size, err := ParseEAC3Frame(eac3Frame)
	if err != nil || size != 768 || e.SampleRate != 48000 || e.Blocks != 6 || e.ChannelCount() != 2 || e.DataRate != 192 {
		t.Fatalf("E-AC-3 %+v %d %v", e, size, err)
	}
	if tr, err := NewEAC3Track(e); err != nil || tr.ClockRate != 48000 {
		t.Fatalf("E-AC-3 track %+v %v", tr, err)
	}
	d, _, _ := ParseEAC3Frame(eac3Dep)
	if _, err := NewEAC3Track(d); !errors.Is(err, ErrInvalidCodecHeader) {
		t.Errorf("dependent substream track: %v", err)
	}
	e2 := e
	e2.DataRate = 96
	if !e.SameStream(e2) {
		t.Error("SameStream compares the data rate")
	}
	m, size, samples, err := ParseMPEGAudioFrame(mp3Frame)
	if err != nil || size != 417 || samples != 1152 || m.SampleRate != 44100 || m.Layer != 3 || m.ChannelCount() != 1 {
		t.Fatalf("MP3 %+v %d %d %v", m, size, samples, err)
	}
	if tr, err := NewMPEGAudioTrack(m); err != nil || tr.Codec != CodecMP3 || tr.ClockRate != 44100 {
		t.Fatalf("MP3 track %+v %v", tr, err)
	}
	for _, bad := range [][]byte{nil, {0x0b, 0x77}, {0xff, 0xe3, 0x84, 0x44}, {0xff, 0xf9, 0x90, 0}, {0xff, 0xfb, 0xf0, 0}, {0xff, 0xfb, 0x0c, 0}} {
		if _, _, _, err := ParseMPEGAudioFrame(bad); !errors.Is(err, ErrInvalidCodecHeader) {
			t.Errorf("MPEG audio %x: %v", bad, err)
		}
		if _, _, err := ParseAC3Frame(bad); !errors.Is(err, ErrInvalidCodecHeader) {
			t.Errorf("AC-3 %x: %v", bad, err)
		}
	}
}

func TestFrameSamples(t *testing.T) {
	for _, c := range audioFrameCases {
		tr := &Track{Codec: c.codec, ClockRate: c.rate, SampleRate: c.rate}
		if got := frameSamples(tr, c.frame); got != c.samples {
			t.Errorf("%s: %d samples, want %d", c.name, got, c.samples)
		}
	}
}

// Audio codecs with countable frames get sample-exact timestamps; FLAC
// follows the RTMP clock.
func TestAudioSampleClock(t *testing.T) {
	r, sink, _ := newTestRemuxer(t)
	opus, err := NewOpusTrack(OpusConfig{Version: 1, ChannelCount: 2})
	must(t, err)
	must(t, r.SetTrack(opus))
	ac3, err := NewAC3Track(AC3Config{Bsid: 8, Acmod: 2})
	must(t, err)
	ac3.SourceID = 1
	must(t, r.SetTrack(ac3))
	for i := range 5 {
		// 21 ms RTMP steps around 20 ms packets: jitter below the resync bound.
		must(t, r.WriteAudio(0, uint32(i*21), []byte{0xfc, byte(i)}))
		must(t, r.WriteAudio(1, uint32(i*32), ac3Frame))
	}
	for i, s := range sink.byTrack(1) {
		if s.DTS != int64(i*960) {
			t.Errorf("Opus frame %d: DTS %d", i, s.DTS)
		}
	}
	for i, s := range sink.byTrack(2) {
		if s.DTS != int64(i*1536) {
			t.Errorf("AC-3 frame %d: DTS %d", i, s.DTS)
		}
	}
}

// WriteFrame carries video payloads (AV1, VP9) and applies sub-millisecond
// offsets, buffered or not.
func TestWriteFrame(t *testing.T) {
	r, sink, _ := newTestRemuxer(t)
	r.Announce(KindVideo, KindAudio)
	av1, err := NewAV1Track(av1SeqHdr)
	must(t, err)
	must(t, r.SetTrack(av1))
	// Buffered while the announced audio track is missing.
	must(t, r.WriteFrame(&Frame{Kind: KindVideo, TS: 1000, OffsetNano: 333333, Key: true, Payload: []byte{1, 2}}))
	must(t, r.WriteFrame(&Frame{Kind: KindVideo, TS: 1033, OffsetNano: 666666, Payload: []byte{3}}))
	opus, _ := NewOpusTrack(OpusConfig{Version: 1, ChannelCount: 1})
	must(t, r.SetTrack(opus))
	must(t, r.WriteFrame(&Frame{Kind: KindVideo, TS: 1066, OffsetNano: 999999 + 5, Payload: []byte{4}}))
	must(t, r.WriteFrame(&Frame{Kind: KindAudio, TS: 1066, OffsetNano: 500000, Payload: []byte{0xfc}}))
	must(t, r.WriteFrame(&Frame{Kind: KindVideo, TS: 1100}))                              // empty: ignored
	if err := r.WriteFrame(&Frame{Kind: KindUnknown}); !errors.Is(err, ErrInvalidTrack) { // no such kind
		t.Errorf("unknown kind: %v", err)
	}
	v := sink.byTrack(1)
	// 0.333333 ms is 29.99997 ticks (floor 29), 33.666666 ms 3029; the last
	// offset is clamped to 999999 ns (66.999999 ms, not 67.000004 ms).
	if len(v) != 3 || v[0].DTS != 29 || v[1].DTS != 3029 || v[2].DTS != 6029 || !bytes.Equal(v[1].Payload, []byte{3}) ||
		v[1].NALUs != nil || !v[0].Key || v[1].Key {
		t.Fatalf("video %s", describe(v))
	}
	if a := sink.byTrack(2); len(a) != 1 || a[0].DTS != 66*48+24 {
		t.Fatalf("audio %s", describe(a))
	}
}

func TestChannelLayout(t *testing.T) {
	tr := aacTrack(t, asc48stereo)
	l := &ChannelLayout{Order: ChannelOrderCustom, Count: 2, Mapping: []byte{1, 0}}
	nt := tr.WithChannelLayout(l)
	l.Mapping[0] = 9
	if tr.ChannelLayout != nil || nt.ChannelLayout.Mapping[0] != 1 || tr.SameConfig(nt) || !nt.SameConfig(nt.WithChannelLayout(nt.ChannelLayout)) {
		t.Fatal("WithChannelLayout")
	}
	if nt.WithChannelLayout(nil).ChannelLayout != nil || !(*ChannelLayout)(nil).Equal(nil) {
		t.Error("removing the layout")
	}
}

func TestColorInfoEqual(t *testing.T) {
	a := &ColorInfo{BitDepth: 10, ColorPrimaries: 9, Mastering: &MasteringDisplay{RedX: 0.7}}
	b := &ColorInfo{BitDepth: 10, ColorPrimaries: 9, Mastering: &MasteringDisplay{RedX: 0.7}}
	if !a.Equal(b) || a.Equal(nil) || !(*ColorInfo)(nil).Equal(nil) {
		t.Error("Equal")
	}
	b.Mastering.RedX = 0.6
	if a.Equal(b) {
		t.Error("Equal ignores the mastering display")
	}
	// ColorInfo is a hint: not a configuration change.
	v1, v2 := h264Track(t, sps320), h264Track(t, sps320)
	v2.ColorInfo = a
	if !v1.SameConfig(v2) {
		t.Error("SameConfig compares ColorInfo")
	}
}
