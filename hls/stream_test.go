package hls

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestVariantsLifecycle(t *testing.T) {
	for _, v := range []Variant{VariantMPEGTS, VariantFMP4, VariantLowLatency} {
		t.Run(string(v), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, testConfig(v))
				defer m.Close()
				p, err := m.Publish("live", "cam")
				if err != nil {
					t.Fatal(err)
				}
				w := &watcher{tb: t, m: m, rules: rulesFor(v)}
				w.rules.MaxSegments = DefaultSegmentCount
				f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
				f.after = w.poll
				if err := f.run(30 * time.Second); err != nil {
					t.Fatal(err)
				}
				pl := w.last
				if pl.TargetDuration != 2 {
					t.Errorf("TD %d", pl.TargetDuration)
				}
				if len(pl.Segments) != DefaultSegmentCount {
					t.Errorf("window %d", len(pl.Segments))
				}
				if !pl.IndependentSegments {
					t.Errorf("no INDEPENDENT-SEGMENTS")
				}
				for _, s := range pl.Segments {
					if s.Duration < 1990*time.Millisecond || s.Duration > 2010*time.Millisecond {
						t.Errorf("segment %d lasts %v", s.MSN, s.Duration)
					}
					o := mustGet(t, m, s.URI)
					want := contentTypeMP4Video
					if v == VariantMPEGTS {
						want = contentTypeTS
					}
					if o.ContentType != want || o.Kind != KindSegment || len(o.Body) == 0 || !strings.HasPrefix(o.ETag, `"`) {
						t.Errorf("segment object %+v", o)
					}
					if s.Map != "" {
						mustGet(t, m, s.Map)
					}
					for _, pt := range s.Parts {
						mustGet(t, m, pt.URI)
					}
				}
				// Retired segments stay downloadable (RFC 8216 §6.2.2).
				first := pl.Segments[0].URI
				retired := strings.Replace(first, "_"+itoa(pl.Segments[0].MSN)+".", "_"+itoa(pl.Segments[0].MSN-1)+".", 1)
				if _, err := get(t, m, retired, nil); err != nil {
					t.Errorf("retired segment %s: %v", retired, err)
				}

				mv := mustGet(t, m, MultivariantName)
				body := string(mv.Body)
				for _, want := range []string{`CODECS="avc1.42c028,mp4a.40.2"`, "RESOLUTION=1920x1080", "FRAME-RATE=30.000", "AVERAGE-BANDWIDTH=", "stream.m3u8"} {
					if !strings.Contains(body, want) {
						t.Errorf("multivariant lacks %s:\n%s", want, body)
					}
				}

				p.End(true)
				w.poll()
				if !w.last.Endlist || w.last.PreloadHint != "" {
					t.Errorf("no ENDLIST after a clean end")
				}
				time.Sleep(DefaultRetention - time.Second)
				if _, err := get(t, m, first, nil); err != nil {
					t.Errorf("segment gone before retention ran out: %v", err)
				}
				time.Sleep(2 * time.Second)
				for _, name := range []string{MediaPlaylistName, MultivariantName, first} {
					if _, err := get(t, m, name, nil); !errors.Is(err, ErrNotFound) {
						t.Errorf("%s after retention: %v", name, err)
					}
				}
				if n := len(m.Streams()); n != 0 {
					t.Errorf("%d streams after retention", n)
				}
			})
		})
	}
}

func itoa(n int64) string { return string(appendInt(nil, n)) }
