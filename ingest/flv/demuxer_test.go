package flv

import (
	"bytes"
	"testing"

	"github.com/livegate/gateway/remux"
)

var (
	aud    = []byte{0x09, 0xf0}
	sei    = []byte{0x06, 0x05, 0x01, 0xaa}
	idrNAL = []byte{0x65, 0x88, 0x84, 0x21}
	pNAL   = []byte{0x41, 0x9a, 0x02}
)

func TestDemuxerAVC(t *testing.T) {
	f := newFixture(t)
	f.video(t, 0, videoTag(1, 7, 0, 0, x264Record))
	f.video(t, 0, videoTag(1, 7, 0, 0, x264Record)) // resent: no change
	f.video(t, 0, videoTag(1, 7, 1, 67, lengthPrefixed(4, aud, sei, idrNAL)))
	f.video(t, 33, videoTag(2, 7, 1, 134, lengthPrefixed(4, aud, pNAL)))
	f.video(t, 67, videoTag(2, 7, 1, -33, lengthPrefixed(4, pNAL))) // negative SI24 CTS
	f.video(t, 100, videoTag(2, 7, 1, -0x800000, lengthPrefixed(4, pNAL)))
	f.video(t, 133, videoTag(2, 7, 1, 0x7fffff, lengthPrefixed(4, pNAL)))
	f.video(t, 133, videoTag(5, 7, 0, 0, []byte{1})) // video info/command frame
	f.video(t, 150, videoTag(2, 7, 2, 0, nil))       // end of sequence

	if len(f.sink.sets) != 1 {
		t.Fatalf("%d SetTracks calls", len(f.sink.sets))
	}
	tr := f.sink.sets[0][0]
	if tr.Codec != remux.CodecH264 || tr.Width != 320 || tr.Height != 240 || !bytes.Equal(tr.SPS, sps320) || !bytes.Equal(tr.PPS, ppsX) {
		t.Fatalf("track %+v", tr)
	}
	s := f.sink.samples
	want := []struct {
		dts, pts int64
		key      bool
		nalus    int
	}{
		{0, 67 * 90, true, 2},
		{33 * 90, 167 * 90, false, 1},
		{67 * 90, 34 * 90, false, 1},
		{100 * 90, (100 - 0x800000) * 90, false, 1},
		{133 * 90, (133 + 0x7fffff) * 90, false, 1},
	}
	if len(s) != len(want) {
		t.Fatalf("%d samples", len(s))
	}
	for i, w := range want {
		if s[i].DTS != w.dts || s[i].PTS != w.pts || s[i].Key != w.key || len(s[i].NALUs) != w.nalus {
			t.Errorf("sample %d = %+v, want %+v", i, s[i], w)
		}
	}
	if !bytes.Equal(s[0].NALUs[0], sei) || !bytes.Equal(s[0].NALUs[1], idrNAL) {
		t.Errorf("AUD not stripped or NAL units changed: %x", s[0].NALUs)
	}
	if f.d.Dropped() != 0 {
		t.Errorf("dropped %d", f.d.Dropped())
	}
}

func TestDemuxerLengthSizes(t *testing.T) {
	for _, ls := range []int{1, 2, 4} {
		f := newFixture(t)
		f.video(t, 0, videoTag(1, 7, 0, 0, avcRecord(ls, [][]byte{sps320}, [][]byte{ppsX}, nil)))
		f.video(t, 0, videoTag(1, 7, 1, 0, lengthPrefixed(ls, sei, idrNAL)))
		if len(f.sink.samples) != 1 || len(f.sink.samples[0].NALUs) != 2 {
			t.Errorf("length size %d: %+v", ls, f.sink.samples)
		}
	}
}

