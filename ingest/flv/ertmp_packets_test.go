package flv

import (
	"bytes"
	"testing"

	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
	"github.com/livegate/gateway/remux"
)

// hevc NAL units for synthetic access units.
var (
	hevcIDR   = []byte{0x26, 0x01, 0xaf, 0x00}
	hevcTrail = []byte{0x02, 0x01, 0xd0, 0x00}
)

func hvc1(pt byte, frameType byte, body []byte) []byte {
	return vmsg(ertmp.Header{FrameType: frameType, PacketType: pt, FourCC: ertmp.HEVC}, body)
}

// Every VideoPacketType of a single-track hvc1 stream.
func TestERTMPVideoPacketTypes(t *testing.T) {
	f := newFixture(t)
	f.video(t, 0, vmsg(ertmp.Header{PacketType: ertmp.VideoMetadata, FourCC: ertmp.HEVC}, colorInfoAMF(t, hdr10)))
	f.video(t, 0, hvc1(ertmp.VideoSequenceStart, 1, hevcRecord(4, hevcVPS, hevcSPS, hevcPPS)))
	f.video(t, 0, hvc1(ertmp.VideoCodedFrames, 1, ertmp.CodedFramesBody(67, lengthPrefixed(4, hevcIDR))))
	f.video(t, 33, hvc1(ertmp.VideoCodedFrames, 2, ertmp.CodedFramesBody(-33, lengthPrefixed(4, hevcTrail))))
	f.video(t, 67, hvc1(ertmp.VideoCodedFramesX, 2, lengthPrefixed(4, hevcTrail)))
	f.video(t, 67, vmsg(ertmp.Header{FrameType: ertmp.FrameCommand, PacketType: ertmp.VideoCodedFrames, Command: 0}, nil))
	f.video(t, 100, vmsg(ertmp.Header{FrameType: 2, PacketType: ertmp.VideoCodedFramesX, FourCC: ertmp.HEVC, NanoOffset: 500000,
		ModEx: []ertmp.ModEx{{Type: 9, Data: []byte{1, 2}}}}, lengthPrefixed(4, hevcTrail)))
	f.video(t, 100, hvc1(ertmp.VideoSequenceEnd, 1, nil))
	f.video(t, 100, hvc1(ertmp.VideoMPEG2TSSequenceStart, 1, []byte{0x80}))
	f.video(t, 100, hvc1(ertmp.VideoMPEG2TSSequenceStart, 1, []byte{0x80}))
	f.video(t, 100, hvc1(9, 1, nil)) // reserved packet type
	tr := f.trackOf(remux.KindVideo, 0)
	if tr == nil || tr.Codec != remux.CodecH265 || tr.ColorInfo == nil || tr.ColorInfo.MatrixCoefficients != 9 {
		t.Fatalf("track %+v", tr)
	}
	s := f.sink.samples
	want := []struct{ dts, pts int64 }{{0, 67 * 90}, {33 * 90, 0}, {67 * 90, 67 * 90}, {100*90 + 45, 100*90 + 45}}
	if len(s) != len(want) || !s[0].Key || s[1].Key {
		t.Fatalf("samples %+v", s)
	}
	for i, w := range want {
		if s[i].DTS != w.dts || s[i].PTS != w.pts {
			t.Errorf("sample %d: dts %d pts %d, want %d %d", i, s[i].DTS, s[i].PTS, w.dts, w.pts)
		}
	}
	st := f.d.Stats()
	if st.Malformed != 1 || st.Unsupported != 2 || f.logs.count("MPEG2TSSequenceStart") != 1 ||
		f.logs.count("video command frame") != 1 || f.logs.count("unknown E-RTMP ModEx") != 1 {
		t.Errorf("stats %+v\n%s", st, f.logs)
	}
}

