package hls

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls/hlstest"
	"github.com/livegate/gateway/remux"
)

// A valid 1920x1080 baseline SPS (mediacommon's fmp4 test vector) and a PPS.
var (
	testSPS = []byte{
		0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02,
		0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
		0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9,
		0x20,
	}
	testPPS = []byte{0x08}
)

func videoTrack(id, gen int) *remux.Track {
	return &remux.Track{
		ID: id, Kind: remux.KindVideo, Codec: remux.CodecH264, ClockRate: remux.VideoClockRate,
		Generation: gen, Width: 1920, Height: 1080, FrameRate: 30, SPS: testSPS, PPS: testPPS,
	}
}

func audioTrack(id int) *remux.Track {
	return &remux.Track{
		ID: id, Kind: remux.KindAudio, Codec: remux.CodecAAC, ClockRate: 44100,
		SampleRate: 44100, ChannelCount: 2,
		AAC: &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelConfig: 2, ChannelCount: 2},
	}
}

// feeder writes synthetic 30 fps H.264 (+ 44.1 kHz AAC) in DTS order,
// sleeping so that wall time follows media time (run inside synctest).
type feeder struct {
	tb      testing.TB
	p       *Publication
	v, a    *remux.Track
	gop     int   // frames per GOP (key frame interval); 0: no video
	gops    []int // optional GOP pattern, cycled (overrides gop)
	bframes bool  // PTS = DTS + 2 frames
	frame   []byte
	aac     []byte
	sleep   bool
	after   func() // called after every sample

	start  time.Time
	vi, ai int64 // next video frame / audio frame index
	gi, gk int   // GOP pattern position, frames into the GOP
	vBase  int64 // DTS offset (publication timestamps start near 0)
	aBase  int64
	smp    remux.Sample // reused: the sink must not keep it
	nalus  [][]byte
}

func newFeeder(tb testing.TB, p *Publication, v, a *remux.Track) *feeder {
	f := &feeder{tb: tb, p: p, v: v, a: a, gop: 60, sleep: true,
		frame: make([]byte, 2000), aac: make([]byte, 300)}
	var tracks []*remux.Track
	if v != nil {
		tracks = append(tracks, v)
	}
	if a != nil {
		tracks = append(tracks, a)
	}
	if err := p.SetTracks(tracks); err != nil {
		tb.Fatal(err)
	}
	for i := range f.frame {
		f.frame[i] = byte(i)
	}
	return f
}

func (f *feeder) vTime(i int64) time.Duration { return time.Duration(i) * time.Second / 30 }
func (f *feeder) aTime(i int64) time.Duration {
	return time.Duration(i*1024) * time.Second / 44100
}

// run feeds d of media.
func (f *feeder) run(d time.Duration) error {
	if f.start.IsZero() {
		f.start = time.Now()
	}
	end := f.elapsed() + d
	for {
		vt, at := time.Duration(1<<62), time.Duration(1<<62)
		if f.v != nil {
			vt = f.vTime(f.vi)
		}
		if f.a != nil {
			at = f.aTime(f.ai)
		}
		next := min(vt, at)
		if next >= end {
			return nil
		}
		if f.sleep {
			if wait := time.Until(f.start.Add(next)); wait > 0 {
				time.Sleep(wait)
			}
		}
		var err error
		if vt <= at {
			err = f.writeVideo()
		} else {
			err = f.writeAudio()
		}
		if err != nil {
			return err
		}
		if f.after != nil {
			f.after()
		}
	}
}

func (f *feeder) elapsed() time.Duration {
	e := time.Duration(1 << 62)
	if f.v != nil {
		e = f.vTime(f.vi)
	}
	if f.a != nil {
		e = min(e, f.aTime(f.ai))
	}
	return e
}

func (f *feeder) writeVideo() error {
	gop := f.gop
	if len(f.gops) > 0 {
		gop = f.gops[f.gi%len(f.gops)]
	}
	key := f.gk == 0
	f.gk++
	if f.gk >= gop {
		f.gk = 0
		f.gi++
	}
	nalu := f.frame
	nalu[0] = 0x41
	if key {
		nalu[0] = 0x65
	}
	dts := f.vBase + f.vi*3000
	pts := dts
	if f.bframes {
		pts += 6000
	}
	f.vi++
	f.nalus = append(f.nalus[:0], nalu)
	f.smp = remux.Sample{Track: f.v, DTS: dts, PTS: pts, Key: key, NALUs: f.nalus}
	return f.p.WriteSample(&f.smp)
}

func (f *feeder) writeAudio() error {
	dts := f.aBase + f.ai*1024
	f.ai++
	f.smp = remux.Sample{Track: f.a, DTS: dts, PTS: dts, Key: true, Payload: f.aac}
	return f.p.WriteSample(&f.smp)
}

func testConfig(v Variant) Config {
	return Config{
		Variant: v,
		Logger:  zerolog.New(io.Discard),
	}
}

