package hls

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/livegate/gateway/hls/hlstest"
	"github.com/livegate/gateway/remux"
)

// groupConfig groups cam_hi and cam_lo into the ladder "cam".
func groupConfig(v Variant) Config {
	cfg := testConfig(v)
	cfg.Groups = []GroupRule{{Renditions: []string{"{stream}_hi", "{stream}_lo"}}}
	return cfg
}

// memberFeed is one member publisher of a groupFeed: 30 fps H.264 and
// 44.1 kHz AAC whose timestamps start at 0 when it joins, with base the
// RTMP timestamp of its first frame (remux.Sample.Base).
type memberFeed struct {
	p      *Publication
	v, a   *remux.Track
	size   int
	join   time.Duration // wall time of its first frame, from the feed's start
	base   int64         // ms
	vi, ai int64
	done   bool
	// Samples due in [stallFrom, stallUntil) arrive together at stallUntil
	// (a publisher or its connection stalling).
	stallFrom, stallUntil time.Duration
}

// arrival is when a sample due at t is written.
func (mf *memberFeed) arrival(t time.Duration) time.Duration {
	if t >= mf.stallFrom && t < mf.stallUntil {
		return mf.stallUntil
	}
	return t
}

// groupFeed writes its members' samples in time order, wall time following
// media time (run inside synctest).
type groupFeed struct {
	tb      testing.TB
	m       *Manager
	start   time.Time
	now     time.Duration
	gop     int64
	members map[string]*memberFeed
	smp     remux.Sample
	after   func()
}

func newGroupFeed(tb testing.TB, m *Manager) *groupFeed {
	return &groupFeed{tb: tb, m: m, start: time.Now(), gop: 60, members: map[string]*memberFeed{}}
}

// join publishes member name now. shared: its timestamps continue the
// group's encoder clock (an output of the same encoder); otherwise they
// start at 0 (an encoder of its own).
func (f *groupFeed) join(name string, width, height, size int, shared bool) *memberFeed {
	f.tb.Helper()
	p, err := f.m.Publish("live", name)
	if err != nil {
		f.tb.Fatalf("publish %s: %v", name, err)
	}
	v := videoTrack(1, 0)
	v.Width, v.Height = width, height
	mf := &memberFeed{p: p, v: v, a: audioTrack(2), size: size, join: f.now}
	if shared {
		// Its first frame is the encoder's next frame (every 100 ms is one).
		mf.join = (f.now + 99*time.Millisecond) / (100 * time.Millisecond) * (100 * time.Millisecond)
		mf.base = mf.join.Milliseconds()
	}
	if err := p.SetTracks([]*remux.Track{mf.v, mf.a}); err != nil {
		f.tb.Fatal(err)
	}
	f.members[name] = mf
	return mf
}

func (mf *memberFeed) vTime() time.Duration {
	return mf.join + time.Duration(mf.vi)*time.Second/30
}

func (mf *memberFeed) aTime() time.Duration {
	return mf.join + time.Duration(mf.ai*1024)*time.Second/44100
}

// run writes every live member's samples for d.
func (f *groupFeed) run(d time.Duration) error {
	end := f.now + d
	for {
		var next *memberFeed
		var at, due time.Duration
		var video bool
		for _, mf := range f.members {
			if mf.done {
				continue
			}
			if t := mf.vTime(); next == nil || mf.arrival(t) < at || mf.arrival(t) == at && t < due {
				next, at, due, video = mf, mf.arrival(t), t, true
			}
			if t := mf.aTime(); mf.arrival(t) < at || mf.arrival(t) == at && t < due {
				next, at, due, video = mf, mf.arrival(t), t, false
			}
		}
		if next == nil || at >= end {
			f.now = end
			time.Sleep(time.Until(f.start.Add(end)))
			return nil
		}
		f.now = at
		time.Sleep(time.Until(f.start.Add(at)))
		mf := next
		if video {
			// Key frames every gop frames of the encoder's clock.
			frame := mf.vi + mf.base*30/1000
			key := frame%f.gop == 0
			nalu := make([]byte, mf.size)
			nalu[0] = 0x41
			if key {
				nalu[0] = 0x65
			}
			f.smp = remux.Sample{Track: mf.v, DTS: mf.vi * 3000, PTS: mf.vi * 3000, Key: key, NALUs: [][]byte{nalu}, Base: mf.base}
			mf.vi++
		} else {
			f.smp = remux.Sample{Track: mf.a, DTS: mf.ai * 1024, PTS: mf.ai * 1024, Key: true, Payload: make([]byte, 300), Base: mf.base}
			mf.ai++
		}
		if err := mf.p.WriteSample(&f.smp); err != nil {
			return err
		}
		if f.after != nil {
			f.after()
		}
	}
}

