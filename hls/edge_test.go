package hls

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livegate/gateway/remux"
)

func TestVideoStallKeepsSegmentsBounded(t *testing.T) {
	for _, v := range []Variant{VariantMPEGTS, VariantFMP4, VariantLowLatency} {
		t.Run(string(v), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, testConfig(v))
				defer m.Close()
				w := &watcher{tb: t, m: m, rules: rulesFor(v)}
				// The part in progress when the video stops runs over by up
				// to stallAfter: nothing can tell sooner that no frame comes.
				w.rules.PartOverrun = stallAfter + 40*time.Millisecond
				l := &segmentLog{tb: t, m: m}
				p, _ := m.Publish("live", "cam")
				f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
				watchRun(t, w, l, f, 5*time.Second, v.isFMP4())
				// The video encoder freezes; audio goes on.
				vt := f.v
				f.v = nil
				watchRun(t, w, l, f, 10*time.Second, v.isFMP4())
				// The video comes back, first with a burst of frames late for
				// what was already cut (dropped), then on time.
				f.v = vt
				f.vi = int64(f.aTime(f.ai)*30/time.Second) - 10
				f.gk = 50 // a key frame with the first frame on time
				watchRun(t, w, l, f, 6*time.Second, v.isFMP4())
				// Key frames cut the segments again: 2 s each.
				if d := l.segs[len(l.segs)-1].Duration; d < 1990*time.Millisecond || d > 2010*time.Millisecond {
					t.Errorf("video never recovered: last segment lasts %v", d)
				}
				if last := l.segs[len(l.segs)-1]; last.PDT.Before(l.segs[0].PDT.Add(10 * time.Second)) {
					t.Errorf("playlist stopped advancing at %v", last.PDT)
				}
				// Only the part in progress when the video stopped runs over.
				over := 0
				for _, s := range l.segs {
					for _, pt := range s.Parts {
						if pt.Duration > DefaultPartDuration {
							over++
						}
					}
				}
				if over > 1 {
					t.Errorf("%d parts over PART-TARGET", over)
				}
			})
		})
	}
}

func TestUnsupportedCodecsAreLeftOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, testConfig(VariantMPEGTS))
		defer m.Close()
		p, _ := m.Publish("live", "cam")
		v := videoTrack(1, 0)
		opus := &remux.Track{ID: 2, Kind: remux.KindAudio, Codec: remux.CodecOpus, ClockRate: 48000,
			SampleRate: 48000, ChannelCount: 2}
		f := newFeeder(t, p, v, nil)
		if err := p.SetTracks([]*remux.Track{v, opus}); err != nil {
			t.Fatal(err)
		}
		if err := p.WriteSample(&remux.Sample{Track: opus, DTS: 0, PTS: 0, Key: true, Payload: []byte{0xfc, 1, 2}}); err != nil {
			t.Fatal(err)
		}
		if err := f.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		mv := string(mustGet(t, m, MultivariantName).Body)
		if !strings.Contains(mv, `CODECS="avc1.42c028"`) {
			t.Errorf("Opus in MPEG-TS should be left out, video served:\n%s", mv)
		}
	})
}

func TestCodecStrings(t *testing.T) {
	hevc := &remux.Track{Kind: remux.KindVideo, Codec: remux.CodecH265}
	opus := &remux.Track{Kind: remux.KindAudio, Codec: remux.CodecOpus, ChannelCount: 2, ClockRate: 48000}
	if !carries(VariantFMP4, remux.CodecH265) || !carries(VariantMPEGTS, remux.CodecH265) || carries(VariantMPEGTS, remux.CodecOpus) ||
		carries(VariantMPEGTS, remux.CodecAV1) || !carries(VariantFMP4, remux.CodecAV1) {
		t.Error("codec matrix")
	}
	if got := codecString(opus); got != "opus" {
		t.Errorf("opus: %q", got)
	}
	if got := codecString(videoTrack(1, 0)); got != "avc1.42c028" {
		t.Errorf("h264: %q", got)
	}
	if got := codecString(audioTrack(2)); got != "mp4a.40.2" {
		t.Errorf("aac: %q", got)
	}
	if _, err := fmp4Codec(opus); err != nil {
		t.Error(err)
	}
	if _, err := tsCodec(hevc); err != nil {
		t.Errorf("H.265 in MPEG-TS: %v", err)
	}
}