func newTestManager(tb testing.TB, cfg Config) *Manager {
	tb.Helper()
	m, err := NewManager(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func get(tb testing.TB, m *Manager, file string, q url.Values) (*Object, error) {
	tb.Helper()
	return m.Get(context.Background(), "live", "cam", file, q)
}

func mustGet(tb testing.TB, m *Manager, file string) *Object {
	tb.Helper()
	o, err := get(tb, m, file, nil)
	if err != nil {
		tb.Fatalf("get %s: %v", file, err)
	}
	return o
}

// watcher fetches the media playlist whenever it changes and checks every
// snapshot against the previous one.
type watcher struct {
	tb    testing.TB
	m     *Manager
	rules hlstest.Rules
	prev  *hlstest.MediaPlaylist
	etag  string
	seen  int
	last  *hlstest.MediaPlaylist
}

func (w *watcher) poll() {
	w.tb.Helper()
	o, err := get(w.tb, w.m, MediaPlaylistName, nil)
	if errors.Is(err, ErrNotFound) {
		return
	}
	if err != nil {
		w.tb.Fatalf("playlist: %v", err)
	}
	if o.ETag == w.etag {
		return
	}
	w.etag = o.ETag
	w.seen++
	pl, err := hlstest.ParseMediaPlaylist(o.Body)
	if err != nil {
		w.tb.Fatalf("parse: %v\n%s", err, o.Body)
	}
	if err := hlstest.CheckMediaPlaylist(w.prev, pl, w.rules); err != nil {
		w.tb.Fatalf("playlist rules: %v\n%s", err, o.Body)
	}
	if len(pl.Segments) > 0 {
		var gp playlist.Media
		if err := gp.Unmarshal(o.Body); err != nil {
			w.tb.Fatalf("gohlslib cannot parse: %v\n%s", err, o.Body)
		}
	}
	if o.ContentType != contentTypePlaylist || o.Kind != KindMediaPlaylist {
		w.tb.Fatalf("playlist object %v %q", o.Kind, o.ContentType)
	}
	w.prev, w.last = pl, pl
}

func rulesFor(v Variant) hlstest.Rules {
	return hlstest.Rules{FMP4: v.isFMP4(), LowLatency: v == VariantLowLatency}
}

func parsePlaylist(tb testing.TB, o *Object) *hlstest.MediaPlaylist {
	tb.Helper()
	pl, err := hlstest.ParseMediaPlaylist(o.Body)
	if err != nil {
		tb.Fatalf("parse: %v\n%s", err, o.Body)
	}
	return pl
}

func rulesCheck(prev, cur *hlstest.MediaPlaylist, r hlstest.Rules) error {
	return hlstest.CheckMediaPlaylist(prev, cur, r)
}

// mp4Boxes walks the boxes of b, descending into the container boxes
// listed, and calls fn for each.
func mp4Boxes(b []byte, fn func(typ string, body []byte)) {
	for len(b) >= 8 {
		size := int(binary.BigEndian.Uint32(b))
		if size < 8 || size > len(b) {
			return
		}
		typ := string(b[4:8])
		fn(typ, b[8:size])
		switch typ {
		case "moof", "traf", "moov", "trak", "mdia", "minf", "stbl", "mvex":
			mp4Boxes(b[8:size], fn)
		}
		b = b[size:]
	}
}

// tfdts returns the (track ID, base media decode time) of every traf in an
// fMP4 segment, in order.
func tfdts(b []byte) (ids []uint32, times []uint64) {
	mp4Boxes(b, func(typ string, body []byte) {
		switch typ {
		case "tfhd":
			ids = append(ids, binary.BigEndian.Uint32(body[4:]))
		case "tfdt":
			if body[0] == 1 {
				times = append(times, binary.BigEndian.Uint64(body[4:]))
			} else {
				times = append(times, uint64(binary.BigEndian.Uint32(body[4:])))
			}
		}
	})
	return ids, times
}

// segmentLog fetches every segment the first time a playlist lists it and
// checks that fMP4 decode times never go back per track.
type segmentLog struct {
	tb   testing.TB
	m    *Manager
	seen map[string]bool
	last map[uint32]uint64
	segs []hlstest.Segment
}

func (l *segmentLog) observe(pl *hlstest.MediaPlaylist, fmp4 bool) {
	l.tb.Helper()
	if l.seen == nil {
		l.seen, l.last = map[string]bool{}, map[uint32]uint64{}
	}
	for _, s := range pl.Segments {
		if l.seen[s.URI] {
			continue
		}
		l.seen[s.URI] = true
		l.segs = append(l.segs, s)
		o := mustGet(l.tb, l.m, s.URI)
		if !fmp4 {
			continue
		}
		ids, times := tfdts(o.Body)
		for i, id := range ids {
			if times[i] < l.last[id] {
				l.tb.Errorf("segment %d: track %d tfdt %d went back from %d", s.MSN, id, times[i], l.last[id])
			}
			l.last[id] = times[i]
		}
	}
}
