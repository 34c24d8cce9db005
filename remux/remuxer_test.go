package remux

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestUnwrap(t *testing.T) {
	cases := []struct {
		name string
		in   []uint32
		want []int64
	}{
		{"increasing", []uint32{5, 10, 1000}, []int64{0, 5, 995}},
		{"wrap", []uint32{math.MaxUint32 - 10, math.MaxUint32, 0, 20}, []int64{0, 10, 11, 31}},
		{"late before wrap", []uint32{math.MaxUint32 - 5, 3, math.MaxUint32 - 1, 8}, []int64{0, 9, 4, 14}},
		{"above 2^24", []uint32{0, 1 << 24, 1<<24 + 33}, []int64{0, 1 << 24, 1<<24 + 33}},
		{"backwards small", []uint32{1000, 900}, []int64{0, -100}},
		{"two wraps", []uint32{0, 1 << 30, 1 << 31, 3 << 30, math.MaxUint32, 5, 1 << 30, 1 << 31, 3 << 30, 7},
			[]int64{0, 1 << 30, 1 << 31, 3 << 30, math.MaxUint32, 1<<32 + 5, 1<<32 + 1<<30, 1<<32 + 1<<31, 1<<32 + 3<<30, 1<<33 + 7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var u unwrapper
			for i, ts := range c.in {
				if got := u.unwrap(ts); got != c.want[i] {
					t.Fatalf("step %d: unwrap(%d) = %d, want %d", i, ts, got, c.want[i])
				}
			}
		})
	}
}

func TestRescale(t *testing.T) {
	cases := []struct{ v, num, den, want int64 }{
		{1000, 90000, 1000, 90000},
		{1, 44100, 1000, 44},
		{23, 44100, 1000, 1014},
		{-1, 90000, 1000, -90},
		{-1, 44100, 1000, -45}, // floor
		{1 << 40, 96000, 1000, (1 << 40) * 96},
		{math.MaxInt64 / 100000, 90000, 1000, math.MaxInt64 / 100000 * 90},
	}
	for _, c := range cases {
		if got := rescale(c.v, c.num, c.den); got != c.want {
			t.Errorf("rescale(%d, %d, %d) = %d, want %d", c.v, c.num, c.den, got, c.want)
		}
	}
	// No accumulated drift: converting absolute values is exact.
	for ms := int64(0); ms < 100000; ms += 7 {
		if got, want := msToUnits(ms, 44100), ms*44100/1000; got != want {
			t.Fatalf("msToUnits(%d) = %d, want %d", ms, got, want)
		}
	}
}

func TestVideoTimestamps(t *testing.T) {
	cases := []struct {
		name    string
		ts      []uint32
		cts     []int32
		wantDTS []int64
		wantPTS []int64
	}{
		{
			name:    "rebased on the first timestamp",
			ts:      []uint32{5000, 5033, 5067},
			cts:     []int32{0, 0, 0},
			wantDTS: []int64{0, 33 * 90, 67 * 90},
			wantPTS: []int64{0, 33 * 90, 67 * 90},
		},
		{
			name:    "32-bit wrap continues increasing",
			ts:      []uint32{math.MaxUint32 - 40, math.MaxUint32 - 7, 26, 59},
			cts:     []int32{0, 0, 0, 0},
			wantDTS: []int64{0, 33 * 90, 67 * 90, 100 * 90},
			wantPTS: []int64{0, 33 * 90, 67 * 90, 100 * 90},
		},
		{
			name:    "timestamps above 2^24 ms pass through",
			ts:      []uint32{0, 1<<24 - 1, 1 << 24, 1<<24 + 40, 1<<31 + 5},
			cts:     []int32{0, 0, 0, 0, 0},
			wantDTS: []int64{0, (1<<24 - 1) * 90, (1 << 24) * 90, (1<<24 + 40) * 90, (1<<31 + 5) * 90},
			wantPTS: []int64{0, (1<<24 - 1) * 90, (1 << 24) * 90, (1<<24 + 40) * 90, (1<<31 + 5) * 90},
		},
		{
			name: "B-frames: PTS = DTS + CompositionTime in ms",
			// I P B b as x264 -bf 2 orders them, CTS in milliseconds.
			ts:      []uint32{0, 33, 67, 100, 133},
			cts:     []int32{67, 167, 33, 0, 100},
			wantDTS: []int64{0, 33 * 90, 67 * 90, 100 * 90, 133 * 90},
			wantPTS: []int64{67 * 90, 200 * 90, 100 * 90, 100 * 90, 233 * 90},
		},
		{
			name:    "negative CompositionTime gives PTS < DTS, even below 0",
			ts:      []uint32{0, 40, 80},
			cts:     []int32{-40, -40, 0},
			wantDTS: []int64{0, 40 * 90, 80 * 90},
			wantPTS: []int64{-40 * 90, 0, 80 * 90},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, sink, _ := newTestRemuxer(t)
			must(t, r.SetTrack(h264Track(t, sps320)))
			for i := range c.ts {
				must(t, r.WriteVideo(0, c.ts[i], c.cts[i], i == 0, idr))
			}
			got := sink.byTrack(1)
			if len(got) != len(c.ts) {
				t.Fatalf("got %d samples: %s", len(got), describe(got))
			}
			for i, s := range got {
				if s.DTS != c.wantDTS[i] || s.PTS != c.wantPTS[i] {
					t.Errorf("sample %d: DTS %d PTS %d, want %d %d", i, s.DTS, s.PTS, c.wantDTS[i], c.wantPTS[i])
				}
			}
		})
	}
}