// avc1 through E-RTMP behaves like legacy AVC, on track 0.
func TestERTMPAVC(t *testing.T) {
	f := newFixture(t)
	avc1 := func(pt, ft byte, body []byte) []byte {
		return vmsg(ertmp.Header{FrameType: ft, PacketType: pt, FourCC: ertmp.AVC}, body)
	}
	f.video(t, 0, avc1(ertmp.VideoSequenceStart, 1, x264Record))
	f.video(t, 0, avc1(ertmp.VideoCodedFrames, 1, ertmp.CodedFramesBody(40, lengthPrefixed(4, aud, idrNAL))))
	f.video(t, 40, avc1(ertmp.VideoCodedFramesX, 2, lengthPrefixed(4, pNAL)))
	// Legacy frames on the same track continue it.
	f.video(t, 80, videoTag(2, 7, 1, 0, lengthPrefixed(4, pNAL)))
	s := f.sink.samples
	if len(f.sink.sets) != 1 || len(s) != 3 || s[0].PTS != 40*90 || !s[0].Key || len(s[0].NALUs) != 1 || s[2].DTS != 80*90 {
		t.Fatalf("sets %d samples %+v", len(f.sink.sets), s)
	}
}

func TestERTMPAV1Synthetic(t *testing.T) {
	f := newFixture(t)
	av01 := func(pt, ft byte, body []byte) []byte {
		return vmsg(ertmp.Header{FrameType: ft, PacketType: pt, FourCC: ertmp.AV1}, body)
	}
	f.video(t, 0, av01(ertmp.VideoCodedFrames, 2, av1IntTU)) // before any configuration: dropped by remux
	f.video(t, 0, av01(ertmp.VideoSequenceStart, 1, av1C))
	f.video(t, 0, av01(ertmp.VideoCodedFrames, 1, av1KeyTU))
	f.video(t, 33, av01(ertmp.VideoCodedFramesX, 2, av1IntTU))
	f.video(t, 67, av01(ertmp.VideoCodedFrames, 1, cat(av1TD, av1KeyOBU)))                    // key frame without sequence header
	f.video(t, 80, av01(ertmp.VideoCodedFrames, 2, cat(av1TD, av1SeqHdr, av1IntOBU)))         // repeated sequence header: not key
	f.video(t, 90, av01(ertmp.VideoCodedFrames, 1, cat(av1TD, av1SeqHdr, mustHex("320104")))) // hidden KEY_FRAME
	f.video(t, 95, av01(ertmp.VideoCodedFrames, 2, mustHex("320104")))                        // hidden KEY_FRAME alone
	f.video(t, 100, av01(ertmp.VideoCodedFrames, 2, av1TD))                                   // temporal delimiter only
	f.video(t, 100, av01(ertmp.VideoCodedFrames, 2, cat(av1TD, []byte{0x32, 9})))
	if len(f.sink.sets) != 1 {
		t.Fatalf("%d SetTracks (a repeated sequence header is no change)", len(f.sink.sets))
	}
	tr := f.sink.sets[0][0]
	if tr.Codec != remux.CodecAV1 || tr.Width != 320 || tr.Height != 240 || !bytes.Equal(tr.AV1SequenceHeader, mustHex("08000000043cffbcfbf90040")) {
		t.Fatalf("track %+v %x", tr, tr.AV1SequenceHeader)
	}
	s := f.sink.samples
	if len(s) != 6 || !s[0].Key || s[1].Key || !s[2].Key || s[3].Key || !s[4].Key || s[5].Key ||
		!bytes.Equal(s[0].Payload, cat(av1SeqHdr, av1KeyOBU)) || !bytes.Equal(s[1].Payload, av1IntOBU) {
		t.Fatalf("samples %+v", s)
	}
	if st := f.d.Stats(); st.Malformed != 1 || f.r.Stats().DroppedNoConfig != 1 {
		t.Errorf("stats %+v %+v", st, f.r.Stats())
	}
}

