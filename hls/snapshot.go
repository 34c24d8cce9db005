package hls

import (
	"sync"
	"time"
)

// streamState is a stream's lifecycle state.
type streamState uint8

const (
	// stateIdle: created by Publish, no publisher attached yet (transient).
	stateIdle streamState = iota
	// stateLive: a publisher is attached.
	stateLive
	// stateWaiting: the publisher was lost; waiting ReconnectWindow for a new one.
	stateWaiting
	// stateEnded: EXT-X-ENDLIST; served for Retention, then freed.
	stateEnded
	// stateFreed: removed from the Manager; everything is gone.
	stateFreed
)

func (s streamState) String() string {
	switch s {
	case stateIdle:
		return "idle"
	case stateLive:
		return "live"
	case stateWaiting:
		return "waiting"
	case stateEnded:
		return "ended"
	case stateFreed:
		return "freed"
	}
	return "unknown"
}

// segment is a complete media segment. Immutable once published, except
// expires, which only the writer side reads and writes (under stream.mu).
type segment struct {
	msn         int64
	obj         *Object
	dur         time.Duration
	pdt         time.Time
	disc        bool
	gap         bool         // EXT-X-GAP: no media (obj nil); see group.go
	init        *initSection // fMP4; nil for MPEG-TS
	independent bool
	parts       []*part // LL-HLS
	size        int
	frames      int

	expires time.Time // writer-only: when a retired segment may be dropped
}

// part is an LL-HLS partial segment.
type part struct {
	obj         *Object
	dur         time.Duration
	independent bool
}

// initSection is an fMP4 init section (EXT-X-MAP).
type initSection struct {
	n   int
	obj *Object
}

// openSegment is the segment in progress (LL-HLS shows its parts).
type openSegment struct {
	msn         int64
	started     bool
	pdt         time.Time
	disc        bool
	init        *initSection
	independent bool
	parts       []*part
}

// mediaInfo describes the current configuration of a stream.
type mediaInfo struct {
	codecs        []string
	hasVideo      bool
	width, height int
	frameRate     float64 // nominal, from the track (0: unknown)
	tracks        []TrackInfo
}

// snapshot is an immutable view of a stream, replaced (never modified) on
// every change and published with an atomic pointer swap: readers never
// block the writer. changed is closed when the next snapshot replaces it,
// which wakes every blocked request at once.
type snapshot struct {
	s       *stream
	version uint64
	changed chan struct{}
	modTime time.Time
	state   streamState

	td   int // seconds; 0 until fixed
	segs []*segment
	win  int   // segs[win:] is the playlist window; segs[:win] are retired but still served
	dsn  int64 // EXT-X-DISCONTINUITY-SEQUENCE of segs[win]
	open openSegment
	// hint: EXT-X-PRELOAD-HINT for part (open.msn, len(open.parts)).
	hint  bool
	inits []*initSection

	media     mediaInfo
	frameRate float64 // measured on the last segment (0: unknown)
	peakBW    int
	avgBW     int

	full, delta, multi lazyObject
}

// lazyObject renders a playlist the first time a request needs it; every
// later request of the same snapshot gets the same bytes.
type lazyObject struct {
	once     sync.Once
	obj      *Object // Blocking false
	blocking *Object // the same bytes, Blocking true
}

func (l *lazyObject) get(render func() *Object, blocking bool) *Object {
	l.once.Do(func() {
		l.obj = render()
		if l.obj != nil {
			b := *l.obj
			b.Blocking = true
			l.blocking = &b
		}
	})
	if blocking {
		return l.blocking
	}
	return l.obj
}

func (v *snapshot) window() []*segment { return v.segs[v.win:] }

// hasPlaylist: before the first segment (LL-HLS: the first part) there is
// no playlist to serve — never an empty 200.
func (v *snapshot) hasPlaylist() bool {
	if v.state == stateFreed || v.td == 0 {
		return false
	}
	return len(v.segs) > v.win || len(v.open.parts) > 0
}

func (v *snapshot) ended() bool { return v.state == stateEnded || v.state == stateFreed }

// lastMSN is the media sequence number of the last complete segment (-1: none).
func (v *snapshot) lastMSN() int64 {
	if len(v.segs) == 0 {
		return v.open.msn - 1
	}
	return v.segs[len(v.segs)-1].msn
}

// segment returns complete segment msn if it is still served.
func (v *snapshot) segment(msn int64) *segment {
	if len(v.segs) == 0 {
		return nil
	}
	i := msn - v.segs[0].msn
	if i < 0 || i >= int64(len(v.segs)) {
		return nil
	}
	return v.segs[i]
}

// part returns part idx of segment msn (complete or in progress).
func (v *snapshot) part(msn int64, idx int) *part {
	var parts []*part
	if seg := v.segment(msn); seg != nil {
		parts = seg.parts
	} else if msn == v.open.msn {
		parts = v.open.parts
	}
	if idx < 0 || idx >= len(parts) {
		return nil
	}
	return parts[idx]
}

// hinted reports whether (msn, idx) is the part the preload hint names.
func (v *snapshot) hinted(msn int64, idx int) bool {
	return v.hint && msn == v.open.msn && idx == len(v.open.parts)
}

func (v *snapshot) init(n int) *initSection {
	for _, in := range v.inits {
		if in.n == n {
			return in
		}
	}
	return nil
}