// leave ends member name's publication.
func (f *groupFeed) leave(name string, clean bool) {
	mf := f.members[name]
	mf.done = true
	mf.p.End(clean)
}

// groupVariants returns the URIs of the multivariant playlist's variants.
func groupVariants(t *testing.T, m *Manager) (*playlist.Multivariant, []string) {
	t.Helper()
	o := mustGet(t, m, MultivariantName)
	var mv playlist.Multivariant
	if err := mv.Unmarshal(o.Body); err != nil {
		t.Fatalf("multivariant: %v\n%s", err, o.Body)
	}
	var uris []string
	for _, va := range mv.Variants {
		uris = append(uris, va.URI)
	}
	return &mv, uris
}

// segmentStarts maps the media sequence numbers of a rendition's segments
// to their first decode time (tfdt, in ms).
func segmentStarts(t *testing.T, m *Manager, name string) (map[int64]int64, *hlstest.MediaPlaylist) {
	t.Helper()
	pl := parsePlaylist(t, mustGet(t, m, name))
	out := map[int64]int64{}
	for _, seg := range pl.Segments {
		if seg.Gap {
			continue
		}
		_, times := tfdts(mustGet(t, m, seg.URI).Body)
		if len(times) == 0 {
			t.Fatalf("%s: segment %d has no tfdt", name, seg.MSN)
		}
		clock := uint64(90000)
		if strings.HasPrefix(name, "audio") {
			clock = 44100
		}
		out[seg.MSN] = int64(times[0] * 1000 / clock)
	}
	return out, pl
}

// checkGroupAligned checks that a follower's segments start where the
// leader's segments with the same media sequence number start (within tol).
func checkGroupAligned(t *testing.T, m *Manager, lead, follower string, tol time.Duration) int {
	t.Helper()
	ls, _ := segmentStarts(t, m, lead)
	fs, _ := segmentStarts(t, m, follower)
	n := 0
	for msn, ft := range fs {
		lt, ok := ls[msn]
		if !ok {
			continue
		}
		n++
		if d := time.Duration(ft-lt) * time.Millisecond; d > tol || d < -tol {
			t.Errorf("%s segment %d starts %v from %s's", follower, msn, d, lead)
		}
	}
	return n
}