// An AV1 stream without configuration record is configured in-band, and
// a new sequence header in-band is a new generation.
func TestERTMPAV1InBand(t *testing.T) {
	f := newFixture(t)
	av01 := func(body []byte) []byte {
		return vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoCodedFrames, FourCC: ertmp.AV1}, body)
	}
	f.video(t, 0, vmsg(ertmp.Header{PacketType: ertmp.VideoSequenceStart, FourCC: ertmp.AV1}, av1C[:4]))
	f.video(t, 0, av01(av1KeyTU))
	other := bytes.Clone(av1SeqHdr)
	other[6] ^= 0x01 // another sequence header
	f.video(t, 33, av01(cat(av1TD, other, av1KeyOBU)))
	if len(f.sink.sets) != 2 || f.sink.sets[1][0].Generation != 1 || len(f.sink.samples) != 2 {
		t.Fatalf("sets %v samples %d", f.sink.sets, len(f.sink.samples))
	}
}

func TestERTMPVP9Synthetic(t *testing.T) {
	f := newFixture(t)
	vp09 := func(pt, ft byte, body []byte) []byte {
		return vmsg(ertmp.Header{FrameType: ft, PacketType: pt, FourCC: ertmp.VP9}, body)
	}
	f.video(t, 0, vp09(ertmp.VideoSequenceStart, 1, vpcC))
	f.video(t, 0, vp09(ertmp.VideoCodedFrames, 2, vp9Inter)) // before a key frame: no configuration yet
	f.video(t, 0, vp09(ertmp.VideoCodedFrames, 1, vp9Key))
	f.video(t, 33, vp09(ertmp.VideoCodedFramesX, 2, vp9Inter))
	f.video(t, 67, vp09(ertmp.VideoCodedFrames, 1, vp9Key)) // same configuration
	f.video(t, 100, vp09(ertmp.VideoCodedFrames, 1, []byte{0x40}))
	if len(f.sink.sets) != 1 {
		t.Fatalf("%d SetTracks", len(f.sink.sets))
	}
	tr := f.sink.sets[0][0]
	// Level and colour from the record, the rest from the key frame.
	if tr.Codec != remux.CodecVP9 || tr.Width != 320 || tr.Height != 240 || tr.VP9 == nil ||
		*tr.VP9 != (remux.VP9Config{Level: 31, BitDepth: 8, ChromaSubsampling: 1, ColourPrimaries: 1, TransferCharacteristics: 1, MatrixCoefficients: 1}) {
		t.Fatalf("track %+v %+v", tr, tr.VP9)
	}
	s := f.sink.samples
	if len(s) != 3 || !s[0].Key || s[1].Key || !s[2].Key || !bytes.Equal(s[1].Payload, vp9Inter) {
		t.Fatalf("samples %+v", s)
	}
	if st := f.d.Stats(); st.Malformed != 1 || f.r.Stats().DroppedNoConfig != 1 {
		t.Errorf("stats %+v %+v", st, f.r.Stats())
	}
}

