package hls

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/livegate/gateway/hls/hlstest"
	"github.com/livegate/gateway/remux"
)

// ladderFeed writes a synthetic multitrack publication: several 30 fps
// H.264 tracks sharing GOP boundaries (one encoder) and one 44.1 kHz AAC
// track, in DTS order, wall time following media time.
type ladderFeed struct {
	tb     testing.TB
	p      *Publication
	vids   []*remux.Track
	sizes  []int
	a      *remux.Track
	gop    int
	start  time.Time
	vi, ai int64
	after  func()
	smp    remux.Sample
	// reverse writes the video tracks of a frame last one first (the
	// leader last); audioLead writes audio up to that far ahead of video.
	reverse   bool
	audioLead time.Duration
}

func ladderTracks() (vids []*remux.Track, sizes []int, a *remux.Track) {
	dims := [][2]int{{1280, 720}, {1920, 1080}, {854, 480}}
	sizes = []int{2000, 4000, 800}
	for i, d := range dims {
		v := videoTrack(i+1, 0)
		v.SourceID = i
		v.Width, v.Height = d[0], d[1]
		vids = append(vids, v)
	}
	a = audioTrack(len(dims) + 1)
	a.SourceID = 0
	return vids, sizes, a
}

func newLadderFeed(tb testing.TB, p *Publication) *ladderFeed {
	vids, sizes, a := ladderTracks()
	f := &ladderFeed{tb: tb, p: p, vids: vids, sizes: sizes, a: a, gop: 60}
	if err := p.SetTracks(append(append([]*remux.Track(nil), vids...), a)); err != nil {
		tb.Fatal(err)
	}
	return f
}

func (f *ladderFeed) run(d time.Duration) error {
	if f.start.IsZero() {
		f.start = time.Now()
	}
	end := min(time.Duration(f.vi)*time.Second/30, time.Duration(f.ai*1024)*time.Second/44100) + d
	for {
		vt := time.Duration(f.vi) * time.Second / 30
		at := time.Duration(f.ai*1024) * time.Second / 44100
		next := min(vt, at)
		if at < vt+f.audioLead && at < end {
			next = at
		}
		if next >= end {
			return nil
		}
		if wait := time.Until(f.start.Add(next)); wait > 0 {
			time.Sleep(wait)
		}
		if next == vt && vt <= at {
			key := f.vi%int64(f.gop) == 0
			for j := range f.vids {
				i := j
				if f.reverse {
					i = len(f.vids) - 1 - j
				}
				v := f.vids[i]
				nalu := make([]byte, f.sizes[i])
				nalu[0] = 0x41
				if key {
					nalu[0] = 0x65
				}
				f.smp = remux.Sample{Track: v, DTS: f.vi * 3000, PTS: f.vi * 3000, Key: key, NALUs: [][]byte{nalu}}
				if err := f.p.WriteSample(&f.smp); err != nil {
					return err
				}
			}
			f.vi++
		} else {
			f.smp = remux.Sample{Track: f.a, DTS: f.ai * 1024, PTS: f.ai * 1024, Key: true, Payload: make([]byte, 300)}
			f.ai++
			if err := f.p.WriteSample(&f.smp); err != nil {
				return err
			}
		}
		if f.after != nil {
			f.after()
		}
	}
}

func ladderConfig(v Variant) Config {
	cfg := testConfig(v)
	cfg.Ladder = true
	return cfg
}

var ladderNames = []string{"v0.m3u8", "v1.m3u8", "v2.m3u8", "a0.m3u8"}