func TestGroupSharedClock(t *testing.T) {
	for _, v := range []Variant{VariantFMP4, VariantLowLatency} {
		t.Run(string(v), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, groupConfig(v))
				defer m.Close()
				f := newGroupFeed(t, m)
				f.join("cam_hi", 1280, 720, 3000, true)
				// The second output of the encoder connects 80 ms later.
				if err := f.run(80 * time.Millisecond); err != nil {
					t.Fatal(err)
				}
				f.join("cam_lo", 640, 360, 800, true)
				names := []string{"v_hi.m3u8", "v_lo.m3u8", "audio.m3u8"}
				f.after = watchRenditions(t, m, names, v)
				if err := f.run(16 * time.Second); err != nil {
					t.Fatal(err)
				}
				f.after = nil

				mv, uris := groupVariants(t, m)
				if strings.Join(uris, ",") != "v_lo.m3u8,v_hi.m3u8" {
					t.Fatalf("variants %v, want v_lo then v_hi (by bandwidth)", uris)
				}
				if mv.Variants[0].Resolution != "640x360" || mv.Variants[1].Resolution != "1280x720" ||
					mv.Variants[0].Audio != "audio" || len(mv.Variants[1].Codecs) != 2 {
					t.Errorf("variants: %+v %+v", mv.Variants[0], mv.Variants[1])
				}
				if len(mv.Renditions) != 1 || mv.Renditions[0].URI == nil || *mv.Renditions[0].URI != "audio.m3u8" {
					t.Errorf("audio group: %+v", mv.Renditions)
				}
				if n := checkGroupAligned(t, m, "v_hi.m3u8", "v_lo.m3u8", time.Millisecond); n < 5 {
					t.Errorf("%d aligned segments, want 5 or more", n)
				}
				checkGroupAligned(t, m, "v_hi.m3u8", "audio.m3u8", 30*time.Millisecond)
				hi := parsePlaylist(t, mustGet(t, m, "v_hi.m3u8"))
				lo := parsePlaylist(t, mustGet(t, m, "v_lo.m3u8"))
				for i := range min(len(hi.Segments), len(lo.Segments)) {
					if hi.Segments[i].MSN != lo.Segments[i].MSN || hi.Segments[i].Duration != lo.Segments[i].Duration {
						t.Errorf("segment %d: hi %d %v, lo %d %v", i, hi.Segments[i].MSN, hi.Segments[i].Duration,
							lo.Segments[i].MSN, lo.Segments[i].Duration)
					}
				}
				if v == VariantLowLatency && len(lo.RenditionReports) != 2 {
					t.Errorf("v_lo: %d rendition reports, want 2", len(lo.RenditionReports))
				}
				if _, err := get(t, m, MediaPlaylistName, nil); !errors.Is(err, ErrNotFound) {
					t.Errorf("stream.m3u8 of a group: %v, want ErrNotFound", err)
				}
				infos := m.Streams()
				if len(infos) != 1 || infos[0].Name != "cam" || len(infos[0].Tracks) != 3 || !infos[0].Live {
					t.Errorf("streams: %+v", infos)
				}
				checkRenditions(t, m, "v_hi.m3u8 video cam_hi live", "audio.m3u8 audio cam_hi live", "v_lo.m3u8 video cam_lo live")

				f.leave("cam_hi", true)
				if pl := parsePlaylist(t, mustGet(t, m, "v_lo.m3u8")); pl.Endlist {
					t.Fatal("the group ended while a member is live")
				}
				f.leave("cam_lo", true)
				for _, name := range names {
					if pl := parsePlaylist(t, mustGet(t, m, name)); !pl.Endlist {
						t.Errorf("%s: no EXT-X-ENDLIST after the last member left", name)
					}
				}
			})
		})
	}
}

// TestGroupLateOutput: an output of the same encoder that connects 7 s
// late (its timestamps continue the encoder's clock) is aligned exactly.
func TestGroupLateOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, groupConfig(VariantFMP4))
		defer m.Close()
		f := newGroupFeed(t, m)
		f.join("cam_hi", 1280, 720, 3000, true)
		if err := f.run(7 * time.Second); err != nil {
			t.Fatal(err)
		}
		f.join("cam_lo", 640, 360, 800, true)
		if err := f.run(12 * time.Second); err != nil {
			t.Fatal(err)
		}
		if n := checkGroupAligned(t, m, "v_hi.m3u8", "v_lo.m3u8", time.Millisecond); n < 4 {
			t.Errorf("%d aligned segments, want 4 or more", n)
		}
		// Nothing came before its first segment: no discontinuity.
		if lo := parsePlaylist(t, mustGet(t, m, "v_lo.m3u8")); lo.Segments[0].Discontinuity || lo.Segments[0].MSN == 0 {
			t.Errorf("late rendition's first segment %d: discontinuity %v", lo.Segments[0].MSN, lo.Segments[0].Discontinuity)
		}
	})
}

// TestGroupArrivalPlacement: a member whose timestamps start at 0 long
// after the group started is placed at its arrival, not at the start.
func TestGroupArrivalPlacement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := groupConfig(VariantFMP4)
		cfg.SegmentCount = 20
		m := newTestManager(t, cfg)
		defer m.Close()
		f := newGroupFeed(t, m)
		f.join("cam_hi", 1280, 720, 3000, true)
		if err := f.run(7 * time.Second); err != nil {
			t.Fatal(err)
		}
		f.join("cam_lo", 640, 360, 800, false) // its own encoder: key frames at 7, 9, 11 s...
		if err := f.run(12 * time.Second); err != nil {
			t.Fatal(err)
		}
		ls, _ := segmentStarts(t, m, "v_hi.m3u8")
		fs, lo := segmentStarts(t, m, "v_lo.m3u8")
		first := fs[lo.Segments[0].MSN]
		// v_hi's segments last 2 s from its first key frame at 0 s.
		hiStart := ls[0]
		if d := first - ls[lo.Segments[0].MSN]; d < 0 || d > 2000 {
			t.Errorf("v_lo's first segment starts %d ms after v_hi's with the same number, want 0..2000", d)
		}
		if d := time.Duration(first-hiStart) * time.Millisecond; d < 6*time.Second || d > 12*time.Second {
			t.Errorf("v_lo starts %v into the group, want about 7-9 s", d)
		}
	})
}

