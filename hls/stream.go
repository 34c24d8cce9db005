package hls

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// stream is the state of one stream name: its playlist continues across
// publications (media and discontinuity sequences never go back) until it
// ends and its retention runs out.
type stream struct {
	m         *Manager
	app, name string
	prefix    string
	log       zerolog.Logger
	created   time.Time

	snap       atomic.Pointer[snapshot]
	renderHint atomic.Int64 // size of the last rendered media playlist

	// Counters for StreamInfo, cumulative over the stream's publications.
	in        rateMeter     // media bytes received from publishers
	framesIn  atomic.Uint64 // media messages received from publishers
	segsOut   atomic.Uint64 // segments published
	publisher atomic.Pointer[publisherInfo]

	// Adaptive ladder (ladder.go): a stream published from several video
	// tracks serves ladder's renditions, each an inner stream whose parent
	// is this one; inner streams follow their parent's lifecycle state.
	ladder atomic.Pointer[ladder]
	parent *stream
	rname  string // an inner stream's media playlist name

	mu       sync.Mutex
	state    streamState
	pub      *Publication
	timer    *time.Timer
	timerGen uint64
	version  uint64

	td       int
	segs     []*segment // copy-on-write: published snapshots share it
	win      int
	dsn      int64
	nextMSN  int64
	open     openSegment
	nextDisc bool
	inits    []*initSection // copy-on-write
	curInit  *initSection
	nextInit int
	endNs    int64     // output timeline end of everything published (ns)
	pdtEnd   time.Time // PROGRAM-DATE-TIME end of the last segment
	media    mediaInfo
	fps      float64
	peakBW   int
	avgBW    int
}

// publisherInfo describes the live publisher of a stream (or, for a group
// rendition, of the member feeding it: name is the member's stream name).
type publisherInfo struct {
	remote string
	since  time.Time
	name   string
}

func newStream(m *Manager, app, name string) *stream {
	s := &stream{
		m:       m,
		app:     app,
		name:    name,
		prefix:  newPrefix(),
		log:     m.log.With().Str("app", app).Str("stream", name).Logger(),
		created: m.cfg.Now(),
		endNs:   timelineOrigin,
	}
	s.mu.Lock()
	s.publishLocked()
	s.mu.Unlock()
	return s
}

// publishLocked replaces the snapshot and wakes everyone waiting on the old one.
func (s *stream) publishLocked() {
	s.version++
	v := &snapshot{
		s:       s,
		version: s.version,
		changed: make(chan struct{}),
		modTime: s.m.cfg.Now(),
		state:   s.state,
		td:      s.td,
		segs:    s.segs,
		win:     s.win,
		dsn:     s.dsn,
		open:    s.open,
		inits:   s.inits,
		media:   s.media,
		peakBW:  s.peakBW,
		avgBW:   s.avgBW,
	}
	v.frameRate = s.fps
	if s.m.cfg.Variant == VariantLowLatency && s.td > 0 && (s.state == stateLive || s.state == stateWaiting) {
		v.hint = true
	}
	if v.peakBW == 0 && len(v.open.parts) > 0 {
		// LL-HLS before the first segment: measure the parts.
		var size int
		var dur time.Duration
		for _, pt := range v.open.parts {
			size += len(pt.obj.Body)
			dur += pt.dur
		}
		if dur > 0 {
			v.peakBW = int(float64(size) * 8 / dur.Seconds())
			v.avgBW = v.peakBW
		}
	}
	old := s.snap.Swap(v)
	if old != nil {
		close(old.changed)
	}
	if l := s.ladder.Load(); l != nil {
		for _, r := range l.renditions {
			r.s.mirror(s.state)
		}
	}
}

func (s *stream) tdDuration() time.Duration { return time.Duration(s.td) * time.Second }

// availability estimates, from below, how long a new object stays served
// (Object.Expires): a segment spends about SegmentCount × SegmentDuration in
// the window and as long again retired, unless the stream ends and its
// retention runs out first.
func (s *stream) availability() time.Duration {
	return min(time.Duration(s.m.cfg.SegmentCount)*s.m.cfg.SegmentDuration, s.m.cfg.Retention)
}

func (s *stream) segmentContentType() string {
	if s.m.cfg.Variant == VariantMPEGTS {
		return contentTypeTS
	}
	return s.mp4ContentType(s.media)
}

func (s *stream) mp4ContentType(m mediaInfo) string {
	if m.hasVideo {
		return contentTypeMP4Video
	}
	return contentTypeMP4Audio
}

// etag builds a strong entity tag from the stream prefix and the object's
// sequence numbers: the same URL always has the same bytes.
func (s *stream) etag(kind byte, n int64, part int) string {
	b := make([]byte, 0, 40)
	b = append(b, '"')
	b = append(b, s.prefix...)
	b = append(b, '-', kind)
	b = appendInt(b, n)
	if part >= 0 {
		b = append(b, '.')
		b = appendInt(b, int64(part))
	}
	b = append(b, '"')
	return string(b)
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

func roundSeconds(d time.Duration) int {
	return int((d + time.Second/2) / time.Second)
}

// Content types, set explicitly (never from the mime table; see
// notes/hls-origin-and-style.md A2).
const (
	contentTypePlaylist = "application/vnd.apple.mpegurl"
	contentTypeTS       = "video/mp2t"
	contentTypeMP4Video = "video/mp4"
	contentTypeMP4Audio = "audio/mp4"
)
