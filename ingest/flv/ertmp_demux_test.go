package flv

import (
	"bytes"
	"testing"

	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
	"github.com/livegate/gateway/remux"
)

// halfMs90k is the PTS error of a composition offset rounded to whole
// milliseconds, in 90 kHz ticks (plus one for rounding).
const halfMs90k = 46

// E-RTMP HEVC + Opus, single track, with TimestampOffsetNano: the DTS of
// 30 fps video (33.333 ms steps) must reach the track clock exactly.
func TestERTMPHEVCOpus(t *testing.T) {
	t.Parallel()
	video, audio := hevcTrack(t, "320x240"), opusTrack(t)
	for _, nano := range []bool{false, true} {
		f := feed(t, ertmp.Messages(ertmp.Single, ertmp.Options{NanoOffsets: nano, CodedFramesX: true}, video, audio))
		v, a := f.trackOf(remux.KindVideo, 0), f.trackOf(remux.KindAudio, 0)
		if v == nil || v.Codec != remux.CodecH265 || v.Width != 320 || v.Height != 240 || len(v.VPS) == 0 {
			t.Fatalf("video track %+v", v)
		}
		if a == nil || a.Codec != remux.CodecOpus || a.ClockRate != 48000 || a.ChannelCount != 2 || a.Opus == nil || a.Opus.PreSkip != 312 {
			t.Fatalf("audio track %+v (opus %+v)", a, a.Opus)
		}
		tol := int64(91) // a DTS floored to the millisecond
		if nano {
			tol = halfMs90k // only the CTS is rounded
		}
		vs := f.samplesOf(v.ID)
		checkTiming(t, "HEVC", vs, video.Frames, 90000, tol)
		if nano {
			for i, s := range vs {
				if want := units(video.Frames[i].DTS, 90000) - units(video.Frames[0].DTS, 90000); s.DTS-vs[0].DTS != want {
					t.Fatalf("HEVC frame %d: DTS %d, want exactly %d", i, s.DTS-vs[0].DTS, want)
				}
			}
		}
		for _, s := range vs {
			for _, n := range s.NALUs {
				if typ := h265Type(n); typ == h265NALUVPS || typ == h265NALUSPS || typ == h265NALUPPS || typ == h265NALUAUD {
					t.Fatalf("NAL unit type %d left in a sample", typ)
				}
			}
		}
		checkTiming(t, "Opus", f.samplesOf(a.ID), audio.Frames, 48000, 0)
		if st := f.d.Stats(); st.Dropped != 0 {
			t.Errorf("nano %v: stats %+v\n%s", nano, st, f.logs)
		}
	}
}

func TestERTMPAV1(t *testing.T) {
	t.Parallel()
	video := av1Track(t, "320x240")
	f := feed(t, ertmp.Messages(ertmp.Single, ertmp.Options{NanoOffsets: true}, video))
	v := f.trackOf(remux.KindVideo, 0)
	if v == nil || v.Codec != remux.CodecAV1 || v.Width != 320 || v.Height != 240 || len(v.AV1SequenceHeader) == 0 {
		t.Fatalf("video track %+v", v)
	}
	if v.AV1SequenceHeader[0]&0x06 != 0 {
		t.Errorf("stored sequence header keeps a size field or extension: %x", v.AV1SequenceHeader[:2])
	}
	vs := f.samplesOf(v.ID)
	checkTiming(t, "AV1", vs, video.Frames, 90000, 1)
	for i, s := range vs {
		if len(s.Payload) == 0 || len(s.NALUs) != 0 {
			t.Fatalf("sample %d: payload %d bytes, %d NAL units", i, len(s.Payload), len(s.NALUs))
		}
		if typ := (s.Payload[0] >> 3) & 0x0f; typ == obuTemporalDelimiter {
			t.Fatalf("sample %d starts with a temporal delimiter", i)
		}
		if !bytes.HasSuffix(video.Frames[i].Data, s.Payload) {
			t.Fatalf("sample %d is not the temporal unit", i)
		}
	}
	if st := f.d.Stats(); st.Dropped != 0 {
		t.Errorf("stats %+v\n%s", st, f.logs)
	}
}

func TestERTMPVP9(t *testing.T) {
	t.Parallel()
	video := vp9Track(t, "320x240")
	f := feed(t, ertmp.Messages(ertmp.Single, ertmp.Options{}, video))
	v := f.trackOf(remux.KindVideo, 0)
	if v == nil || v.Codec != remux.CodecVP9 || v.Width != 320 || v.Height != 240 || v.VP9 == nil {
		t.Fatalf("video track %+v", v)
	}
	if c := *v.VP9; c.Profile != 0 || c.BitDepth != 8 || c.ChromaSubsampling != 1 || c.ColourPrimaries != 2 {
		t.Errorf("VP9 config %+v", c)
	}
	vs := f.samplesOf(v.ID)
	checkTiming(t, "VP9", vs, video.Frames, 90000, 91)
	for i, s := range vs {
		if !bytes.Equal(s.Payload, video.Frames[i].Data) {
			t.Fatalf("sample %d payload differs", i)
		}
	}
	if st := f.d.Stats(); st.Dropped != 0 || len(f.sink.sets) != 1 {
		t.Errorf("stats %+v, %d SetTracks\n%s", st, len(f.sink.sets), f.logs)
	}
}