// checkLadder checks the multivariant playlist and every rendition's media
// playlist of a running ladder, and their alignment.
func checkLadder(t *testing.T, m *Manager, v Variant) map[string]*hlstest.MediaPlaylist {
	t.Helper()
	o := mustGet(t, m, MultivariantName)
	var mv playlist.Multivariant
	if err := mv.Unmarshal(o.Body); err != nil {
		t.Fatalf("multivariant: %v\n%s", err, o.Body)
	}
	if len(mv.Variants) != 3 {
		t.Fatalf("%d variants, want 3\n%s", len(mv.Variants), o.Body)
	}
	wantOrder := []string{"v2.m3u8", "v0.m3u8", "v1.m3u8"} // by bandwidth
	wantRes := map[string]string{"v0.m3u8": "1280x720", "v1.m3u8": "1920x1080", "v2.m3u8": "854x480"}
	for i, va := range mv.Variants {
		if va.URI != wantOrder[i] {
			t.Errorf("variant %d is %s, want %s (ordered by bandwidth)\n%s", i, va.URI, wantOrder[i], o.Body)
		}
		if va.Audio != "audio" || va.Resolution != wantRes[va.URI] || va.FrameRate == nil || va.AverageBandwidth == nil {
			t.Errorf("variant %s: %+v", va.URI, va)
		}
		if len(va.Codecs) != 2 || !strings.HasPrefix(va.Codecs[0], "avc1.") || !strings.HasPrefix(va.Codecs[1], "mp4a.") {
			t.Errorf("variant %s CODECS %v", va.URI, va.Codecs)
		}
		if i > 0 && va.Bandwidth <= mv.Variants[i-1].Bandwidth {
			t.Errorf("variant %s BANDWIDTH %d not above the previous one", va.URI, va.Bandwidth)
		}
	}
	if len(mv.Renditions) != 1 || mv.Renditions[0].Type != playlist.MultivariantRenditionTypeAudio ||
		mv.Renditions[0].GroupID != "audio" || !mv.Renditions[0].Default || !mv.Renditions[0].Autoselect ||
		mv.Renditions[0].URI == nil || *mv.Renditions[0].URI != "a0.m3u8" {
		t.Errorf("audio rendition group:\n%s", o.Body)
	}
	if _, err := get(t, m, MediaPlaylistName, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("stream.m3u8 of a ladder: %v, want ErrNotFound", err)
	}

	pls := map[string]*hlstest.MediaPlaylist{}
	for _, name := range ladderNames {
		po := mustGet(t, m, name)
		pl := parsePlaylist(t, po)
		if err := rulesCheck(nil, pl, rulesFor(v)); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, po.Body)
		}
		pls[name] = pl
		// Every segment and init section is served, with the rendition's media only.
		seg := pl.Segments[len(pl.Segments)-1]
		so := mustGet(t, m, seg.URI)
		ids, _ := tfdts(so.Body)
		for _, id := range ids {
			if id != 1 {
				t.Errorf("%s: segment with track %d", name, id)
			}
		}
		io := mustGet(t, m, seg.Map)
		wantCT := contentTypeMP4Video
		if name[0] == 'a' {
			wantCT = contentTypeMP4Audio
		}
		if so.ContentType != wantCT || io.ContentType != wantCT {
			t.Errorf("%s: content types %q %q", name, so.ContentType, io.ContentType)
		}
	}
	lead := pls["v0.m3u8"]
	for _, name := range ladderNames {
		pl := pls[name]
		if pl.TargetDuration != lead.TargetDuration || pl.MediaSequence != lead.MediaSequence ||
			pl.DiscontinuitySequence != lead.DiscontinuitySequence || len(pl.Segments) != len(lead.Segments) {
			t.Fatalf("%s not aligned with v0: TD %d/%d MSN %d/%d DSN %d/%d segments %d/%d", name,
				pl.TargetDuration, lead.TargetDuration, pl.MediaSequence, lead.MediaSequence,
				pl.DiscontinuitySequence, lead.DiscontinuitySequence, len(pl.Segments), len(lead.Segments))
		}
		tol := time.Millisecond
		if name[0] == 'a' {
			tol = 25 * time.Millisecond // an AAC frame
		}
		var end, leadEnd time.Duration
		for i, seg := range pl.Segments {
			end += seg.Duration
			leadEnd += lead.Segments[i].Duration
			if d := end - leadEnd; d > tol || d < -tol {
				t.Errorf("%s segment %d ends %v from v0's", name, seg.MSN, d)
			}
			if pdt := seg.PDT.Sub(lead.Segments[i].PDT); math.Abs(float64(pdt)) > float64(tol+time.Millisecond) {
				t.Errorf("%s segment %d PDT %v from v0's", name, seg.MSN, pdt)
			}
		}
		if v == VariantLowLatency {
			if len(pl.RenditionReports) != len(ladderNames)-1 {
				t.Errorf("%s: %d rendition reports, want %d", name, len(pl.RenditionReports), len(ladderNames)-1)
			}
			for _, rr := range pl.RenditionReports {
				if rr.URI == name || pls[rr.URI] == nil && !strings.HasSuffix(rr.URI, ".m3u8") {
					t.Errorf("%s: rendition report %+v", name, rr)
				}
				if rr.LastMSN < lead.MediaSequence || rr.LastPart < 0 {
					t.Errorf("%s: rendition report %+v", name, rr)
				}
			}
		}
	}
	return pls
}