func TestBackwardsDTSDropped(t *testing.T) {
	r, sink, logs := newTestRemuxer(t)
	must(t, r.SetTrack(h264Track(t, sps320)))
	// 80 repeated is the same millisecond: kept one tick later; 60 went
	// back: dropped.
	for _, ts := range []uint32{0, 40, 80, 80, 60, 120} {
		must(t, r.WriteVideo(0, ts, 0, false, slice))
	}
	got := sink.byTrack(1)
	want := []int64{0, 40 * 90, 80 * 90, 80*90 + 1, 120 * 90}
	if len(got) != len(want) {
		t.Fatalf("samples %s, want DTS %v", describe(got), want)
	}
	for i := range want {
		if got[i].DTS != want[i] {
			t.Errorf("sample %d DTS %d, want %d", i, got[i].DTS, want[i])
		}
	}
	if st := r.Stats(); st.DroppedBackwards != 1 || st.DTSNudged != 1 {
		t.Errorf("DroppedBackwards = %d, DTSNudged = %d, want 1 and 1", st.DroppedBackwards, st.DTSNudged)
	}
	l := logs.String()
	if !strings.Contains(l, `"level":"warn","track":1,"kind":"video","dts":5400,"last_dts":7201`) {
		t.Errorf("warnings lack both DTS values:\n%s", l)
	}
}

func TestForwardJumpLogged(t *testing.T) {
	r, sink, logs := newTestRemuxer(t)
	must(t, r.SetTrack(h264Track(t, sps320)))
	must(t, r.WriteVideo(0, 0, 0, true, idr))
	must(t, r.WriteVideo(0, 60_000, 0, false, slice))
	if len(sink.samples) != 2 || logs.count("timestamp jumped forward") != 1 {
		t.Fatalf("samples %s, logs:\n%s", describe(sink.samples), logs)
	}
}

func TestVideoOnlyAndAudioOnly(t *testing.T) {
	t.Run("video only", func(t *testing.T) {
		r, sink, _ := newTestRemuxer(t)
		must(t, r.SetTrack(h264Track(t, sps320)))
		if len(sink.sets) != 0 {
			t.Fatal("SetTracks before the first frame without metadata")
		}
		must(t, r.WriteVideo(0, 0, 0, true, idr))
		must(t, r.WriteVideo(0, 33, 0, false, slice))
		if len(sink.sets) != 1 || len(sink.sets[0]) != 1 || sink.sets[0][0].Codec != CodecH264 {
			t.Fatalf("sets %v", sink.sets)
		}
		tr := sink.sets[0][0]
		if tr.ID != 1 || tr.Width != 320 || tr.Height != 240 || tr.FrameRate != 30 || tr.ClockRate != 90000 {
			t.Errorf("track %+v", tr)
		}
		if len(sink.samples) != 2 || !sink.samples[0].Key || sink.samples[1].Key {
			t.Errorf("samples %s", describe(sink.samples))
		}
	})
	t.Run("audio only, announced", func(t *testing.T) {
		r, sink, _ := newTestRemuxer(t)
		r.Announce(KindAudio)
		must(t, r.SetTrack(aacTrack(t, asc48stereo)))
		if len(sink.sets) != 1 {
			t.Fatal("SetTracks not called as soon as the announced track was configured")
		}
		tr := sink.sets[0][0]
		if tr.Codec != CodecAAC || tr.ClockRate != 48000 || tr.SampleRate != 48000 || tr.ChannelCount != 2 {
			t.Errorf("track %+v", tr)
		}
		for i := range 5 {
			must(t, r.WriteAudio(0, uint32(i*21), aacFrame(i)))
		}
		for i, s := range sink.samples {
			if s.DTS != int64(i*1024) || s.PTS != s.DTS || !s.Key || s.Payload[2] != byte(i) {
				t.Errorf("sample %d: %+v", i, s)
			}
		}
	})
}