func TestERTMPAudioPacketTypes(t *testing.T) {
	f := newFixture(t)
	opus := func(pt byte, body []byte) []byte {
		return amsg(ertmp.Header{PacketType: pt, FourCC: ertmp.Opus}, body)
	}
	f.audio(t, 0, opus(ertmp.AudioMultichannelConfig, []byte{1, 2, 0, 0, 0, 3}))
	f.audio(t, 0, opus(ertmp.AudioSequenceStart, opusHead))
	f.audio(t, 0, opus(ertmp.AudioSequenceStart, []byte("OpusTags\x00\x00\x00\x00")))
	f.audio(t, 0, opus(ertmp.AudioCodedFrames, []byte{0xfc, 1})) // 20 ms CELT FB
	f.audio(t, 20, opus(ertmp.AudioCodedFrames, []byte{0xfc, 2}))
	f.audio(t, 40, amsg(ertmp.Header{PacketType: ertmp.AudioCodedFrames, FourCC: ertmp.Opus, NanoOffset: 250000}, []byte{0xfc, 3}))
	f.audio(t, 40, opus(ertmp.AudioSequenceEnd, nil))
	f.audio(t, 40, nil)          // "audio silence" message
	f.audio(t, 40, opus(3, nil)) // reserved
	// AAC on the Opus track:
	f.audio(t, 60, amsg(ertmp.Header{PacketType: ertmp.AudioCodedFrames, FourCC: ertmp.AAC}, []byte{0x21, 0}))
	f.audio(t, 60, opus(ertmp.AudioSequenceStart, opusHead[:10]))
	tr := f.trackOf(remux.KindAudio, 0)
	if tr == nil || tr.Codec != remux.CodecOpus || tr.ChannelCount != 2 || tr.Opus.PreSkip != 312 || tr.Opus.InputSampleRate != 48000 ||
		tr.ChannelLayout == nil || tr.ChannelLayout.Mask != 3 {
		t.Fatalf("track %+v", tr)
	}
	s := f.sink.samples
	if len(s) != 3 || s[1].DTS != 960 || s[2].DTS != 1920 {
		t.Fatalf("samples %+v", s)
	}
	// A layout change after the start is a new generation.
	f.audio(t, 60, opus(ertmp.AudioMultichannelConfig, []byte{2, 2, 1, 0}))
	if tr := f.sink.lastSet()[0]; tr.Generation != 1 || tr.ChannelLayout.Order != remux.ChannelOrderCustom {
		t.Fatalf("after MultichannelConfig: %+v", tr)
	}
	if st := f.d.Stats(); st.Malformed != 3 {
		t.Errorf("stats %+v\n%s", st, f.logs)
	}
}

func TestERTMPFLAC(t *testing.T) {
	f := newFixture(t)
	// STREAMINFO: 4096-sample blocks, 44.1 kHz, 2 channels, 16 bits.
	si := mustHex("10001000" + "000000" + "000000" + "0ac44" + "2f0" + "00000000" + "00000000000000000000000000000000")
	flac := func(pt byte, body []byte) []byte { return amsg(ertmp.Header{PacketType: pt, FourCC: ertmp.FLAC}, body) }
	f.audio(t, 0, flac(ertmp.AudioSequenceStart, cat([]byte("fLaC"), []byte{0x80, 0, 0, 34}, si)))
	f.audio(t, 0, flac(ertmp.AudioCodedFrames, []byte{0xff, 0xf8, 1}))
	f.audio(t, 93, flac(ertmp.AudioCodedFrames, []byte{0xff, 0xf8, 2}))
	tr := f.trackOf(remux.KindAudio, 0)
	if tr == nil || tr.Codec != remux.CodecFLAC || tr.ClockRate != 44100 || tr.ChannelCount != 2 || tr.FLAC == nil {
		t.Fatalf("track %+v", tr)
	}
	if s := f.sink.samples; len(s) != 2 || s[1].DTS != 93*441/10 {
		t.Fatalf("samples %+v", s)
	}
}

// Multitrack layouts with hostile track lists.
func TestERTMPMultitrackEdges(t *testing.T) {
	f := newFixture(t)
	rec := hevcRecord(4, hevcVPS, hevcSPS, hevcPPS)
	start := ertmp.Header{FrameType: 1, PacketType: ertmp.VideoSequenceStart, FourCC: ertmp.HEVC, Multitrack: true, MultitrackType: ertmp.ManyTracks}
	var tracks []ertmp.TrackBody
	for id := range MaxTracks + 2 {
		tracks = append(tracks, ertmp.TrackBody{ID: uint8(id + 1), Body: rec})
	}
	f.video(t, 0, vmsg(start, nil, tracks...))
	if n := len(f.d.videos); n != MaxTracks {
		t.Fatalf("%d video tracks", n)
	}
	if f.logs.count("too many E-RTMP tracks") != 2 { // 1st and 2nd refusal
		t.Errorf("logs:\n%s", f.logs)
	}
	// A bad size after a good track: the first is handled, the rest dropped.
	frames := vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoCodedFramesX, FourCC: ertmp.HEVC, Multitrack: true, MultitrackType: ertmp.ManyTracks},
		nil, ertmp.TrackBody{ID: 1, Body: lengthPrefixed(4, hevcIDR)})
	frames = append(frames, 2, 0, 1, 0) // track 2 announcing 256 bytes
	f.video(t, 0, frames)
	if len(f.sink.samples) != 1 || f.d.Stats().Malformed != 1 {
		t.Fatalf("samples %d stats %+v", len(f.sink.samples), f.d.Stats())
	}
	// Multitrack without any track.
	f.video(t, 0, []byte{0x96, 0x10, 'h', 'v', 'c', '1'})
	// ManyTracksManyCodecs with an unsupported codec next to a supported one.
	f.video(t, 33, vmsg(ertmp.Header{FrameType: 2, PacketType: ertmp.VideoCodedFramesX, Multitrack: true, MultitrackType: ertmp.ManyTracksManyCodecs}, nil,
		ertmp.TrackBody{FourCC: ertmp.VP8, ID: 9, Body: []byte{1}},
		ertmp.TrackBody{FourCC: ertmp.HEVC, ID: 1, Body: lengthPrefixed(4, hevcTrail)}))
	if len(f.sink.samples) != 2 || f.d.Stats().Malformed != 2 || f.logs.count("unsupported E-RTMP codec") != 1 {
		t.Fatalf("samples %d stats %+v\n%s", len(f.sink.samples), f.d.Stats(), f.logs)
	}
}