// TestConcurrentUse runs writers, takeovers and readers at once, for the
// race detector.
func TestConcurrentUse(t *testing.T) {
	cfg := testConfig(VariantLowLatency)
	cfg.SegmentDuration = 400 * time.Millisecond
	cfg.PartDuration = 100 * time.Millisecond
	m := newTestManager(t, cfg)
	defer m.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, name := range []string{MediaPlaylistName, MultivariantName} {
					o, err := m.Get(t.Context(), "live", "cam", name, msnQuery(0, -1))
					if err == nil && len(o.Body) == 0 {
						t.Error("empty body")
					}
				}
				m.Streams()
			}
		})
	}
	for round := 0; round < 3; round++ {
		p, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		// SetTracks here, not in the goroutine: under load the next round
		// could take over before it ran, and its error would end the test.
		f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
		wg.Go(func() {
			f.sleep = false
			f.gop = 6
			err := f.run(3 * time.Second)
			if err != nil && !errors.Is(err, ErrTakenOver) && !errors.Is(err, ErrClosed) {
				t.Error(err)
			}
		})
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"unknown variant", Config{Variant: "hds"}, false},
		{"tiny window", Config{SegmentCount: 2}, false},
		{"part longer than segment", Config{Variant: VariantLowLatency, SegmentDuration: time.Second, PartDuration: time.Second}, false},
		{"tiny part", Config{PartDuration: time.Millisecond}, false},
		{"negative retention", Config{Retention: -time.Second}, false},
	}
	for _, c := range cases {
		m, err := NewManager(c.cfg)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("%s: %v", c.name, err)
		}
		if m != nil {
			if m.cfg.Variant != VariantFMP4 || m.cfg.SegmentDuration != DefaultSegmentDuration || m.cfg.Now == nil {
				t.Errorf("%s: defaults not applied: %+v", c.name, m.cfg)
			}
			m.Close()
		}
	}
	m := newTestManager(t, Config{})
	defer m.Close()
	for _, bad := range []string{"", "a/b", "..", "x?y"} {
		if _, err := m.Publish("live", bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Publish(%q): %v", bad, err)
		}
	}
}

func TestObjectNames(t *testing.T) {
	prefix := newPrefix()
	if len(prefix) != prefixLen || prefix == newPrefix() {
		t.Fatalf("prefix %q", prefix)
	}
	good := []struct {
		name string
		ref  objectRef
	}{
		{string(appendSegmentName(nil, prefix, 0, extTS)), objectRef{kind: KindSegment, msn: 0, ext: extTS}},
		{string(appendSegmentName(nil, prefix, 1234, extM4S)), objectRef{kind: KindSegment, msn: 1234, ext: extM4S}},
		{string(appendPartName(nil, prefix, 77, 3)), objectRef{kind: KindPart, msn: 77, part: 3}},
		{string(appendInitName(nil, prefix, 2)), objectRef{kind: KindInit, init: 2}},
	}
	for _, g := range good {
		ref, ok := parseObjectName(g.name, prefix)
		if !ok || ref != g.ref {
			t.Errorf("%s: %+v %v", g.name, ref, ok)
		}
	}
	bad := []string{
		"index.m3u8", prefix + "_.ts", prefix + "_01.ts", prefix + "_-1.ts", prefix + "_1.mp4",
		prefix + "_1.2.ts", prefix + "_1..m4s", prefix + "_init.mp4", prefix + "_1.m4s.m4s",
		newPrefix() + "_1.ts", prefix + "1.ts", prefix + "_99999999999999999999.ts",
	}
	for _, b := range bad {
		if ref, ok := parseObjectName(b, prefix); ok {
			t.Errorf("%s parsed as %+v", b, ref)
		}
	}
}