func TestCommonBaseAndInterleaving(t *testing.T) {
	r, sink, _ := newTestRemuxer(t)
	must(t, r.SetTrack(h264Track(t, sps320)))
	must(t, r.SetTrack(aacTrack(t, asc44mono)))
	// Audio starts 20 ms before video; both tracks share that base.
	must(t, r.WriteAudio(0, 1000, aacFrame(0)))
	must(t, r.WriteVideo(0, 1020, 40, true, idr))
	must(t, r.WriteAudio(0, 1023, aacFrame(1)))
	must(t, r.WriteVideo(0, 1053, 40, false, slice))
	must(t, r.WriteAudio(0, 1046, aacFrame(2)))
	if len(sink.sets) != 1 || len(sink.sets[0]) != 2 {
		t.Fatalf("sets %v", sink.sets)
	}
	v, a := sink.byTrack(1), sink.byTrack(2)
	if v[0].DTS != 20*90 || v[0].PTS != 60*90 || v[1].DTS != 53*90 {
		t.Errorf("video %s", describe(v))
	}
	if a[0].DTS != 0 || a[1].DTS != 1024 || a[2].DTS != 2048 {
		t.Errorf("audio %s", describe(a))
	}
	// Same instant in both clocks: 20 ms is 1800 ticks at 90 kHz and 882 at 44.1 kHz.
	if v[0].DTS*44100 != 882*90000 {
		t.Error("base differs between tracks")
	}
	// Sample.Base names the RTMP timestamp that DTS 0 stands for.
	for _, s := range sink.samples {
		if s.Base != 1000 {
			t.Errorf("track %d DTS %d: Base %d, want 1000", s.ID, s.DTS, s.Base)
		}
	}
}

func TestConfigChangeNewGeneration(t *testing.T) {
	r, sink, _ := newTestRemuxer(t)
	must(t, r.SetTrack(h264Track(t, sps320)))
	must(t, r.WriteVideo(0, 0, 0, true, idr))
	must(t, r.SetTrack(h264Track(t, sps320))) // resent unchanged: not a change
	must(t, r.WriteVideo(0, 33, 0, false, slice))
	if len(sink.sets) != 1 {
		t.Fatalf("identical sequence header caused SetTracks: %d calls", len(sink.sets))
	}
	must(t, r.SetTrack(h264Track(t, sps640)))
	if len(sink.sets) != 2 {
		t.Fatalf("config change did not call SetTracks before the next frame")
	}
	must(t, r.WriteVideo(0, 67, 0, true, idr))
	nt := sink.sets[1][0]
	if nt.ID != 1 || nt.Generation != 1 || nt.Width != 640 || nt.Height != 480 || nt.FrameRate != 25 {
		t.Errorf("new track %+v", nt)
	}
	s := sink.samples
	if s[0].Gen != 0 || s[1].Gen != 0 || s[2].Gen != 1 || s[2].Track != nt {
		t.Errorf("samples %s", describe(s))
	}
	if s[2].DTS != 67*90 {
		t.Errorf("time did not continue across the change: %d", s[2].DTS)
	}
	if r.Stats().ConfigChanges != 1 {
		t.Errorf("stats %+v", r.Stats())
	}
}