func TestERTMPSelfDescribingAudioSynthetic(t *testing.T) {
	// AC-3 syncframe header: 48 kHz, frmsizecod 8 (64 kbit/s, 256 bytes),
	// bsid 8, acmod 2 (stereo).
	ac3 := make([]byte, 256)
	copy(ac3, []byte{0x0b, 0x77, 0, 0, 0x08, 0x40, 0x40, 0})
	f := newFixture(t)
	a := func(body []byte) []byte {
		return amsg(ertmp.Header{PacketType: ertmp.AudioCodedFrames, FourCC: ertmp.AC3}, body)
	}
	f.audio(t, 0, amsg(ertmp.Header{PacketType: ertmp.AudioSequenceStart, FourCC: ertmp.AC3}, nil))
	f.audio(t, 0, a(ac3))
	f.audio(t, 32, a(cat(ac3, ac3))) // two syncframes: 64 ms
	f.audio(t, 96, a(ac3))
	f.audio(t, 128, a([]byte{0x0b, 0x77, 0})) // truncated header
	tr := f.trackOf(remux.KindAudio, 0)
	if tr == nil || tr.Codec != remux.CodecAC3 || tr.ChannelCount != 2 || tr.ClockRate != 48000 || tr.AC3.BitRateCode != 4 {
		t.Fatalf("track %+v", tr)
	}
	s := f.sink.samples
	if len(f.sink.sets) != 1 || len(s) != 3 || s[1].DTS != 1536 || s[2].DTS != 3*1536 || f.d.Stats().Malformed != 1 {
		t.Fatalf("sets %d samples %+v stats %+v", len(f.sink.sets), s, f.d.Stats())
	}
}

func TestDemuxerMetadataFourCC(t *testing.T) {
	f := newFixture(t)
	if err := f.d.Metadata(map[string]any{"videocodecid": float64(FourCCHEVC), "audiocodecid": float64(FourCCOpus)}); err != nil {
		t.Fatal(err)
	}
	f.video(t, 0, hvc1(ertmp.VideoSequenceStart, 1, hevcRecord(4, hevcVPS, hevcSPS, hevcPPS)))
	f.video(t, 0, hvc1(ertmp.VideoCodedFramesX, 1, lengthPrefixed(4, hevcIDR)))
	if len(f.sink.sets) != 0 {
		t.Fatal("started before the announced Opus track was configured")
	}
	f.audio(t, 0, amsg(ertmp.Header{PacketType: ertmp.AudioSequenceStart, FourCC: ertmp.Opus}, opusHead))
	if len(f.sink.sets) != 1 || len(f.sink.sets[0]) != 2 {
		t.Fatalf("sets %v", f.sink.sets)
	}
	f2 := newFixture(t)
	_ = f2.d.Metadata(map[string]any{"videocodecid": 7.0, "audiocodecid": float64(MakeFourCC("ac-4"))})
	f2.video(t, 0, videoTag(1, 7, 0, 0, x264Record))
	if len(f2.sink.sets) != 1 { // AC-4 is not supported: nothing to wait for
		t.Fatalf("%d SetTracks", len(f2.sink.sets))
	}
}