// TestGroupLeaderLeaves: when the leading member leaves, the next one leads
// (its segments keep starting on its key frames) and the variant of the
// one that left is no longer offered; back, it is offered again after a
// discontinuity and aligned.
func TestGroupLeaderLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, groupConfig(VariantLowLatency))
		defer m.Close()
		f := newGroupFeed(t, m)
		f.join("cam_hi", 1280, 720, 3000, true)
		f.join("cam_lo", 640, 360, 800, true)
		if err := f.run(8 * time.Second); err != nil {
			t.Fatal(err)
		}
		f.leave("cam_hi", false)
		if err := f.run(8 * time.Second); err != nil {
			t.Fatal(err)
		}
		if _, uris := groupVariants(t, m); strings.Join(uris, ",") != "v_lo.m3u8" {
			t.Errorf("variants %v while cam_hi is away, want v_lo only", uris)
		}
		lo := parsePlaylist(t, mustGet(t, m, "v_lo.m3u8"))
		for _, seg := range lo.Segments {
			if seg.Duration < 1900*time.Millisecond || seg.Duration > 2100*time.Millisecond {
				t.Errorf("v_lo segment %d lasts %v, want 2 s (cut on its key frames)", seg.MSN, seg.Duration)
			}
		}
		delete(f.members, "cam_hi")
		f.join("cam_hi", 1280, 720, 3000, true)
		if err := f.run(8 * time.Second); err != nil {
			t.Fatal(err)
		}
		if _, uris := groupVariants(t, m); len(uris) != 2 {
			t.Errorf("variants %v after cam_hi came back", uris)
		}
		ho := mustGet(t, m, "v_hi.m3u8")
		hi := parsePlaylist(t, ho)
		if err := rulesCheck(nil, hi, rulesFor(VariantLowLatency)); err != nil {
			t.Errorf("v_hi: %v\n%s", err, ho.Body)
		}
		disc, gaps := false, 0
		for _, seg := range hi.Segments {
			disc = disc || seg.Discontinuity
			if seg.Gap {
				gaps++
				if _, err := get(t, m, seg.URI, nil); !errors.Is(err, ErrNotFound) {
					t.Errorf("gap segment %s: %v, want ErrNotFound", seg.URI, err)
				}
			}
		}
		if !disc || gaps < 3 {
			t.Errorf("v_hi: discontinuity %v, %d gap segments while away, want a discontinuity and 3 or more:\n%s", disc, gaps, ho.Body)
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("v_hi:\n%s", ho.Body)
		}
		if n := checkGroupAligned(t, m, "v_lo.m3u8", "v_hi.m3u8", time.Millisecond); n < 2 {
			t.Errorf("%d aligned segments after the return", n)
		}
		ok := false
		for _, rr := range parsePlaylist(t, mustGet(t, m, "v_lo.m3u8")).RenditionReports {
			ok = ok || rr.URI == "v_hi.m3u8"
		}
		if !ok {
			t.Error("v_lo has no rendition report for v_hi")
		}
	})
}

func TestGroupPublishRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := groupConfig(VariantFMP4)
		cfg.ReconnectWindow = 5 * time.Second
		m := newTestManager(t, cfg)
		defer m.Close()
		f := newGroupFeed(t, m)
		hi := f.join("cam_hi", 1280, 720, 3000, true)
		lo := f.join("cam_lo", 640, 360, 800, true)
		if err := f.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Publish("live", "cam"); !errors.Is(err, ErrStreamBusy) {
			t.Errorf("direct publish on a live group's name: %v, want ErrStreamBusy", err)
		}

		// Takeover of a member (the default policy).
		old := lo.p
		f.join("cam_lo", 640, 360, 800, true)
		select {
		case <-old.Done():
		default:
			t.Error("taken-over member's Done not closed")
		}
		if err := old.WriteSample(&f.smp); !errors.Is(err, ErrTakenOver) {
			t.Errorf("write after takeover: %v", err)
		}
		if err := f.run(3 * time.Second); err != nil {
			t.Fatal(err)
		}

		// Kick one member: the group goes on.
		lo = f.members["cam_lo"]
		if err := m.Kick("live", "cam_lo"); err != nil {
			t.Fatal(err)
		}
		lo.done = true
		if err := lo.p.WriteSample(&f.smp); !errors.Is(err, ErrKicked) {
			t.Errorf("write after kick: %v", err)
		}
		if err := f.run(2 * time.Second); err != nil {
			t.Fatal(err)
		}
		if pl := parsePlaylist(t, mustGet(t, m, "v_hi.m3u8")); pl.Endlist {
			t.Fatal("kicking one member ended the group")
		}
		checkRenditions(t, m, "v_hi.m3u8 video cam_hi live", "audio.m3u8 audio cam_hi live", "v_lo.m3u8 video  idle")

		// The last member lost: the group waits, and a member continues it.
		f.leave("cam_hi", false)
		if infos := m.Streams(); len(infos) != 1 || infos[0].Live || infos[0].Ended {
			t.Fatalf("after the last member was lost: %+v", infos)
		}
		delete(f.members, "cam_hi")
		delete(f.members, "cam_lo")
		if err := f.run(time.Second); err != nil {
			t.Fatal(err)
		}
		hi = f.join("cam_hi", 1280, 720, 3000, false)
		if err := f.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		pl := parsePlaylist(t, mustGet(t, m, "v_hi.m3u8"))
		if pl.Endlist || !pl.Segments[len(pl.Segments)-1].PDT.After(pl.Segments[0].PDT) {
			t.Fatalf("group not continued:\n%s", mustGet(t, m, "v_hi.m3u8").Body)
		}
		disc := 0
		for _, seg := range pl.Segments {
			if seg.Discontinuity {
				disc++
			}
		}
		if disc == 0 {
			t.Error("no discontinuity after the group resumed")
		}

		// Kick the group: every member ends.
		if err := m.Kick("live", "cam"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-hi.p.Done():
		default:
			t.Error("kicking the group left a member running")
		}
		if pl := parsePlaylist(t, mustGet(t, m, "v_hi.m3u8")); !pl.Endlist {
			t.Error("no EXT-X-ENDLIST after the group was kicked")
		}
	})
}