func TestDemuxerInBandParameterSets(t *testing.T) {
	f := newFixture(t)
	f.video(t, 0, videoTag(1, 7, 0, 0, x264Record))
	// Encoders that repeat SPS/PPS before every IDR: not a change.
	f.video(t, 0, videoTag(1, 7, 1, 0, lengthPrefixed(4, aud, sps320, ppsX, idrNAL)))
	f.video(t, 40, videoTag(2, 7, 1, 0, lengthPrefixed(4, pNAL)))
	if len(f.sink.sets) != 1 {
		t.Fatalf("repeated parameter sets caused %d SetTracks", len(f.sink.sets))
	}
	if n := f.sink.samples[0].NALUs; len(n) != 1 || !bytes.Equal(n[0], idrNAL) {
		t.Fatalf("parameter sets not stripped: %x", n)
	}
	// A new resolution in-band: new generation before the frame.
	f.video(t, 80, videoTag(1, 7, 1, 0, lengthPrefixed(4, sps640, ppsX, idrNAL)))
	if len(f.sink.sets) != 2 {
		t.Fatalf("%d SetTracks", len(f.sink.sets))
	}
	nt := f.sink.sets[1][0]
	if nt.Generation != 1 || nt.Width != 640 || !bytes.Equal(nt.SPS, sps640) || !bytes.Equal(nt.PPS, ppsX) {
		t.Fatalf("new track %+v", nt)
	}
	last := f.sink.samples[len(f.sink.samples)-1]
	if last.Gen != 1 || !last.Key || last.DTS != 80*90 {
		t.Errorf("frame after the change %+v", last)
	}
}

func TestDemuxerInBandOnlyStream(t *testing.T) {
	// No sequence header at all: the first IDR's parameter sets configure.
	f := newFixture(t)
	f.video(t, 0, videoTag(2, 7, 1, 0, lengthPrefixed(4, pNAL))) // no config: dropped by remux
	f.video(t, 40, videoTag(1, 7, 1, 0, lengthPrefixed(4, sps320, ppsX, idrNAL)))
	if len(f.sink.sets) != 1 || len(f.sink.samples) != 1 || f.sink.samples[0].DTS != 40*90 {
		t.Fatalf("sets %d samples %+v", len(f.sink.sets), f.sink.samples)
	}
	if f.r.Stats().DroppedNoConfig != 1 {
		t.Errorf("remux stats %+v", f.r.Stats())
	}
}

func TestDemuxerHEVC(t *testing.T) {
	f := newFixture(t)
	f.video(t, 0, videoTag(1, 12, 0, 0, hevcRecord(4, hevcVPS, hevcSPS, hevcPPS)))
	audH := []byte{0x46, 0x01, 0x50}
	idrH := []byte{0x26, 0x01, 0xaf, 0x00}   // IDR_W_RADL (19)
	craH := []byte{0x2a, 0x01, 0xaf, 0x00}   // CRA (21)
	trailH := []byte{0x02, 0x01, 0xd0, 0x00} // TRAIL_R (1)
	f.video(t, 0, videoTag(1, 12, 1, 0, lengthPrefixed(4, audH, hevcVPS, hevcSPS, hevcPPS, idrH)))
	f.video(t, 33, videoTag(2, 12, 1, 33, lengthPrefixed(4, trailH)))
	f.video(t, 67, videoTag(1, 12, 1, 0, lengthPrefixed(4, craH)))
	if len(f.sink.sets) != 1 {
		t.Fatalf("%d SetTracks", len(f.sink.sets))
	}
	tr := f.sink.sets[0][0]
	if tr.Codec != remux.CodecH265 || tr.Width != 320 || tr.Height != 240 || !bytes.Equal(tr.VPS, hevcVPS) {
		t.Fatalf("track %+v", tr)
	}
	s := f.sink.samples
	if len(s) != 3 || !s[0].Key || s[1].Key || !s[2].Key || len(s[0].NALUs) != 1 || s[1].PTS != 66*90 {
		t.Fatalf("samples %+v", s)
	}
}

func TestDemuxerAAC(t *testing.T) {
	f := newFixture(t)
	f.audio(t, 0, aacTag(1, []byte{0x21, 0x00})) // before the config: dropped by remux
	f.audio(t, 0, aacTag(0, asc44mono))
	f.audio(t, 0, aacTag(0, asc44mono)) // resent
	for n := range 4 {
		f.audio(t, uint32(n*1024*1000/44100), aacTag(1, []byte{0x21, byte(n)}))
	}
	if len(f.sink.sets) != 1 {
		t.Fatalf("%d SetTracks", len(f.sink.sets))
	}
	tr := f.sink.sets[0][0]
	if tr.Codec != remux.CodecAAC || tr.SampleRate != 44100 || tr.ChannelCount != 1 || tr.ClockRate != 44100 {
		t.Fatalf("track %+v", tr)
	}
	for i, s := range f.sink.samples {
		if s.DTS != int64(i*1024) || !bytes.Equal(s.Payload, []byte{0x21, byte(i)}) {
			t.Errorf("frame %d: %+v", i, s)
		}
	}
	if f.r.Stats().DroppedNoConfig != 1 {
		t.Errorf("remux stats %+v", f.r.Stats())
	}
}