// Self-describing audio codecs (no sequence start) and AAC under its
// FourCC: the first frame configures the track, frames are counted.
func TestERTMPAudioCodecs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		track    func(testing.TB) *ertmp.Track
		codec    remux.Codec
		rate, ch int
	}{
		{"mp4a", aacTrackMedia, remux.CodecAAC, 44100, 2},
		{"ac-3", func(t testing.TB) *ertmp.Track { return ac3Track(t, ertmp.AC3) }, remux.CodecAC3, 48000, 2},
		{"ec-3", func(t testing.TB) *ertmp.Track { return ac3Track(t, ertmp.EAC3) }, remux.CodecEAC3, 48000, 2},
		{".mp3", mp3Track, remux.CodecMP3, 44100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			audio := tc.track(t)
			f := feed(t, ertmp.Messages(ertmp.Single, ertmp.Options{NanoOffsets: true}, audio))
			a := f.trackOf(remux.KindAudio, 0)
			if a == nil || a.Codec != tc.codec || a.ClockRate != tc.rate || a.ChannelCount != tc.ch {
				t.Fatalf("track %+v", a)
			}
			checkTiming(t, tc.name, f.samplesOf(a.ID), audio.Frames, tc.rate, 0)
			if st := f.d.Stats(); st.Dropped != 0 || len(f.sink.sets) != 1 {
				t.Errorf("stats %+v, %d SetTracks\n%s", st, len(f.sink.sets), f.logs)
			}
		})
	}
}

// Two HEVC renditions and two audio tracks in every multitrack layout:
// each (kind, track id) is its own track with its own timing.
func TestERTMPMultitrack(t *testing.T) {
	t.Parallel()
	hi, lo := hevcTrack(t, "640x360"), hevcTrack(t, "320x240")
	opus, aac := opusTrack(t), aacTrackMedia(t)
	hi.ID, lo.ID, opus.ID, aac.ID = 0, 1, 0, 2
	for _, layout := range []ertmp.Layout{ertmp.LayoutOneTrack, ertmp.LayoutManyTracks, ertmp.LayoutManyTracksManyCodecs} {
		f := feed(t, ertmp.Messages(layout, ertmp.Options{NanoOffsets: true}, hi, lo, opus, aac))
		for _, w := range []struct {
			kind   remux.Kind
			source int
			codec  remux.Codec
			width  int
			src    *ertmp.Track
			rate   int
			tol    int64
		}{
			{remux.KindVideo, 0, remux.CodecH265, 640, hi, 90000, halfMs90k},
			{remux.KindVideo, 1, remux.CodecH265, 320, lo, 90000, halfMs90k},
			{remux.KindAudio, 0, remux.CodecOpus, 0, opus, 48000, 0},
			{remux.KindAudio, 2, remux.CodecAAC, 0, aac, 44100, 0},
		} {
			tr := f.trackOf(w.kind, w.source)
			if tr == nil || tr.Codec != w.codec || tr.Width != w.width {
				t.Fatalf("layout %d: track (%v, %d) = %+v", layout, w.kind, w.source, tr)
			}
			checkTiming(t, tr.Codec.String(), f.samplesOf(tr.ID), w.src.Frames, w.rate, w.tol)
		}
		if st := f.d.Stats(); st.Dropped != 0 || len(f.sink.lastSet()) != 4 {
			t.Errorf("layout %d: stats %+v, tracks %v\n%s", layout, st, f.sink.lastSet(), f.logs)
		}
	}
}

// Different codecs per track: HEVC, AV1 and VP9 renditions in one
// ManyTracksManyCodecs stream, with AC-3 and Opus audio.
func TestERTMPManyCodecs(t *testing.T) {
	t.Parallel()
	hevc, av1, vp9 := hevcTrack(t, "640x360"), av1Track(t, "320x240"), vp9Track(t, "320x240")
	opus, ac3 := opusTrack(t), ac3Track(t, ertmp.AC3)
	hevc.ID, av1.ID, vp9.ID, opus.ID, ac3.ID = 0, 1, 2, 0, 1
	f := feed(t, ertmp.Messages(ertmp.LayoutManyTracksManyCodecs, ertmp.Options{NanoOffsets: true}, hevc, av1, vp9, opus, ac3))
	want := map[[2]int]remux.Codec{
		{int(remux.KindVideo), 0}: remux.CodecH265, {int(remux.KindVideo), 1}: remux.CodecAV1, {int(remux.KindVideo), 2}: remux.CodecVP9,
		{int(remux.KindAudio), 0}: remux.CodecOpus, {int(remux.KindAudio), 1}: remux.CodecAC3,
	}
	for k, c := range want {
		tr := f.trackOf(remux.Kind(k[0]), k[1])
		if tr == nil || tr.Codec != c {
			t.Fatalf("track %v = %+v, want %v", k, tr, c)
		}
	}
	checkTiming(t, "AV1", f.samplesOf(f.trackOf(remux.KindVideo, 1).ID), av1.Frames, 90000, 1)
	checkTiming(t, "VP9", f.samplesOf(f.trackOf(remux.KindVideo, 2).ID), vp9.Frames, 90000, 1)
	checkTiming(t, "AC-3", f.samplesOf(f.trackOf(remux.KindAudio, 1).ID), ac3.Frames, 48000, 0)
	if st := f.d.Stats(); st.Dropped != 0 {
		t.Errorf("stats %+v\n%s", st, f.logs)
	}
}
