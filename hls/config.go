package hls

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Variant selects the container and delivery mode of a Manager's playlists.
type Variant string

// Variants.
const (
	// VariantMPEGTS serves MPEG-TS segments (H.264 + AAC), EXT-X-VERSION 3.
	VariantMPEGTS Variant = "mpegts"
	// VariantFMP4 serves fragmented MP4 segments with an init section (EXT-X-MAP), EXT-X-VERSION 6.
	VariantFMP4 Variant = "fmp4"
	// VariantLowLatency serves fMP4 segments and LL-HLS partial segments with
	// blocking playlist reload, preload hints and delta updates, EXT-X-VERSION 9.
	VariantLowLatency Variant = "lowlatency"
)

func (v Variant) valid() bool {
	switch v {
	case VariantMPEGTS, VariantFMP4, VariantLowLatency:
		return true
	}
	return false
}

func (v Variant) isFMP4() bool { return v == VariantFMP4 || v == VariantLowLatency }

// TakeoverPolicy decides what a Publish on a stream name that already has a
// live publisher does.
type TakeoverPolicy string

// Takeover policies.
const (
	// TakeoverNewest lets the new publisher win: the old publication's Done
	// closes and the playlist continues after a discontinuity. An encoder
	// that reconnects before its dead connection timed out is never locked
	// out by its own old session.
	TakeoverNewest TakeoverPolicy = "takeover"
	// TakeoverReject refuses the new publish with ErrStreamBusy while the
	// name has a live publisher.
	TakeoverReject TakeoverPolicy = "reject"
)

func (t TakeoverPolicy) valid() bool { return t == TakeoverNewest || t == TakeoverReject }

// Config configures a Manager. Zero values take the documented defaults.
type Config struct {
	// Variant is the container and delivery mode (default VariantFMP4).
	Variant Variant
	// SegmentDuration is the minimum segment duration (default 2s): a segment
	// is cut on the first key frame at or after it (audio-only: on duration).
	SegmentDuration time.Duration
	// PartDuration is the LL-HLS part target (default 200ms); fMP4 also uses it
	// as its internal fragment length.
	PartDuration time.Duration
	// SegmentCount is the number of segments in the live playlist window (default 6).
	SegmentCount int
	// ReconnectWindow is how long a stream whose publisher was lost waits for
	// a new Publish on the same name before it ends (default 10s).
	ReconnectWindow time.Duration
	// Retention is how long an ended stream stays served before it is freed (default 60s).
	Retention time.Duration
	// Takeover decides what a Publish on a name with a live publisher does
	// (default TakeoverNewest).
	Takeover TakeoverPolicy
	// MaxStreams bounds the active streams (live, or waiting for their
	// publisher to reconnect); a Publish that would start one more fails
	// with ErrTooManyStreams. Taking over or resuming an active name never
	// counts. Ended streams kept for Retention do not count. 0: no limit.
	MaxStreams int
	// Ladder serves a publication with several video tracks (Enhanced RTMP
	// multitrack) as an adaptive ladder with the fMP4 variants: a variant
	// per video track and the audio as a shared rendition group (see
	// ladder.go). Off (the default), and always with MPEG-TS, the first
	// video track and the first audio track are served muxed in
	// stream.m3u8 and the other tracks are left out.
	Ladder bool
	// Groups serve separately published streams as one adaptive ladder,
	// with the fMP4 variants (see group.go): a publish on a name matching
	// one of a rule's patterns becomes a rendition of the group whose name
	// is what "{stream}" matched. Rules are tried in order, and a rule's
	// patterns in order; the first match wins.
	Groups []GroupRule
	// Logger receives lifecycle events (Info) and stream anomalies (Warn).
	Logger zerolog.Logger
	// Now returns the wall clock (tests); default time.Now.
	Now func() time.Time
}

// GroupRule makes the publications whose names match its patterns the
// renditions of one ladder.
type GroupRule struct {
	// Renditions are stream-name patterns holding "{stream}" once with some
	// fixed text around it, e.g. "{stream}_720" and "{stream}_480": a
	// publish on foo_720 is the rendition "v_720" of group foo.
	Renditions []string
}

// Defaults applied by NewManager to zero fields.
const (
	DefaultSegmentDuration = 2 * time.Second
	DefaultPartDuration    = 200 * time.Millisecond
	DefaultSegmentCount    = 6
	DefaultReconnectWindow = 10 * time.Second
	DefaultRetention       = 60 * time.Second
)

// Limits checked by NewManager.
const (
	// minSegmentCount: RFC 8216 §6.2.2: the server MUST NOT remove a segment
	// if that leaves a playlist shorter than three target durations, so a
	// window needs at least three segments.
	minSegmentCount = 3
	// minPartDuration keeps the part rate (and blocking reload wake-ups) sane.
	minPartDuration = 50 * time.Millisecond
)

func (c *Config) applyDefaults() {
	if c.Variant == "" {
		c.Variant = VariantFMP4
	}
	if c.SegmentDuration == 0 {
		c.SegmentDuration = DefaultSegmentDuration
	}
	if c.PartDuration == 0 {
		c.PartDuration = DefaultPartDuration
	}
	if c.SegmentCount == 0 {
		c.SegmentCount = DefaultSegmentCount
	}
	if c.ReconnectWindow == 0 {
		c.ReconnectWindow = DefaultReconnectWindow
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Takeover == "" {
		c.Takeover = TakeoverNewest
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c *Config) validate() error {
	if !c.Variant.valid() {
		return fmt.Errorf("%w: unknown variant %q", ErrInvalidConfig, c.Variant)
	}
	if c.SegmentDuration < 100*time.Millisecond {
		return fmt.Errorf("%w: segment duration %v is below 100ms", ErrInvalidConfig, c.SegmentDuration)
	}
	if c.SegmentCount < minSegmentCount {
		return fmt.Errorf("%w: segment count %d is below %d", ErrInvalidConfig, c.SegmentCount, minSegmentCount)
	}
	if c.PartDuration < minPartDuration {
		return fmt.Errorf("%w: part duration %v is below %v", ErrInvalidConfig, c.PartDuration, minPartDuration)
	}
	if c.Variant == VariantLowLatency && c.PartDuration >= c.SegmentDuration {
		return fmt.Errorf("%w: part duration %v must be shorter than segment duration %v",
			ErrInvalidConfig, c.PartDuration, c.SegmentDuration)
	}
	if c.ReconnectWindow < 0 || c.Retention < 0 {
		return fmt.Errorf("%w: negative reconnect window or retention", ErrInvalidConfig)
	}
	if !c.Takeover.valid() {
		return fmt.Errorf("%w: unknown takeover policy %q", ErrInvalidConfig, c.Takeover)
	}
	if c.MaxStreams < 0 {
		return fmt.Errorf("%w: negative max streams %d", ErrInvalidConfig, c.MaxStreams)
	}
	if len(c.Groups) > 0 && !c.Variant.isFMP4() {
		return fmt.Errorf("%w: rendition groups need the fmp4 or lowlatency variant, not %s", ErrInvalidConfig, c.Variant)
	}
	if _, err := parseGroupRules(c.Groups); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}