// watchRenditions returns a function that checks every named media
// playlist that exists against the playlist rules and its previous version.
func watchRenditions(t *testing.T, m *Manager, names []string, v Variant) func() {
	prev := map[string]*hlstest.MediaPlaylist{}
	return func() {
		for _, name := range names {
			o, err := get(t, m, name, nil)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			pl := parsePlaylist(t, o)
			if err := rulesCheck(prev[name], pl, rulesFor(v)); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, o.Body)
			}
			prev[name] = pl
		}
	}
}

func TestLadder(t *testing.T) {
	for _, tc := range []struct {
		v         Variant
		reverse   bool
		audioLead time.Duration
	}{
		{VariantFMP4, false, 0},
		{VariantLowLatency, false, 0},
		// Followers' frames before the leader's, audio 150 ms ahead.
		{VariantFMP4, true, 150 * time.Millisecond},
		{VariantLowLatency, true, 150 * time.Millisecond},
	} {
		v := tc.v
		name := string(v)
		if tc.reverse {
			name += "/interleaved"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, ladderConfig(v))
				defer m.Close()
				p, err := m.Publish("live", "cam")
				if err != nil {
					t.Fatal(err)
				}
				f := newLadderFeed(t, p)
				f.reverse, f.audioLead = tc.reverse, tc.audioLead
				f.after = watchRenditions(t, m, ladderNames, v)
				if err := f.run(25 * time.Second); err != nil {
					t.Fatal(err)
				}
				f.after = nil
				checkLadder(t, m, v)

				p.End(true)
				for _, name := range ladderNames {
					pl := parsePlaylist(t, mustGet(t, m, name))
					if !pl.Endlist {
						t.Errorf("%s: no EXT-X-ENDLIST after the end", name)
					}
				}
				if o := mustGet(t, m, MultivariantName); !o.Ended {
					t.Errorf("multivariant not marked ended")
				}
			})
		})
	}
}

func TestLadderBlockingReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, ladderConfig(VariantLowLatency))
		defer m.Close()
		p, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		f := newLadderFeed(t, p)
		if err := f.run(6 * time.Second); err != nil {
			t.Fatal(err)
		}
		for _, name := range ladderNames {
			pl := parsePlaylist(t, mustGet(t, m, name))
			openMSN := pl.MediaSequence + int64(len(pl.Segments))
			n := len(pl.Parts)
			ch := asyncGet(t.Context(), m, name, msnQuery(openMSN, n))
			if !pending(ch) {
				t.Fatalf("%s: answered before part %d.%d existed", name, openMSN, n)
			}
			if err := f.run(1500 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
			r := <-ch
			if r.err != nil || !r.obj.Blocking {
				t.Fatalf("%s: blocking reload: %+v", name, r)
			}
			got := parsePlaylist(t, r.obj)
			last := got.MediaSequence + int64(len(got.Segments))
			if last == openMSN && len(got.Parts) <= n {
				t.Errorf("%s: answer lacks part %d.%d", name, openMSN, n)
			}
			if len(got.RenditionReports) != len(ladderNames)-1 {
				t.Errorf("%s: %d rendition reports", name, len(got.RenditionReports))
			}
		}
	})
}

// TestLadderReconnect: a lost multitrack publisher that comes back continues
// every rendition after a discontinuity, still aligned.
func TestLadderReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, ladderConfig(VariantLowLatency))
		defer m.Close()
		p, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		f := newLadderFeed(t, p)
		if err := f.run(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		p.End(false)
		time.Sleep(time.Second)
		p2, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		f2 := newLadderFeed(t, p2)
		if err := f2.run(12 * time.Second); err != nil {
			t.Fatal(err)
		}
		pls := checkLadder(t, m, VariantLowLatency)
		disc := 0
		for _, seg := range pls["v0.m3u8"].Segments {
			if seg.Discontinuity {
				disc++
			}
		}
		if disc == 0 && pls["v0.m3u8"].DiscontinuitySequence == 0 {
			t.Errorf("no discontinuity after the reconnect")
		}
	})
}