func TestDemuxerADTS(t *testing.T) {
	t.Run("with AudioSpecificConfig", func(t *testing.T) {
		f := newFixture(t)
		f.audio(t, 0, aacTag(0, asc48stereo))
		// Two ADTS frames in one message.
		f.audio(t, 0, aacTag(1, append(adts(3, 2, []byte{0x21, 1, 1}), adts(3, 2, []byte{0x21, 2})...)))
		f.audio(t, 43, aacTag(1, adts(3, 2, []byte{0x21, 3})))
		s := f.sink.samples
		if len(s) != 3 || !bytes.Equal(s[0].Payload, []byte{0x21, 1, 1}) || !bytes.Equal(s[1].Payload, []byte{0x21, 2}) ||
			s[1].DTS != 1024 || s[2].DTS != 2048 {
			t.Fatalf("samples %+v", s)
		}
		if f.logs.count("ADTS") != 1 {
			t.Errorf("logs:\n%s", f.logs)
		}
	})
	t.Run("configured from the ADTS header", func(t *testing.T) {
		f := newFixture(t)
		f.audio(t, 0, aacTag(1, adts(4, 1, []byte{0x21, 1}))) // 44.1 kHz mono
		tr := f.sink.lastSet()
		if len(tr) != 1 || tr[0].SampleRate != 44100 || tr[0].ChannelCount != 1 || len(f.sink.samples) != 1 {
			t.Fatalf("tracks %+v samples %+v", tr, f.sink.samples)
		}
	})
	t.Run("bad frame length", func(t *testing.T) {
		f := newFixture(t)
		f.audio(t, 0, aacTag(0, asc48stereo))
		bad := adts(3, 2, []byte{0x21, 1})
		bad[4] = 0xff // frame length beyond the message
		f.audio(t, 0, aacTag(1, bad))
		if len(f.sink.samples) != 0 || f.d.Stats().Malformed != 1 {
			t.Fatalf("samples %+v stats %+v", f.sink.samples, f.d.Stats())
		}
	})
}

func TestDemuxerDropsAndLogs(t *testing.T) {
	f := newFixture(t)
	f.video(t, 0, []byte{0x17, 0x00, 0x00})                       // truncated AVC packet
	f.video(t, 0, videoTag(1, 7, 0, 0, x264Record[:20]))          // truncated sequence header
	f.video(t, 0, videoTag(1, 7, 9, 0, nil))                      // unknown AVCPacketType
	f.video(t, 0, nil)                                            // empty
	f.video(t, 0, []byte{0x12, 0, 0})                             // Sorenson H.263
	f.video(t, 0, []byte{0x12, 0, 0})                             // again: logged once
	f.video(t, 0, []byte{0x90, 'v', 'p', '0', '8', 0})            // E-RTMP VP8: unsupported
	f.video(t, 0, []byte{0x91, 'v', 'p', '0', '8', 0})            // again: logged once
	f.audio(t, 0, []byte{0x6f, 0xff})                             // Nellymoser
	f.audio(t, 0, []byte{0x6f, 0xff})                             // Nellymoser again
	f.audio(t, 0, []byte{0x9c, 'O', 'p', 'u', 's'})               // E-RTMP reserved AudioPacketType
	f.audio(t, 0, aacTag(0, []byte{0x12}))                        // truncated AudioSpecificConfig
	f.audio(t, 0, []byte{0xaf})                                   // truncated AAC packet
	f.video(t, 0, videoTag(1, 7, 0, 0, x264Record))               // valid
	f.video(t, 0, videoTag(1, 7, 1, 0, []byte{0, 0, 0, 9, 0x65})) // NAL unit length past the end
	st := f.d.Stats()
	if st.Messages != 15 || st.Dropped != 14 || st.Malformed != 8 || st.Unsupported != 6 {
		t.Errorf("stats %+v", st)
	}
	if f.logs.count("unsupported E-RTMP codec") != 1 || f.logs.count("unsupported FLV video codec") != 1 ||
		f.logs.count("unsupported FLV audio format") != 1 {
		t.Errorf("logs:\n%s", f.logs)
	}
	if f.logs.count("malformed FLV body dropped") != 4 { // 1st, 2nd, 4th, 8th of 8
		t.Errorf("rate limit: %d malformed warnings", f.logs.count("malformed FLV body dropped"))
	}
}

