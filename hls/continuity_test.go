package hls

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/livegate/gateway/hls/hlstest"
	"github.com/livegate/gateway/remux"
)

// run watches the playlist and the segments while f feeds d of media.
func watchRun(t *testing.T, w *watcher, l *segmentLog, f *feeder, d time.Duration, fmp4 bool) {
	t.Helper()
	f.after = func() {
		w.poll()
		if w.last != nil {
			l.observe(w.last, fmp4)
		}
	}
	if err := f.run(d); err != nil {
		t.Fatal(err)
	}
}

func TestReconnectContinuesPlaylist(t *testing.T) {
	for _, v := range []Variant{VariantMPEGTS, VariantFMP4, VariantLowLatency} {
		t.Run(string(v), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, testConfig(v))
				defer m.Close()
				w := &watcher{tb: t, m: m, rules: rulesFor(v)}
				l := &segmentLog{tb: t, m: m}

				p1, _ := m.Publish("live", "cam")
				f1 := newFeeder(t, p1, videoTrack(1, 0), audioTrack(2))
				f1.bframes = true
				watchRun(t, w, l, f1, 9*time.Second+100*time.Millisecond, v.isFMP4())
				p1.End(false)
				w.poll()
				before := w.last
				if before.Endlist {
					t.Fatalf("ENDLIST while waiting for a reconnect")
				}
				lostAt := time.Now()
				time.Sleep(3 * time.Second)

				p2, err := m.Publish("live", "cam")
				if err != nil {
					t.Fatal(err)
				}
				// The new publisher's timestamps start from zero again.
				f2 := newFeeder(t, p2, videoTrack(1, 0), audioTrack(2))
				watchRun(t, w, l, f2, 20*time.Second, v.isFMP4())

				var disc []hlstest.Segment
				for i, s := range l.segs {
					if i > 0 && s.MSN != l.segs[i-1].MSN+1 {
						t.Errorf("media sequence jumps from %d to %d", l.segs[i-1].MSN, s.MSN)
					}
					if s.Discontinuity {
						disc = append(disc, s)
					}
				}
				if len(disc) != 1 {
					t.Fatalf("%d discontinuities, want 1", len(disc))
				}
				d := disc[0]
				prev := l.segs[d.MSN-l.segs[0].MSN-1]
				if v.isFMP4() && (d.Map == prev.Map || d.Map == "") {
					t.Errorf("no new EXT-X-MAP after the reconnect: %q", d.Map)
				}
				if d.PDT.Before(lostAt.Add(3*time.Second-time.Millisecond)) || d.PDT.Before(prev.PDT.Add(prev.Duration)) {
					t.Errorf("discontinuity PDT %v (lost at %v, previous ends %v)", d.PDT, lostAt, prev.PDT.Add(prev.Duration))
				}
				if v.isFMP4() {
					// The new epoch starts after the last frame presented
					// before it: with B-frames that is 6000 ticks after the
					// last decode time.
					firstVideo := func(b []byte) uint64 {
						ids, times := tfdts(b)
						for i, id := range ids {
							if id == 1 {
								return times[i]
							}
						}
						t.Fatal("no video traf")
						return 0
					}
					prevEnd := firstVideo(mustGet(t, m, prev.URI).Body) + uint64(prev.Duration.Seconds()*90000+0.5)
					if got := firstVideo(mustGet(t, m, d.URI).Body); got < prevEnd+6000 {
						t.Errorf("new epoch's video starts at %d, before the previous epoch's last PTS end %d", got, prevEnd+6000)
					}
				}
				if w.last.DiscontinuitySequence != 1 {
					t.Errorf("DISCONTINUITY-SEQUENCE %d after the discontinuity left the window", w.last.DiscontinuitySequence)
				}
			})
		})
	}
}

func TestTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, testConfig(VariantFMP4))
		defer m.Close()
		w := &watcher{tb: t, m: m, rules: rulesFor(VariantFMP4)}
		l := &segmentLog{tb: t, m: m}
		p1, _ := m.Publish("live", "cam")
		f1 := newFeeder(t, p1, videoTrack(1, 0), audioTrack(2))
		watchRun(t, w, l, f1, 5*time.Second, true)

		p2, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-p1.Done():
		default:
			t.Fatal("old publication's Done not closed")
		}
		if err := f1.run(time.Second); !errors.Is(err, ErrTakenOver) {
			t.Fatalf("old publication write: %v", err)
		}
		p1.End(false) // a late End of the old publisher changes nothing
		f2 := newFeeder(t, p2, videoTrack(1, 0), audioTrack(2))
		watchRun(t, w, l, f2, 8*time.Second, true)
		n := 0
		for _, s := range l.segs {
			if s.Discontinuity {
				n++
			}
		}
		if n != 1 || w.last.Endlist {
			t.Errorf("%d discontinuities, endlist %v", n, w.last.Endlist)
		}
		if info := m.Streams(); len(info) != 1 || !info[0].Live {
			t.Errorf("streams %+v", info)
		}
	})
}

func TestReconnectWindowExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, testConfig(VariantFMP4))
		defer m.Close()
		p, _ := m.Publish("live", "cam")
		f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
		if err := f.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		p.End(false)
		time.Sleep(DefaultReconnectWindow - time.Millisecond)
		if pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName)); pl.Endlist {
			t.Fatal("ended before the reconnect window ran out")
		}
		time.Sleep(2 * time.Millisecond)
		pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		if !pl.Endlist {
			t.Fatal("no ENDLIST after the reconnect window")
		}
		if info := m.Streams(); len(info) != 1 || info[0].Live || !info[0].Ended {
			t.Errorf("streams %+v", info)
		}
		time.Sleep(DefaultRetention + time.Millisecond)
		if _, err := get(t, m, MediaPlaylistName, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("after retention: %v", err)
		}
	})
}

func TestRepublishRetainedStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, testConfig(VariantFMP4))
		defer m.Close()
		w := &watcher{tb: t, m: m, rules: rulesFor(VariantFMP4)}
		w.rules.AllowRestart = true
		l := &segmentLog{tb: t, m: m}
		p1, _ := m.Publish("live", "cam")
		watchRun(t, w, l, newFeeder(t, p1, videoTrack(1, 0), audioTrack(2)), 5*time.Second, true)
		p1.End(true)
		w.poll()
		if !w.last.Endlist {
			t.Fatal("no ENDLIST")
		}
		prefix := strings.SplitN(w.last.Segments[0].URI, "_", 2)[0]
		time.Sleep(20 * time.Second)
		p2, _ := m.Publish("live", "cam")
		watchRun(t, w, l, newFeeder(t, p2, videoTrack(1, 0), audioTrack(2)), 5*time.Second, true)
		if w.last.Endlist {
			t.Fatal("ENDLIST kept after publishing again")
		}
		if !strings.HasPrefix(w.last.Segments[len(w.last.Segments)-1].URI, prefix) {
			t.Errorf("prefix changed")
		}
		// Retention does not strike the live stream.
		time.Sleep(DefaultRetention)
		if _, err := get(t, m, MediaPlaylistName, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAudioOnlyAndVideoOnly(t *testing.T) {
	for _, v := range []Variant{VariantMPEGTS, VariantFMP4, VariantLowLatency} {
		for _, kind := range []string{"audio", "video"} {
			t.Run(string(v)+"/"+kind, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					m := newTestManager(t, testConfig(v))
					defer m.Close()
					w := &watcher{tb: t, m: m, rules: rulesFor(v)}
					l := &segmentLog{tb: t, m: m}
					p, _ := m.Publish("live", "cam")
					var f *feeder
					if kind == "audio" {
						f = newFeeder(t, p, nil, audioTrack(1))
					} else {
						f = newFeeder(t, p, videoTrack(1, 0), nil)
					}
					watchRun(t, w, l, f, 12*time.Second, v.isFMP4())
					pl := w.last
					if len(pl.Segments) < 4 || !pl.IndependentSegments {
						t.Fatalf("playlist %+v", pl)
					}
					for _, s := range pl.Segments {
						if s.Duration < 1950*time.Millisecond || s.Duration > 2050*time.Millisecond {
							t.Errorf("segment %d: %v", s.MSN, s.Duration)
						}
						for _, pt := range s.Parts {
							if kind == "audio" && !pt.Independent {
								t.Errorf("audio part not independent")
							}
						}
					}
					seg := mustGet(t, m, pl.Segments[0].URI)
					mv := string(mustGet(t, m, MultivariantName).Body)
					if kind == "audio" {
						if v.isFMP4() && seg.ContentType != contentTypeMP4Audio {
							t.Errorf("content type %s", seg.ContentType)
						}
						if !strings.Contains(mv, `CODECS="mp4a.40.2"`) || strings.Contains(mv, "RESOLUTION") {
							t.Errorf("multivariant:\n%s", mv)
						}
					} else if !strings.Contains(mv, `CODECS="avc1.42c028"`) || !strings.Contains(mv, "RESOLUTION=1920x1080") {
						t.Errorf("multivariant:\n%s", mv)
					}
				})
			})
		}
	}
}