// TestLadderNotServed: without Config.Ladder, with MPEG-TS, and for a single
// video track, a publication keeps the single muxed media playlist.
func TestLadderNotServed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		multi bool
	}{
		{"off", testConfig(VariantFMP4), true},
		{"mpegts", ladderConfig(VariantMPEGTS), true},
		{"single video", ladderConfig(VariantLowLatency), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, tc.cfg)
				defer m.Close()
				p, err := m.Publish("live", "cam")
				if err != nil {
					t.Fatal(err)
				}
				vids, sizes, a := ladderTracks()
				if !tc.multi {
					vids, sizes = vids[:1], sizes[:1]
				}
				f := &ladderFeed{tb: t, p: p, vids: vids, sizes: sizes, a: a, gop: 60}
				if err := p.SetTracks(append(append([]*remux.Track(nil), vids...), a)); err != nil {
					t.Fatal(err)
				}
				if err := f.run(8 * time.Second); err != nil {
					t.Fatal(err)
				}
				pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
				if err := rulesCheck(nil, pl, rulesFor(tc.cfg.Variant)); err != nil {
					t.Fatal(err)
				}
				if _, err := get(t, m, "v0.m3u8", nil); !errors.Is(err, ErrNotFound) {
					t.Errorf("v0.m3u8: %v, want ErrNotFound", err)
				}
				o := mustGet(t, m, MultivariantName)
				if !strings.Contains(string(o.Body), "\n"+MediaPlaylistName+"\n") || strings.Contains(string(o.Body), "EXT-X-MEDIA") {
					t.Errorf("multivariant:\n%s", o.Body)
				}
			})
		})
	}
}

// TestLadderStreamInfo: the stream listing describes every rendition.
func TestLadderStreamInfo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, ladderConfig(VariantFMP4))
		defer m.Close()
		p, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		f := newLadderFeed(t, p)
		if err := f.run(8 * time.Second); err != nil {
			t.Fatal(err)
		}
		infos := m.Streams()
		if len(infos) != 1 {
			t.Fatalf("%d streams", len(infos))
		}
		info := infos[0]
		var videos, audios int
		for _, tr := range info.Tracks {
			switch tr.Kind {
			case "video":
				videos++
			case "audio":
				audios++
			}
		}
		if videos != 3 || audios != 1 || info.Segments == 0 || info.Bandwidth == 0 || info.TargetDuration == 0 || !info.Live {
			t.Errorf("stream info %+v", info)
		}
	})
}

// TestLadderConcurrentReaders: readers of every rendition (plain and
// blocking) run beside the writer (run with -race).
func TestLadderConcurrentReaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, ladderConfig(VariantLowLatency))
		defer m.Close()
		p, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		f := newLadderFeed(t, p)
		f.reverse, f.audioLead = true, 100*time.Millisecond
		if err := f.run(3 * time.Second); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for _, name := range append([]string{MultivariantName}, ladderNames...) {
			wg.Go(func() {
				for ctx.Err() == nil {
					o, err := m.Get(ctx, "live", "cam", name, nil)
					if err != nil || name == MultivariantName {
						time.Sleep(100 * time.Millisecond)
						continue
					}
					pl, err := hlstest.ParseMediaPlaylist(o.Body)
					if err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
					next := pl.MediaSequence + int64(len(pl.Segments))
					_, _ = m.Get(ctx, "live", "cam", name, msnQuery(next, len(pl.Parts)))
					if pl.PreloadHint != "" {
						_, _ = m.Get(ctx, "live", "cam", pl.PreloadHint, nil)
					}
				}
			})
		}
		if err := f.run(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		p.End(true)
		cancel()
		wg.Wait()
	})
}

