package hls

import (
	"errors"
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

// StreamInfo summarises a stream for listings and the API.
type StreamInfo struct {
	App, Name string
	// Live is true while a publisher is connected.
	Live bool
	// Ended is true once the playlist carries EXT-X-ENDLIST.
	Ended     bool
	StartedAt time.Time
	Tracks    []TrackInfo
	Segments  int
	// Bandwidth is the measured peak segment bitrate in bits/s.
	Bandwidth int
}

// TrackInfo summarises one track.
type TrackInfo struct {
	Kind, Codec   string
	Width, Height int
	FrameRate     float64
	SampleRate    int
	Channels      int
}