func TestDemuxerMetadata(t *testing.T) {
	f := newFixture(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.d.Metadata(map[string]any{
		"videocodecid": 7.0, "audiocodecid": 10.0, "framerate": 29.97, "width": 320.0, "height": 240.0,
		"stereo": true, "encoder": "obs-output module (libobs version 30.0.0)",
	}))
	f.video(t, 0, videoTag(1, 7, 0, 0, avcRecord(4, [][]byte{mustHex("6742c01eda0507e4")}, [][]byte{ppsX}, nil)))
	f.video(t, 0, videoTag(1, 7, 1, 0, lengthPrefixed(4, idrNAL)))
	if len(f.sink.sets) != 0 {
		t.Fatal("started before the announced audio track was configured")
	}
	f.audio(t, 0, aacTag(0, asc44mono))
	if len(f.sink.sets) != 1 || len(f.sink.samples) != 1 || len(f.sink.sets[0]) != 2 {
		t.Fatalf("sets %v samples %+v", f.sink.sets, f.sink.samples)
	}
	if v := f.sink.sets[0][0]; v.FrameRate != 29.97 { // SPS without VUI: metadata's frame rate
		t.Errorf("video track %+v", v)
	}
	if !bytes.Contains([]byte(f.logs.String()), []byte(`"encoder":"obs-output`)) {
		t.Errorf("logs:\n%s", f.logs)
	}
}

func TestDemuxerMetadataUnsupportedCodecsNotAwaited(t *testing.T) {
	f := newFixture(t)
	if err := f.d.Metadata(map[string]any{"videocodecid": 7.0, "audiocodecid": 6.0, "framerate": "x"}); err != nil {
		t.Fatal(err)
	}
	f.video(t, 0, videoTag(1, 7, 0, 0, x264Record))
	if len(f.sink.sets) != 1 { // Nellymoser is not supported: nothing to wait for
		t.Fatalf("%d SetTracks", len(f.sink.sets))
	}
}

func TestDemuxerZeroAllocs(t *testing.T) {
	d := NewDemuxer(remux.NewRemuxer(discardSink{}, discardLog), discardLog)
	if err := d.Video(0, videoTag(1, 7, 0, 0, x264Record)); err != nil {
		t.Fatal(err)
	}
	if err := d.Audio(0, aacTag(0, asc44mono)); err != nil {
		t.Fatal(err)
	}
	vbody := videoTag(2, 7, 1, 40, lengthPrefixed(4, aud, sei, pNAL, pNAL))
	kbody := videoTag(1, 7, 1, 40, lengthPrefixed(4, aud, sps320, ppsX, idrNAL))
	abody := aacTag(1, []byte{0x21, 0x10, 0x04})
	var ts uint32
	n := testing.AllocsPerRun(1000, func() {
		ts += 23
		body := vbody
		if ts%230 == 0 {
			body = kbody // in-band copies of the configuration
		}
		if err := d.Video(ts, body); err != nil {
			t.Fatal(err)
		}
		if err := d.Audio(ts, abody); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per video+audio message", n)
	}
}

func TestDemuxerCodecMismatchDropped(t *testing.T) {
	f := newFixture(t)
	f.video(t, 0, videoTag(1, 7, 0, 0, x264Record))
	f.video(t, 0, videoTag(1, 7, 1, 0, lengthPrefixed(4, idrNAL)))
	f.video(t, 40, videoTag(1, 12, 1, 0, lengthPrefixed(4, []byte{0x26, 0x01, 0xaf}))) // HEVC without config
	if len(f.sink.samples) != 1 || f.d.Stats().Malformed != 1 {
		t.Fatalf("samples %+v stats %+v", f.sink.samples, f.d.Stats())
	}
	// In-band HEVC parameter sets reconfigure the track (new codec, new generation).
	f.video(t, 80, videoTag(1, 12, 1, 0, lengthPrefixed(4, hevcVPS, hevcSPS, hevcPPS, []byte{0x26, 0x01, 0xaf})))
	if len(f.sink.sets) != 2 || f.sink.sets[1][0].Codec != remux.CodecH265 || f.sink.sets[1][0].Generation != 1 {
		t.Fatalf("sets %v", f.sink.sets)
	}
	if last := f.sink.samples[len(f.sink.samples)-1]; last.Codec != remux.CodecH265 || !last.Key {
		t.Errorf("last sample %+v", last)
	}
}