// The E-RTMP steady state allocates nothing per message: multitrack HEVC
// renditions with nano offsets, AV1, VP9 (key frames included) and Opus.
func TestERTMPZeroAllocs(t *testing.T) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	rec := hevcRecord(4, hevcVPS, hevcSPS, hevcPPS)
	many := func(pt, ft byte, nano uint32, b0, b1 []byte) []byte {
		return vmsg(ertmp.Header{FrameType: ft, PacketType: pt, FourCC: ertmp.HEVC, NanoOffset: nano, Multitrack: true, MultitrackType: ertmp.ManyTracks}, nil,
			ertmp.TrackBody{ID: 0, Body: b0}, ertmp.TrackBody{ID: 1, Body: b1})
	}
	videos := [][]byte{
		many(ertmp.VideoSequenceStart, 1, 0, rec, rec),
		vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoSequenceStart, FourCC: ertmp.AV1, Multitrack: true, MultitrackType: ertmp.OneTrack}, nil,
			ertmp.TrackBody{ID: 2, Body: av1C}),
		vmsg(ertmp.Header{FrameType: 1, PacketType: ertmp.VideoSequenceStart, FourCC: ertmp.VP9, Multitrack: true, MultitrackType: ertmp.OneTrack}, nil,
			ertmp.TrackBody{ID: 3, Body: vpcC}),
	}
	for _, m := range videos {
		if err := d.Video(0, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Audio(0, amsg(ertmp.Header{PacketType: ertmp.AudioSequenceStart, FourCC: ertmp.Opus}, opusHead)); err != nil {
		t.Fatal(err)
	}
	key := many(ertmp.VideoCodedFrames, 1, 333333, ertmp.CodedFramesBody(67, lengthPrefixed(4, hevcVPS, hevcSPS, hevcPPS, hevcIDR)),
		ertmp.CodedFramesBody(67, lengthPrefixed(4, hevcIDR)))
	inter := many(ertmp.VideoCodedFrames, 2, 666666, ertmp.CodedFramesBody(-33, lengthPrefixed(4, hevcTrail)),
		ertmp.CodedFramesBody(-33, lengthPrefixed(4, hevcTrail)))
	one := func(f string, id uint8, body []byte) []byte {
		return vmsg(ertmp.Header{FrameType: 2, PacketType: ertmp.VideoCodedFramesX, FourCC: f, Multitrack: true, MultitrackType: ertmp.OneTrack}, nil,
			ertmp.TrackBody{ID: id, Body: body})
	}
	av1Key, av1Inter, vp9K, vp9I := one(ertmp.AV1, 2, av1KeyTU), one(ertmp.AV1, 2, av1IntTU), one(ertmp.VP9, 3, vp9Key), one(ertmp.VP9, 3, vp9Inter)
	opusFrame := amsg(ertmp.Header{PacketType: ertmp.AudioCodedFrames, FourCC: ertmp.Opus, NanoOffset: 1}, []byte{0xfc, 1, 2})
	if err := d.Video(0, vp9K); err != nil { // configures the VP9 track
		t.Fatal(err)
	}
	var ts uint32
	n := testing.AllocsPerRun(500, func() {
		ts += 20
		k := ts%200 == 0
		for _, m := range [][]byte{pick(k, key, inter), pick(k, av1Key, av1Inter), pick(k, vp9K, vp9I)} {
			if err := d.Video(ts, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Audio(ts, opusFrame); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per E-RTMP message set", n)
	}
	if st := d.Stats(); st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func pick(c bool, a, b []byte) []byte {
	if c {
		return a
	}
	return b
}
