package hls

import (
	"errors"
	"sync/atomic"
	"time"
)

// ObjectKind classifies what an HLS object is, for caching and Content-Type.
type ObjectKind uint8

// Object kinds.
const (
	KindMultivariant ObjectKind = iota + 1
	KindMediaPlaylist
	KindInit
	KindSegment
	KindPart
)

func (k ObjectKind) String() string {
	switch k {
	case KindMultivariant:
		return "multivariant"
	case KindMediaPlaylist:
		return "playlist"
	case KindInit:
		return "init"
	case KindSegment:
		return "segment"
	case KindPart:
		return "part"
	}
	return "unknown"
}

// Object is one servable HLS resource: immutable prepared bytes.
type Object struct {
	Kind        ObjectKind
	Body        []byte
	ContentType string
	// ModTime is when the object last changed (playlists) or was created.
	ModTime time.Time
	// ETag is a strong entity tag, quoted.
	ETag string
	// TargetDuration is the stream's EXT-X-TARGETDURATION (for playlist cache policy).
	TargetDuration time.Duration
	// Blocking is true when the request was an LL-HLS blocking reload (_HLS_msn).
	Blocking bool
	// Ended is true when the playlist carries EXT-X-ENDLIST.
	Ended bool
	// Expires is when a segment/part/init stops being served (zero = unknown).
	Expires time.Time
}

// Errors returned by Manager.Get; httpserver maps them to status codes.
var (
	// ErrNotFound means the stream or object does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrBadRequest means invalid LL-HLS delivery directives (400).
	ErrBadRequest = errors.New("bad request")
	// ErrUnavailable means a blocking request was not satisfied in time (503).
	ErrUnavailable = errors.New("unavailable")
)

// StreamInfo summarises a stream for listings, the API and metrics.
type StreamInfo struct {
	App, Name string
	// Live is true while a publisher is connected. A stream neither Live
	// nor Ended is waiting for its publisher to reconnect.
	Live bool
	// Ended is true once the playlist carries EXT-X-ENDLIST.
	Ended bool
	// StartedAt is when the stream was created (its first publication).
	StartedAt time.Time
	Tracks    []TrackInfo
	// Segments is the number of segments in the playlist window.
	Segments int
	// Bandwidth is the measured peak segment bitrate in bits/s.
	Bandwidth int
	// TargetDuration is EXT-X-TARGETDURATION (0 before it is fixed).
	TargetDuration time.Duration

	// Publisher is the live publisher's address, ip:port ("" when not
	// live or unknown); PublishedAt is when its publication started.
	Publisher   string
	PublishedAt time.Time

	// BytesIn and FramesIn count the media bytes and messages received from
	// the stream's publishers (Publication.CountReceived), over the life
	// of the stream; BitrateIn is their rate in bits/s over the last
	// RateWindow.
	BytesIn, FramesIn uint64
	BitrateIn         int
	// SegmentsWritten counts the segments published over the life of the
	// stream.
	SegmentsWritten uint64
	// Renditions are the media playlists of an adaptive ladder (nil for a
	// single media playlist).
	Renditions []RenditionInfo
}

// RenditionInfo describes one media playlist of a ladder.
type RenditionInfo struct {
	// Playlist is the media playlist's name (v_720.m3u8, a1.m3u8...).
	Playlist string
	// Kind is "video" or "audio".
	Kind string
	// Live is false while the rendition has no source (a group member
	// that left); its playlist then lists gaps.
	Live bool
	// Member is the stream name of the group member feeding it, and
	// Publisher that member's address; empty for a multitrack ladder.
	Member, Publisher string
	// Bandwidth is its peak segment bitrate in bits/s.
	Bandwidth int
}

// Stats are a Manager's cumulative counters, for metrics.
type Stats struct {
	// Variant is the Manager's configured variant.
	Variant Variant
	// SegmentsWritten and PartsWritten count the segments and LL-HLS parts
	// published, over every stream.
	SegmentsWritten, PartsWritten uint64
	// Frames dropped by the segmenter, by reason: before the first key
	// frame of the timing track of a publication or configuration;
	// of a track the variant does not carry (or of a configuration not yet
	// in force); with a DTS not after the track's previous one.
	DroppedBeforeKeyFrame, DroppedNotCarried, DroppedLate uint64
}

// counters are the live counterparts of Stats.
type counters struct {
	segments, parts                                  atomic.Uint64
	droppedBeforeKey, droppedNotCarried, droppedLate atomic.Uint64
}

// TrackInfo summarises one track.
type TrackInfo struct {
	Kind, Codec   string
	Width, Height int
	FrameRate     float64
	SampleRate    int
	Channels      int
}