func TestLateAudioTrack(t *testing.T) {
	r, sink, _ := newTestRemuxer(t)
	must(t, r.SetTrack(h264Track(t, sps320)))
	must(t, r.WriteVideo(0, 0, 0, true, idr))
	must(t, r.WriteAudio(0, 10, aacFrame(0))) // before its AudioSpecificConfig
	must(t, r.SetTrack(aacTrack(t, asc44mono)))
	must(t, r.WriteAudio(0, 33, aacFrame(1)))
	must(t, r.WriteVideo(0, 40, 0, false, slice))
	if len(sink.sets) != 2 || len(sink.sets[0]) != 1 || len(sink.sets[1]) != 2 {
		t.Fatalf("sets %v", sink.sets)
	}
	if sink.sets[1][0] != sink.sets[0][0] || sink.sets[1][1].ID != 2 || sink.sets[1][1].Generation != 0 {
		t.Errorf("second SetTracks %+v", sink.sets[1])
	}
	a := sink.byTrack(2)
	if len(a) != 1 || a[0].DTS != 33*44100/1000 {
		t.Errorf("audio %s", describe(a))
	}
	if r.Stats().DroppedNoConfig != 1 {
		t.Errorf("stats %+v", r.Stats())
	}
}

func TestAnnouncedTracksBufferUntilConfigured(t *testing.T) {
	r, sink, _ := newTestRemuxer(t)
	r.Announce(KindVideo, KindAudio)
	must(t, r.SetTrack(h264Track(t, sps320)))
	body := []byte{0x65, 1, 2, 3}
	must(t, r.WriteVideo(0, 0, 0, true, [][]byte{body, {0x06, 9}}))
	body[1] = 0xEE // the remuxer must have copied the borrowed NAL unit
	must(t, r.WriteVideo(0, 33, 0, false, slice))
	must(t, r.WriteAudio(0, 5, aacFrame(0))) // no config yet: dropped, not buffered
	if len(sink.sets) != 0 || len(sink.samples) != 0 {
		t.Fatal("started before the announced audio was configured")
	}
	must(t, r.SetTrack(aacTrack(t, asc44mono)))
	if len(sink.sets) != 1 || len(sink.sets[0]) != 2 || len(sink.samples) != 2 {
		t.Fatalf("sets %v samples %s", sink.sets, describe(sink.samples))
	}
	first := sink.samples[0]
	if first.DTS != 0 || !first.Key || len(first.NALUs) != 2 || first.NALUs[0][1] != 1 || first.NALUs[1][1] != 9 {
		t.Errorf("replayed sample %+v", first)
	}
	must(t, r.WriteAudio(0, 40, aacFrame(1)))
	if a := sink.byTrack(2); len(a) != 1 || a[0].DTS != 40*44100/1000 {
		t.Errorf("audio %s", describe(a))
	}
}

func TestProbeLimits(t *testing.T) {
	t.Run("duration", func(t *testing.T) {
		r, sink, logs := newTestRemuxer(t)
		r.Announce(KindVideo, KindAudio)
		must(t, r.SetTrack(h264Track(t, sps320)))
		for i := range 61 { // 0 .. 2000 ms
			must(t, r.WriteVideo(0, uint32(i*100/3), 0, i == 0, idr))
			if i < 60 && len(sink.sets) != 0 {
				t.Fatalf("started after %d frames", i+1)
			}
		}
		if len(sink.sets) != 1 || len(sink.sets[0]) != 1 || len(sink.samples) != 61 {
			t.Fatalf("sets %v, %d samples", sink.sets, len(sink.samples))
		}
		if !strings.Contains(logs.String(), `"audio_missing":true`) {
			t.Errorf("no warning:\n%s", logs)
		}
		// The audio track still joins later.
		must(t, r.SetTrack(aacTrack(t, asc44mono)))
		if len(sink.sets) != 2 {
			t.Error("late audio after the probe did not call SetTracks")
		}
	})
	t.Run("bytes", func(t *testing.T) {
		r, sink, _ := newTestRemuxer(t, WithProbeLimits(time.Hour, 10000))
		r.Announce(KindVideo, KindAudio)
		must(t, r.SetTrack(h264Track(t, sps320)))
		big := [][]byte{make([]byte, 3000)}
		big[0][0] = 0x65
		for i := range 4 {
			must(t, r.WriteVideo(0, uint32(i), 0, false, big))
		}
		if len(sink.sets) != 1 || len(sink.samples) != 4 {
			t.Fatalf("sets %d samples %d", len(sink.sets), len(sink.samples))
		}
	})
	t.Run("flushed on close", func(t *testing.T) {
		r, sink, _ := newTestRemuxer(t)
		r.Announce(KindVideo, KindAudio)
		must(t, r.SetTrack(h264Track(t, sps320)))
		must(t, r.WriteVideo(0, 0, 0, true, idr))
		must(t, r.Close())
		if len(sink.sets) != 1 || len(sink.samples) != 1 {
			t.Fatalf("sets %d samples %d", len(sink.sets), len(sink.samples))
		}
		if err := r.WriteVideo(0, 40, 0, false, slice); !errors.Is(err, ErrClosed) {
			t.Errorf("write after close: %v", err)
		}
		must(t, r.Close())
	})
}