// checkRenditions compares the stream listing's renditions of "cam" with
// want: "playlist kind member live|idle", in order.
func checkRenditions(t *testing.T, m *Manager, want ...string) {
	t.Helper()
	var got []string
	for _, si := range m.Streams() {
		if si.Name != "cam" {
			continue
		}
		for _, r := range si.Renditions {
			state := "idle"
			if r.Live {
				state = "live"
			}
			if r.Bandwidth <= 0 && r.Live {
				state += " (no bandwidth)"
			}
			got = append(got, strings.Join([]string{r.Playlist, r.Kind, r.Member, state}, " "))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("renditions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGroupRejectAndDirect(t *testing.T) {
	cfg := groupConfig(VariantFMP4)
	cfg.Takeover = TakeoverReject
	m := newTestManager(t, cfg)
	defer m.Close()
	p, err := m.Publish("live", "cam_hi")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Publish("live", "cam_hi"); !errors.Is(err, ErrStreamBusy) {
		t.Errorf("second publisher of a member under reject: %v", err)
	}
	p.End(true)

	// A directly published name refuses members of a group of that name.
	d, err := m.Publish("live", "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Publish("live", "other_lo"); !errors.Is(err, ErrStreamBusy) {
		t.Errorf("member publish while the group's name is published directly: %v", err)
	}
	d.End(true)
	if _, err := m.Publish("live", "other_lo"); err != nil {
		t.Errorf("member publish after the direct publisher left: %v", err)
	}
}

func TestGroupRules(t *testing.T) {
	for _, tc := range []struct {
		rules   []GroupRule
		variant Variant
		err     string
	}{
		{[]GroupRule{{Renditions: []string{"{stream}_720", "hd-{stream}"}}}, VariantFMP4, ""},
		{[]GroupRule{{Renditions: []string{"{stream}_720"}}}, VariantMPEGTS, "fmp4 or lowlatency"},
		{[]GroupRule{{}}, VariantFMP4, "no renditions"},
		{[]GroupRule{{Renditions: []string{"stream_720"}}}, VariantFMP4, "exactly once"},
		{[]GroupRule{{Renditions: []string{"{stream}_{stream}"}}}, VariantFMP4, "exactly once"},
		{[]GroupRule{{Renditions: []string{"{stream}"}}}, VariantFMP4, "fixed text"},
		{[]GroupRule{{Renditions: []string{"{stream}/x"}}}, VariantFMP4, "not allowed"},
		{[]GroupRule{{Renditions: []string{"{stream}.a", "{stream}-a"}}}, VariantFMP4, "same rendition name"},
	} {
		cfg := testConfig(tc.variant)
		cfg.Groups = tc.rules
		_, err := NewManager(cfg)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: %v, want %q", tc.rules, err, tc.err)
		}
	}
	m := newTestManager(t, Config{Groups: []GroupRule{
		{Renditions: []string{"{stream}_720", "{stream}_480"}},
		{Renditions: []string{"hd.{stream}"}},
	}})
	for name, want := range map[string]string{
		"foo_720": "foo/v_720", "foo_480": "foo/v_480", "a_b_720": "a_b/v_720", "hd.x": "x/vhd-",
		"_720": "", "foo": "", "foo_1080": "",
	} {
		g, pat, ok := m.matchGroup(name)
		got := ""
		if ok {
			got = g + "/" + pat.key
		}
		if got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// TestGroupReturnWithStalls: a rendition from another encoder comes back
// while one publisher stalls and then catches up in a burst: the returning
// rendition's segments still end on its key frames.
func TestGroupReturnWithStalls(t *testing.T) {
	for _, who := range []string{"cam_hi", "cam_lo"} {
		for _, from := range []time.Duration{0, 300 * time.Millisecond, 900 * time.Millisecond} {
			for _, stall := range []time.Duration{0, 400 * time.Millisecond, 700 * time.Millisecond, 1500 * time.Millisecond, 2500 * time.Millisecond} {
				t.Run(fmt.Sprintf("%s/%v/%v", who, from, stall), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						cfg := groupConfig(VariantLowLatency)
						cfg.SegmentDuration = time.Second
						cfg.SegmentCount = 30
						m := newTestManager(t, cfg)
						defer m.Close()
						f := newGroupFeed(t, m)
						f.gop = 30
						f.join("cam_hi", 1280, 720, 3000, true)
						if err := f.run(3*time.Second + 370*time.Millisecond); err != nil {
							t.Fatal(err)
						}
						f.join("cam_lo", 640, 360, 800, false)
						if err := f.run(4 * time.Second); err != nil {
							t.Fatal(err)
						}
						f.leave("cam_lo", false)
						delete(f.members, "cam_lo")
						if err := f.run(3 * time.Second); err != nil {
							t.Fatal(err)
						}
						f.join("cam_lo", 640, 360, 800, false)
						mf := f.members[who]
						mf.stallFrom, mf.stallUntil = f.now+from, f.now+from+stall
						if err := f.run(8 * time.Second); err != nil {
							t.Fatal(err)
						}
						o := mustGet(t, m, "v_lo.m3u8")
						pl := parsePlaylist(t, o)
						for i, s := range pl.Segments[:len(pl.Segments)-1] {
							if !s.Gap && s.Duration > 1100*time.Millisecond && !pl.Segments[i+1].Discontinuity {
								t.Errorf("v_lo segment %d lasts %v", s.MSN, s.Duration)
							}
						}
						if t.Failed() {
							t.Logf("%s", o.Body)
						}
					})
				})
			}
		}
	}
}

// TestGroupUnalignedTakeover: when the leader's publisher leaves, a
// rendition from another encoder (key frames out of phase with the
// leader's cuts) takes the lead without a forced, non-independent segment.
func TestGroupUnalignedTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := groupConfig(VariantLowLatency)
		cfg.SegmentDuration = time.Second
		cfg.SegmentCount = 30
		m := newTestManager(t, cfg)
		defer m.Close()
		f := newGroupFeed(t, m)
		f.gop = 30
		f.join("cam_hi", 1280, 720, 3000, true)
		if err := f.run(2*time.Second + 370*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		f.join("cam_lo", 640, 360, 800, false)
		if err := f.run(5*time.Second + 250*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		f.leave("cam_hi", true)
		if err := f.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		o := mustGet(t, m, "v_lo.m3u8")
		pl := parsePlaylist(t, o)
		if !pl.IndependentSegments {
			t.Error("v_lo lost EXT-X-INDEPENDENT-SEGMENTS: a cut was forced")
		}
		for _, s := range pl.Segments {
			if s.Duration > 1100*time.Millisecond {
				t.Errorf("v_lo segment %d lasts %v", s.MSN, s.Duration)
			}
		}
		if t.Failed() {
			t.Logf("%s", o.Body)
		}
	})
}