func TestObjectsMetadata(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, p, _ := startLL(t, testConfig(VariantLowLatency), 7*time.Second)
		defer m.Close()
		pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		s := pl.Segments[0]
		objs := map[string]ObjectKind{s.URI: KindSegment, s.Map: KindInit, s.Parts[0].URI: KindPart}
		for name, kind := range objs {
			o := mustGet(t, m, name)
			if o.Kind != kind || o.ContentType != contentTypeMP4Video || o.TargetDuration != 2*time.Second ||
				o.Expires.IsZero() || o.ModTime.IsZero() || !strings.HasPrefix(o.ETag, `"`) || !strings.HasSuffix(o.ETag, `"`) {
				t.Errorf("%s: %+v", name, o)
			}
		}
		pl1 := mustGet(t, m, MediaPlaylistName)
		if pl1.Ended || pl1.Blocking || pl1.ETag == "" {
			t.Errorf("playlist object %+v", pl1)
		}
		if _, err := get(t, m, strings.Replace(s.URI, ".m4s", ".ts", 1), nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("wrong extension: %v", err)
		}
		p.End(true)
		if o := mustGet(t, m, MultivariantName); !o.Ended {
			t.Errorf("multivariant not ended")
		}
		// Memory is bounded: window plus retired only.
		v := m.lookup("live", "cam").snap.Load()
		if len(v.segs) > 2*DefaultSegmentCount || len(v.inits) != 1 {
			t.Errorf("%d segments and %d inits kept", len(v.segs), len(v.inits))
		}
	})
}

func TestEndBeforeAnySegment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, testConfig(VariantFMP4))
		defer m.Close()
		p, _ := m.Publish("live", "cam")
		newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
		if len(m.Streams()) != 1 {
			t.Fatal("stream not listed")
		}
		p.End(true)
		synctest.Wait()
		if n := len(m.Streams()); n != 0 {
			t.Errorf("%d streams kept with nothing to serve", n)
		}
		if _, err := get(t, m, MediaPlaylistName, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("playlist: %v", err)
		}
		if err := p.WriteSample(&remux.Sample{}); !errors.Is(err, ErrEnded) {
			t.Errorf("write after End: %v", err)
		}
	})
}

// TestKeyFramePresentationSpacing: x265 with B-frames presents its first
// key frame 2 frames after its decode time and the later ones 4 frames
// after, so the first GOP is 28 frames long in decode time while every key
// frame is 30 frames after the previous one on screen. With segments as
// long as the GOP (LL-HLS fixes the target duration from the segment
// duration), every key frame must still cut: no segment is forced.
func TestKeyFramePresentationSpacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(VariantLowLatency)
		cfg.SegmentDuration = time.Second
		cfg.SegmentCount = 20
		m := newTestManager(t, cfg)
		defer m.Close()
		p, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		v := videoTrack(1, 0)
		if err := p.SetTracks([]*remux.Track{v}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var smp remux.Sample
		for i := int64(0); i < 30*8; i++ {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / 30)))
			// Key frames at decode frames 0, 28, 58, 88...; presented at 2,
			// 32, 62, 92...
			key := i == 0 || i >= 28 && (i-28)%30 == 0
			pts := i + 2
			if i >= 28 {
				pts = i + 4
			}
			nalu := []byte{0x41, 1}
			if key {
				nalu[0] = 0x65
			}
			smp = remux.Sample{Track: v, DTS: i * 3000, PTS: pts * 3000, Key: key, NALUs: [][]byte{nalu}}
			if err := p.WriteSample(&smp); err != nil {
				t.Fatal(err)
			}
		}
		o := mustGet(t, m, MediaPlaylistName)
		pl := parsePlaylist(t, o)
		if !pl.IndependentSegments || len(pl.Segments) < 6 {
			t.Errorf("a segment was forced without a key frame:\n%s", o.Body)
		}
		for _, s := range pl.Segments {
			if s.Duration > 1010*time.Millisecond {
				t.Errorf("segment %d lasts %v", s.MSN, s.Duration)
			}
		}
	})
}