// TestLadderAlternateAudio: one video track with two audio tracks (E-RTMP
// multitrack audio) is a ladder with two renditions in the audio group.
func TestLadderAlternateAudio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, ladderConfig(VariantLowLatency))
		defer m.Close()
		p, err := m.Publish("live", "cam")
		if err != nil {
			t.Fatal(err)
		}
		v := videoTrack(1, 0)
		a0, a1 := audioTrack(2), audioTrack(3)
		a1.SourceID = 1
		a1.AAC.SampleRate, a1.SampleRate, a1.ClockRate = 48000, 48000, 48000
		if err := p.SetTracks([]*remux.Track{v, a0, a1}); err != nil {
			t.Fatal(err)
		}
		names := []string{"v0.m3u8", "a0.m3u8", "a1.m3u8"}
		check := watchRenditions(t, m, names, VariantLowLatency)
		start := time.Now()
		var vi, ai0, ai1 int64
		var smp remux.Sample
		for vi < 12*30 {
			vt := time.Duration(vi) * time.Second / 30
			t0 := time.Duration(ai0*1024) * time.Second / 44100
			t1 := time.Duration(ai1*1024) * time.Second / 48000
			switch {
			case vt <= t0 && vt <= t1:
				time.Sleep(time.Until(start.Add(vt)))
				nalu := []byte{0x41, 1, 2, 3}
				if vi%60 == 0 {
					nalu[0] = 0x65
				}
				smp = remux.Sample{Track: v, DTS: vi * 3000, PTS: vi * 3000, Key: vi%60 == 0, NALUs: [][]byte{nalu}}
				vi++
			case t0 <= t1:
				time.Sleep(time.Until(start.Add(t0)))
				smp = remux.Sample{Track: a0, DTS: ai0 * 1024, PTS: ai0 * 1024, Key: true, Payload: make([]byte, 200)}
				ai0++
			default:
				time.Sleep(time.Until(start.Add(t1)))
				smp = remux.Sample{Track: a1, DTS: ai1 * 1024, PTS: ai1 * 1024, Key: true, Payload: make([]byte, 400)}
				ai1++
			}
			if err := p.WriteSample(&smp); err != nil {
				t.Fatal(err)
			}
			check()
		}
		o := mustGet(t, m, MultivariantName)
		var mv playlist.Multivariant
		if err := mv.Unmarshal(o.Body); err != nil {
			t.Fatal(err)
		}
		if len(mv.Variants) != 1 || mv.Variants[0].URI != "v0.m3u8" || mv.Variants[0].Audio != "audio" ||
			strings.Join(mv.Variants[0].Codecs, ",") != "avc1.42c028,mp4a.40.2" {
			t.Errorf("variants:\n%s", o.Body)
		}
		if len(mv.Renditions) != 2 || *mv.Renditions[0].URI != "a0.m3u8" || !mv.Renditions[0].Default ||
			*mv.Renditions[1].URI != "a1.m3u8" || mv.Renditions[1].Default || mv.Renditions[1].Name == mv.Renditions[0].Name {
			t.Errorf("audio renditions:\n%s", o.Body)
		}
		lead := parsePlaylist(t, mustGet(t, m, "v0.m3u8"))
		for _, name := range names[1:] {
			pl := parsePlaylist(t, mustGet(t, m, name))
			if pl.MediaSequence != lead.MediaSequence || len(pl.Segments) != len(lead.Segments) || len(pl.RenditionReports) != 2 {
				t.Errorf("%s: MSN %d/%d, %d/%d segments, %d rendition reports", name, pl.MediaSequence, lead.MediaSequence,
					len(pl.Segments), len(lead.Segments), len(pl.RenditionReports))
			}
		}
		infos := m.Streams()
		if len(infos) != 1 || len(infos[0].Renditions) != 3 {
			t.Fatalf("streams: %+v", infos)
		}
		// The variant's bandwidth counts the more demanding audio rendition.
		bw := map[string]int{}
		for _, r := range infos[0].Renditions {
			bw[r.Playlist] = r.Bandwidth
		}
		if bw["a1.m3u8"] <= bw["a0.m3u8"] || mv.Variants[0].Bandwidth != bw["v0.m3u8"]+bw["a1.m3u8"] {
			t.Errorf("BANDWIDTH %d, renditions %v", mv.Variants[0].Bandwidth, bw)
		}
	})
}