func TestConfigChangeMidPublication(t *testing.T) {
	cases := []struct {
		v        Variant
		changeAt time.Duration // the new SPS arrives; the next key frame is at 6 s
		short    time.Duration // the segment the change shortens
	}{
		{VariantMPEGTS, 6 * time.Second, 0},
		{VariantFMP4, 6 * time.Second, 0},
		{VariantLowLatency, 6 * time.Second, 0},
		// Mid-GOP: frames after the new parameter set are undecodable with
		// the old ones; the old segment ends there, the new one starts at
		// the key frame.
		{VariantFMP4, 5 * time.Second, time.Second},
		{VariantLowLatency, 5 * time.Second, time.Second},
	}
	for _, c := range cases {
		t.Run(string(c.v)+"/"+c.changeAt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, testConfig(c.v))
				defer m.Close()
				w := &watcher{tb: t, m: m, rules: rulesFor(c.v)}
				l := &segmentLog{tb: t, m: m}
				p, _ := m.Publish("live", "cam")
				f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
				watchRun(t, w, l, f, c.changeAt, c.v.isFMP4())
				f.v = videoTrack(1, 1)
				if err := p.SetTracks([]*remux.Track{f.v, f.a}); err != nil {
					t.Fatal(err)
				}
				watchRun(t, w, l, f, 14*time.Second-c.changeAt, c.v.isFMP4())
				var disc []hlstest.Segment
				for _, s := range l.segs {
					if s.Discontinuity {
						disc = append(disc, s)
					}
				}
				if len(disc) != 1 || disc[0].PDT.Sub(l.segs[0].PDT) != 6*time.Second {
					t.Fatalf("discontinuities %+v", disc)
				}
				if c.v.isFMP4() && disc[0].Map == l.segs[0].Map {
					t.Errorf("no new init after the configuration change")
				}
				for _, s := range l.segs {
					want := 2 * time.Second
					if c.short != 0 && s.MSN == disc[0].MSN-1 {
						want = c.short
					}
					if s.Duration < want-10*time.Millisecond || s.Duration > want+10*time.Millisecond {
						t.Errorf("segment %d lasts %v, want %v", s.MSN, s.Duration, want)
					}
				}
			})
		})
	}
}

func TestIrregularGOP(t *testing.T) {
	cases := []struct {
		name    string
		v       Variant
		gops    []int
		wantTD  int
		forced  bool
		longest time.Duration
	}{
		// 2 s GOPs fix TD at 2; a 5 s GOP is then cut without key frames.
		{"fmp4 long gop later", VariantFMP4, []int{60, 60, 150, 60, 60, 60}, 2, true, 2500 * time.Millisecond},
		{"mpegts long gop later", VariantMPEGTS, []int{60, 60, 150, 60, 60, 60}, 2, true, 2500 * time.Millisecond},
		// LL-HLS fixes TD from the configuration at the first part.
		{"lowlatency 4 s gops", VariantLowLatency, []int{120}, 2, true, 2500 * time.Millisecond},
		// The first segment sets TD when it is longer than SegmentDuration.
		{"fmp4 long first gop", VariantFMP4, []int{150, 60}, 5, false, 5500 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, testConfig(c.v))
				defer m.Close()
				w := &watcher{tb: t, m: m, rules: rulesFor(c.v)}
				l := &segmentLog{tb: t, m: m}
				p, _ := m.Publish("live", "cam")
				f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
				f.gops = c.gops
				sawNotIndependent := false
				f.after = func() {
					w.poll()
					if w.last != nil {
						l.observe(w.last, c.v.isFMP4())
						if !w.last.IndependentSegments {
							sawNotIndependent = true
						}
					}
				}
				if err := f.run(30 * time.Second); err != nil {
					t.Fatal(err)
				}
				if w.last.TargetDuration != c.wantTD {
					t.Errorf("TD %d, want %d", w.last.TargetDuration, c.wantTD)
				}
				if sawNotIndependent != c.forced {
					t.Errorf("INDEPENDENT-SEGMENTS dropped: %v, want %v", sawNotIndependent, c.forced)
				}
				for _, s := range l.segs {
					if s.Duration >= c.longest {
						t.Errorf("segment %d lasts %v", s.MSN, s.Duration)
					}
				}
			})
		})
	}
}

func TestCloseEndsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, p, f := startLL(t, testConfig(VariantLowLatency), 5*time.Second)
		pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		open := pl.MediaSequence + int64(len(pl.Segments))
		waiter := asyncGet(t.Context(), m, MediaPlaylistName, msnQuery(open+1, -1))
		hint := asyncGet(t.Context(), m, pl.PreloadHint, nil)
		if !pending(waiter) || !pending(hint) {
			t.Fatal("not waiting")
		}
		m.Close()
		r := <-waiter
		if r.err != nil || !r.obj.Ended || !strings.Contains(string(r.obj.Body), "#EXT-X-ENDLIST") {
			t.Errorf("waiter after Close: %+v", r)
		}
		// The hinted part became the last part of the final segment, or is gone.
		if r := <-hint; r.err != nil && !errors.Is(r.err, ErrNotFound) {
			t.Errorf("hinted part after Close: %v", r.err)
		}
		select {
		case <-p.Done():
		default:
			t.Error("Done not closed")
		}
		if err := f.run(time.Second); !errors.Is(err, ErrClosed) {
			t.Errorf("write after Close: %v", err)
		}
		if _, err := m.Publish("live", "other"); !errors.Is(err, ErrClosed) {
			t.Errorf("publish after Close: %v", err)
		}
	})
}