// aacMs is the millisecond timestamp an encoder stamps on AAC frame n.
func aacMs(n, samples, rate int) uint32 {
	return uint32(math.Round(float64(n*samples) * 1000 / float64(rate)))
}

func TestAACSampleAccurateTiming(t *testing.T) {
	for _, c := range []struct {
		name    string
		asc     []byte
		rate    int
		samples int
	}{
		{"44.1 kHz", asc44mono, 44100, 1024},
		{"48 kHz", asc48stereo, 48000, 1024},
		{"48 kHz 960-sample frames", asc48s960, 48000, 960},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, sink, _ := newTestRemuxer(t)
			must(t, r.SetTrack(aacTrack(t, c.asc)))
			const start = 7000
			for n := range 2000 { // ~46 s: rounding never accumulates
				jitter := uint32(n % 3) // encoders stamp with ±ms jitter
				must(t, r.WriteAudio(0, start+aacMs(n, c.samples, c.rate)+jitter, aacFrame(n)))
			}
			for i, s := range sink.samples {
				if s.DTS != int64(i*c.samples) || s.PTS != s.DTS {
					t.Fatalf("frame %d: DTS %d PTS %d, want %d", i, s.DTS, s.PTS, i*c.samples)
				}
			}
			if len(sink.samples) != 2000 || r.Stats().AudioResyncs != 0 {
				t.Fatalf("%d samples, stats %+v", len(sink.samples), r.Stats())
			}
		})
	}
}

func TestAACReanchor(t *testing.T) {
	r, sink, logs := newTestRemuxer(t)
	must(t, r.SetTrack(aacTrack(t, asc48stereo)))
	n := 0
	for ; n < 10; n++ {
		must(t, r.WriteAudio(0, aacMs(n, 1024, 48000), aacFrame(n)))
	}
	// The encoder lost 500 ms of audio: the clock follows the RTMP time.
	for i := 0; i < 5; i++ {
		must(t, r.WriteAudio(0, 500+aacMs(n+i, 1024, 48000), aacFrame(n+i)))
	}
	// A 60 ms drift stays below the 100 ms threshold: counting continues.
	must(t, r.WriteAudio(0, 500+aacMs(n+5, 1024, 48000)+60, aacFrame(n+5)))
	s := sink.samples
	if len(s) != 16 {
		t.Fatalf("%d samples", len(s))
	}
	anchor := msToUnits(int64(500+aacMs(n, 1024, 48000)), 48000)
	for i := 0; i < 6; i++ {
		if want := anchor + int64(i*1024); s[10+i].DTS != want {
			t.Errorf("frame %d after the gap: DTS %d, want %d", i, s[10+i].DTS, want)
		}
	}
	if r.Stats().AudioResyncs != 1 || logs.count("AAC clock re-anchored") != 1 {
		t.Errorf("stats %+v logs:\n%s", r.Stats(), logs)
	}
}

func TestAACConfigChangeRescalesClock(t *testing.T) {
	r, sink, _ := newTestRemuxer(t)
	must(t, r.SetTrack(aacTrack(t, asc44mono)))
	must(t, r.WriteAudio(0, 0, aacFrame(0)))
	must(t, r.WriteAudio(0, 23, aacFrame(1)))
	must(t, r.SetTrack(aacTrack(t, asc48stereo)))
	must(t, r.WriteAudio(0, 46, aacFrame(2)))
	s := sink.samples
	if len(s) != 3 || s[2].Gen != 1 || s[2].Track.ClockRate != 48000 || s[2].DTS != 46*48 {
		t.Fatalf("samples %s", describe(s))
	}
}

func TestSetTrackValidation(t *testing.T) {
	r, _, _ := newTestRemuxer(t)
	for _, tr := range []*Track{{Codec: CodecUnknown, ClockRate: 90000}, {Codec: CodecAAC, ClockRate: 0}} {
		if err := r.SetTrack(tr); !errors.Is(err, ErrInvalidTrack) {
			t.Errorf("SetTrack(%+v) = %v", tr, err)
		}
	}
}

func TestSinkErrorsAreReturned(t *testing.T) {
	r, sink, _ := newTestRemuxer(t)
	sink.failSet = errSink
	must(t, r.SetTrack(h264Track(t, sps320)))
	if err := r.WriteVideo(0, 0, 0, true, idr); !errors.Is(err, errSink) {
		t.Fatalf("SetTracks error: %v", err)
	}
	r, sink, _ = newTestRemuxer(t)
	sink.failW = errSink
	must(t, r.SetTrack(h264Track(t, sps320)))
	if err := r.WriteVideo(0, 0, 0, true, idr); !errors.Is(err, errSink) {
		t.Fatalf("WriteSample error: %v", err)
	}
}

func TestCodecTracks(t *testing.T) {
	if _, err := NewH264Track(nil, [][]byte{ppsX}); !errors.Is(err, ErrMissingParameterSets) {
		t.Errorf("no SPS: %v", err)
	}
	if _, err := NewH264Track([][]byte{{0x67, 0xff}}, [][]byte{ppsX}); !errors.Is(err, ErrInvalidSPS) {
		t.Errorf("bad SPS: %v", err)
	}
	if _, err := NewH264Track([][]byte{sps320}, [][]byte{{}}); !errors.Is(err, ErrMissingParameterSets) {
		t.Errorf("empty PPS: %v", err)
	}
	tr, err := NewH264Track([][]byte{sps320}, [][]byte{ppsX, {0x68, 1}})
	if err != nil || len(tr.ExtraPPS) != 1 || tr.ExtraSPS != nil || !tr.HasParameterSet([]byte{0x68, 1}) {
		t.Errorf("extra PPS: %+v %v", tr, err)
	}
	if _, err := NewAACTrack([]byte{0x12}); !errors.Is(err, ErrInvalidAudioConfig) {
		t.Errorf("short ASC: %v", err)
	}
	a := aacTrack(t, asc48s960)
	if a.AACFrameSamples() != 960 || aacTrack(t, asc44mono).AACFrameSamples() != 1024 {
		t.Error("AACFrameSamples")
	}
	if h264Track(t, sps320).SameConfig(h264Track(t, sps640)) || !h264Track(t, sps320).SameConfig(h264Track(t, sps320)) {
		t.Error("SameConfig")
	}
	if a.SameConfig(aacTrack(t, asc48stereo)) {
		t.Error("SameConfig ignores frameLengthFlag")
	}
}

func TestZeroAllocsPerSample(t *testing.T) {
	sink := discardSink{}
	r := NewRemuxer(sink, discardLogger())
	must(t, r.SetTrack(h264Track(t, sps320)))
	must(t, r.SetTrack(aacTrack(t, asc48stereo)))
	nalus := [][]byte{{0x06, 1}, {0x41, 2, 3}}
	payload := aacFrame(1)
	var ts uint32
	allocs := testing.AllocsPerRun(1000, func() {
		ts += 20
		if err := r.WriteVideo(0, ts, 40, false, nalus); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteAudio(0, ts, payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per video+audio sample", allocs)
	}
}

func ExampleRemuxer() {
	sink := &printSink{}
	r := NewRemuxer(sink, discardLogger())
	video, _ := NewH264Track([][]byte{sps320}, [][]byte{ppsX})
	_ = r.SetTrack(video)
	_ = r.WriteVideo(0, 1000, 67, true, [][]byte{{0x65, 0x88}})
	_ = r.WriteVideo(0, 1033, 167, false, [][]byte{{0x41, 0x9a}})
	_ = r.Close()
	// Output:
	// tracks: [1 H264 320x240 90000 Hz]
	// track 1: dts=0 pts=6030 key=true
	// track 1: dts=2970 pts=18000 key=false
}

type printSink struct{}

func (printSink) SetTracks(ts []*Track) error {
	fmt.Print("tracks:")
	for _, t := range ts {
		fmt.Printf(" [%d %v %dx%d %d Hz]", t.ID, t.Codec, t.Width, t.Height, t.ClockRate)
	}
	fmt.Println()
	return nil
}

func (printSink) WriteSample(s *Sample) error {
	fmt.Printf("track %d: dts=%d pts=%d key=%v\n", s.Track.ID, s.DTS, s.PTS, s.Key)
	return nil
}
