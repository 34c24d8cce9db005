package remux

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of the Remuxer options.
const (
	// DefaultProbeDuration is how much stream time is buffered while waiting
	// for the configuration of a track announced by metadata.
	DefaultProbeDuration = 2 * time.Second
	// DefaultProbeBytes bounds the memory buffered while waiting.
	DefaultProbeBytes = 4 << 20
	// DefaultAudioResync is the drift between counted AAC time and RTMP time
	// beyond which the audio clock re-anchors on the RTMP timestamp.
	DefaultAudioResync = 100 * time.Millisecond
	// DefaultJumpWarning is the forward DTS step that is logged as a jump.
	DefaultJumpWarning = 10 * time.Second
)

// pendingOverhead approximates the bookkeeping bytes of one buffered frame
// and one buffered NAL unit, so the probe bound covers more than payload.
const (
	pendingFrameOverhead = 64
	pendingSpanOverhead  = 16
)

// Option configures a Remuxer.
type Option func(*options)

type options struct {
	probeDuration time.Duration
	probeBytes    int
	audioResync   time.Duration
	jumpWarning   time.Duration
}

// WithProbeLimits bounds the buffering done while waiting for an announced
// track's configuration: at most d of stream time and about bytes of memory
// (defaults DefaultProbeDuration, DefaultProbeBytes). When either is
// reached, the publication starts with the tracks already configured.
func WithProbeLimits(d time.Duration, bytes int) Option {
	return func(o *options) { o.probeDuration, o.probeBytes = d, bytes }
}

// WithAudioResync sets the drift threshold of the sample-counting AAC clock
// (default DefaultAudioResync).
func WithAudioResync(d time.Duration) Option {
	return func(o *options) { o.audioResync = d }
}

// WithJumpWarning sets the forward DTS step logged as a jump (default
// DefaultJumpWarning).
func WithJumpWarning(d time.Duration) Option {
	return func(o *options) { o.jumpWarning = d }
}

// Stats are a Remuxer's counters. They may be read from any goroutine.
type Stats struct {
	// Samples is the number of samples handed to the sink.
	Samples uint64
	// DroppedNoConfig counts frames of a track that had no configuration
	// (e.g. AAC frames before the AudioSpecificConfig).
	DroppedNoConfig uint64
	// DTSNudged counts frames whose DTS repeated within one millisecond and
	// was moved one clock tick forward.
	DTSNudged uint64
	// DroppedBackwards counts frames whose DTS went back.
	DroppedBackwards uint64
	// AudioResyncs counts re-anchorings of the AAC sample clock.
	AudioResyncs uint64
	// ConfigChanges counts configuration changes after the start (new
	// generations) and tracks added after the start.
	ConfigChanges uint64
}

// Remuxer turns one publication's timestamped frames into Tracks and
// Samples for a Sink. It owns time: it unwraps 32-bit RTMP timestamps,
// rebases them on the publication's first timestamp (one base for every
// track), converts them to each track's clock rate, keeps DTS strictly
// increasing per track and gives AAC sample-accurate timestamps.
//
// It also discovers tracks without long buffering: Sink.SetTracks is called
// as soon as every track announced by metadata is configured, or at the
// first media frame when nothing was announced; a track configured later,
// or a configuration change, produces another SetTracks call.
//
// Timestamps are int64 in the track's clock rate. The publication's first
// media timestamp (of any track) is 0; a track whose first frame carries
// an earlier RTMP timestamp starts slightly below 0, and a negative
// CompositionTime can put PTS below 0 near the start: both are kept as is
// (the sink offsets them if its container needs non-negative times).
//
// A Remuxer is used from one goroutine (the publisher's), except Stats.
type Remuxer struct {
	sink Sink
	log  zerolog.Logger
	opt  options

	tracks    []*trackState // in ID order
	announced [KindAudio + 1]bool
	started   bool
	closed    bool

	clock   unwrapper
	pending pendingQueue
	sample  Sample   // reused for every WriteSample
	frame   Frame    // reused by WriteVideo and WriteAudio
	scratch [][]byte // reused when replaying buffered video

	noConfigWarn [KindAudio + 1]warnLimiter

	samples, droppedNoConfig, droppedBackwards, dtsNudged, audioResyncs, configChanges atomic.Uint64
}

// trackState is the per-track state: configuration and time.
type trackState struct {
	id     int
	kind   Kind
	source int
	track  *Track // configuration in force; never nil once created

	hasDTS  bool
	lastDTS int64 // in track.ClockRate units

	// Audio sample clock: DTS = anchor + elapsed, elapsed counting the
	// samples of the frames since the anchor.
	anchored    bool
	anchor      int64
	elapsed     int64
	resyncUnits int64
	jumpUnits   int64

	backwardsWarn warnLimiter
}

// NewRemuxer returns a Remuxer feeding sink. log receives drops and
// configuration changes (Warn/Info) and timing detail (Debug).
func NewRemuxer(sink Sink, log zerolog.Logger, opts ...Option) *Remuxer {
	o := options{
		probeDuration: DefaultProbeDuration,
		probeBytes:    DefaultProbeBytes,
		audioResync:   DefaultAudioResync,
		jumpWarning:   DefaultJumpWarning,
	}
	for _, f := range opts {
		f(&o)
	}
	return &Remuxer{sink: sink, log: log, opt: o}
}

// Stats returns a snapshot of the counters.
func (r *Remuxer) Stats() Stats {
	return Stats{
		Samples:          r.samples.Load(),
		DroppedNoConfig:  r.droppedNoConfig.Load(),
		DroppedBackwards: r.droppedBackwards.Load(),
		DTSNudged:        r.dtsNudged.Load(),
		AudioResyncs:     r.audioResyncs.Load(),
		ConfigChanges:    r.configChanges.Load(),
	}
}

// Announce records that metadata (onMetaData) announced tracks of the given
// kinds. Until each announced kind has a configuration, frames of the
// configured tracks are buffered (bounded by WithProbeLimits). Announcing
// after the start has no effect.
func (r *Remuxer) Announce(kinds ...Kind) {
	for _, k := range kinds {
		if k == KindVideo || k == KindAudio {
			r.announced[k] = true
		}
	}
}

// Track returns the configuration in force for the track of the given kind
// and source id (0 for legacy FLV), or nil when it has none yet. The
// result must not be modified.
func (r *Remuxer) Track(kind Kind, source int) *Track {
	if st := r.lookup(kind, source); st != nil {
		return st.track
	}
	return nil
}

// SetTrack sets or replaces the configuration of the track identified by
// t.Codec.Kind() and t.SourceID. The Remuxer takes a copy of *t and assigns
// ID and Generation itself; t's byte slices must not be modified afterwards
// (the New*Track constructors return owned copies).
//
// The same configuration resent (encoders repeat sequence headers) is a
// no-op. A different one after the start is a new generation of the track,
// announced with SetTracks before the track's next sample.
func (r *Remuxer) SetTrack(t *Track) error {
	if r.closed {
		return ErrClosed
	}
	kind := t.Codec.Kind()
	if kind == KindUnknown || t.ClockRate <= 0 {
		return fmt.Errorf("%w: codec %v, clock rate %d", ErrInvalidTrack, t.Codec, t.ClockRate)
	}
	nt := *t
	nt.Kind = kind
	st := r.lookup(kind, t.SourceID)
	if st != nil && st.track.SameConfig(&nt) {
		if st.track.FrameRate == 0 && nt.FrameRate != 0 && !r.started {
			st.track.FrameRate = nt.FrameRate // not yet handed to the sink
		}
		return nil
	}
	if st != nil && !r.started && r.pending.holds(st) {
		// Frames buffered under the old configuration go out with it.
		if err := r.start(); err != nil {
			return err
		}
	}
	if st == nil {
		st = &trackState{id: len(r.tracks) + 1, kind: kind, source: t.SourceID}
		r.tracks = append(r.tracks, st)
		nt.ID, nt.Generation = st.id, 0
		if r.started {
			r.configChanges.Add(1)
		}
		r.log.Info().Int("track", st.id).Stringer("kind", kind).Stringer("codec", nt.Codec).
			Int("source", nt.SourceID).Bool("late", r.started).Msg("track configured")
	} else {
		nt.ID, nt.Generation = st.id, st.track.Generation
		if r.started {
			nt.Generation++
			r.configChanges.Add(1)
		}
		r.log.Info().Int("track", st.id).Stringer("codec", nt.Codec).Int("generation", nt.Generation).
			Msg("track configuration changed")
	}
	r.configure(st, &nt)
	if r.started {
		return r.publish()
	}
	if r.anyAnnounced() && r.allAnnouncedConfigured() {
		return r.start()
	}
	return nil
}

// configure installs t as st's configuration, carrying time state across.
func (r *Remuxer) configure(st *trackState, t *Track) {
	if st.track != nil && st.track.ClockRate != t.ClockRate && st.hasDTS {
		st.lastDTS = rescale(st.lastDTS, int64(t.ClockRate), int64(st.track.ClockRate))
	}
	st.track = t
	st.anchored = false
	st.resyncUnits = rescale(r.opt.audioResync.Milliseconds(), int64(t.ClockRate), 1000)
	st.jumpUnits = rescale(r.opt.jumpWarning.Milliseconds(), int64(t.ClockRate), 1000)
}

// Frame is one timed frame handed to WriteFrame. Its slices are borrowed
// for the duration of the call.
type Frame struct {
	// Kind and Source identify the track: video or audio, and the E-RTMP
	// track id (0 for legacy FLV and single-track E-RTMP).
	Kind   Kind
	Source int
	// TS is the RTMP timestamp (the DTS) in milliseconds.
	TS uint32
	// OffsetNano refines TS by a sub-millisecond offset in nanoseconds
	// (E-RTMP v2 ModEx TimestampOffsetNano, at most MaxOffsetNano): RTMP
	// timestamps cannot carry it, the track clock can.
	OffsetNano uint32
	// CTS is the composition time offset in milliseconds (video only):
	// PTS = DTS + CTS (FLV spec E.4.3.1 "CompositionTime ... in milliseconds").
	CTS int32
	// Key marks a random access point (video; every audio frame is one).
	Key bool
	// NALUs is an H.264/H.265 access unit without parameter sets or AUD.
	NALUs [][]byte
	// Payload is the frame of every other codec (see Sample.Payload).
	Payload []byte
}

// MaxOffsetNano is the largest sub-millisecond offset applied: E-RTMP v2
// "modExData must be at least 3 bytes, storing values up to 999,999 ns".
const MaxOffsetNano = 999_999

// WriteVideo writes one video access unit of the track (KindVideo, source).
// ts is the RTMP timestamp (DTS, ms); cts the composition time offset in
// milliseconds (FLV spec E.4.3.1: "CompositionTime ... in milliseconds"),
// so PTS = DTS + cts. nalus are the AU's NAL units without parameter sets
// or AUD; they are borrowed for the duration of the call.
func (r *Remuxer) WriteVideo(source int, ts uint32, cts int32, key bool, nalus [][]byte) error {
	r.frame = Frame{Kind: KindVideo, Source: source, TS: ts, CTS: cts, Key: key, NALUs: nalus}
	err := r.WriteFrame(&r.frame)
	r.frame = Frame{}
	return err
}

// WriteAudio writes one audio frame (for AAC one raw_data_block without
// ADTS header) of the track (KindAudio, source). ts is the RTMP timestamp in
// ms; payload is borrowed for the duration of the call.
func (r *Remuxer) WriteAudio(source int, ts uint32, payload []byte) error {
	r.frame = Frame{Kind: KindAudio, Source: source, TS: ts, Payload: payload}
	err := r.WriteFrame(&r.frame)
	r.frame = Frame{}
	return err
}

// WriteFrame writes one frame of the track (f.Kind, f.Source): a video
// access unit (NALUs for H.264/H.265, Payload for AV1 and VP9) or an audio
// frame. f and its slices are borrowed for the duration of the call.
func (r *Remuxer) WriteFrame(f *Frame) error {
	if r.closed {
		return ErrClosed
	}
	if f.Kind != KindVideo && f.Kind != KindAudio {
		return fmt.Errorf("%w: frame of kind %v", ErrInvalidTrack, f.Kind)
	}
	ms := r.clock.unwrap(f.TS)
	st := r.lookup(f.Kind, f.Source)
	if st == nil {
		r.dropNoConfig(f.Kind, f.Source, ms)
		return nil
	}
	t := timing{ms: ms, nano: min(f.OffsetNano, MaxOffsetNano), cts: f.CTS}
	if f.Kind == KindAudio {
		t.cts = 0
	}
	video := f.Kind == KindVideo
	if video && len(f.NALUs) == 0 && len(f.Payload) == 0 || !video && len(f.Payload) == 0 {
		return nil
	}
	key := f.Key || !video
	if !r.started {
		if !r.allAnnouncedConfigured() {
			return r.hold(st, t, key, f.NALUs, f.Payload)
		}
		if err := r.start(); err != nil {
			return err
		}
	}
	if video {
		return r.emitVideo(st, t, key, f.NALUs, f.Payload)
	}
	return r.emitAudio(st, t, f.Payload)
}

// timing is a frame's time as received: unwrapped milliseconds, the
// sub-millisecond offset and the composition offset.
type timing struct {
	ms   int64
	nano uint32
	cts  int32
}

// units converts the DTS (cts false) or PTS (cts true) to a clock of rate
// Hz, rounding down.
func (t timing) units(rate int, withCTS bool) int64 {
	ms := t.ms
	if withCTS {
		ms += int64(t.cts)
	}
	return rescale(ms*nanosPerMilli+int64(t.nano), int64(rate), nanosPerSecond)
}

const (
	nanosPerMilli  = 1_000_000
	nanosPerSecond = 1_000_000_000
)

// Close flushes frames still buffered for track discovery (starting with
// the tracks known) and makes further writes fail with ErrClosed. It does
// not close the sink.
func (r *Remuxer) Close() error {
	if r.closed {
		return nil
	}
	var err error
	if !r.started && len(r.pending.frames) > 0 {
		err = r.start()
	}
	r.closed = true
	r.pending = pendingQueue{}
	s := r.Stats()
	r.log.Debug().Uint64("samples", s.Samples).Uint64("dropped_no_config", s.DroppedNoConfig).
		Uint64("dropped_backwards", s.DroppedBackwards).Uint64("audio_resyncs", s.AudioResyncs).
		Uint64("config_changes", s.ConfigChanges).Msg("remuxer closed")
	return err
}

func (r *Remuxer) lookup(kind Kind, source int) *trackState {
	for _, st := range r.tracks {
		if st.kind == kind && st.source == source {
			return st
		}
	}
	return nil
}

func (r *Remuxer) anyAnnounced() bool { return r.announced[KindVideo] || r.announced[KindAudio] }

// allAnnouncedConfigured reports whether every kind announced by metadata
// has at least one configured track (true when nothing was announced).
func (r *Remuxer) allAnnouncedConfigured() bool {
	for k := KindVideo; k <= KindAudio; k++ {
		if r.announced[k] && !r.hasKind(k) {
			return false
		}
	}
	return true
}

func (r *Remuxer) hasKind(k Kind) bool {
	for _, st := range r.tracks {
		if st.kind == k {
			return true
		}
	}
	return false
}

func (r *Remuxer) dropNoConfig(kind Kind, source int, ms int64) {
	r.droppedNoConfig.Add(1)
	if ok, n := r.noConfigWarn[kind].hit(); ok {
		r.log.Warn().Stringer("kind", kind).Int("source", source).Int64("ms", ms).Uint64("count", n).
			Msg("frame before its track's sequence header: dropped")
	}
}

// start hands the configured tracks to the sink and replays the frames
// buffered meanwhile.
func (r *Remuxer) start() error {
	r.started = true
	if err := r.publish(); err != nil {
		return err
	}
	err := r.pending.replay(r)
	r.pending = pendingQueue{} // release the probe memory
	return err
}

// publish calls Sink.SetTracks with every configured track in ID order.
func (r *Remuxer) publish() error {
	tracks := make([]*Track, len(r.tracks))
	for i, st := range r.tracks {
		tracks[i] = st.track
	}
	if err := r.sink.SetTracks(tracks); err != nil {
		return fmt.Errorf("remux: sink rejected tracks: %w", err)
	}
	return nil
}

// hold buffers a frame during track discovery and starts once the probe
// bounds are reached.
func (r *Remuxer) hold(st *trackState, t timing, key bool, nalus [][]byte, payload []byte) error {
	r.pending.add(st, t, key, nalus, payload)
	if t.ms-r.pending.firstMs < r.opt.probeDuration.Milliseconds() && r.pending.size < r.opt.probeBytes {
		return nil
	}
	r.log.Warn().Int64("buffered_ms", t.ms-r.pending.firstMs).Int("buffered_bytes", r.pending.size).
		Bool("video_missing", r.announced[KindVideo] && !r.hasKind(KindVideo)).
		Bool("audio_missing", r.announced[KindAudio] && !r.hasKind(KindAudio)).
		Msg("announced track has no sequence header yet: starting with the tracks known")
	return r.start()
}

func (r *Remuxer) emitVideo(st *trackState, t timing, key bool, nalus [][]byte, payload []byte) error {
	rate := st.track.ClockRate
	dts := t.units(rate, false)
	// FLV spec E.4.3.1: PTS = DTS + CompositionTime, both in milliseconds.
	// A negative CompositionTime can make PTS < 0 near the start: kept.
	pts := t.units(rate, true)
	moved, ok := r.advance(st, dts)
	if !ok {
		return nil
	}
	if moved != dts && pts < moved { // a one-tick move must not put PTS before DTS
		pts = moved
	}
	dts = moved
	r.sample = Sample{Track: st.track, DTS: dts, PTS: pts, Key: key, Base: r.clock.base}
	if len(nalus) > 0 {
		r.sample.NALUs = nalus
	} else {
		r.sample.Payload = payload
	}
	return r.write()
}

func (r *Remuxer) emitAudio(st *trackState, t timing, payload []byte) error {
	ref := t.units(st.track.ClockRate, false)
	dts := ref
	if n := frameSamples(st.track, payload); n > 0 {
		// RTMP millisecond timestamps jitter around the true frame times
		// (a 44.1 kHz AAC frame lasts 23.22 ms): count samples instead and
		// follow the RTMP clock only when it really moved away.
		if st.anchored {
			exp := st.anchor + st.elapsed
			if drift := exp - ref; drift > st.resyncUnits || -drift > st.resyncUnits {
				r.audioResyncs.Add(1)
				r.log.Debug().Int("track", st.id).Int64("drift", drift).Int("clock_rate", st.track.ClockRate).
					Msg(st.track.Codec.String() + " clock re-anchored on the RTMP timestamp")
				st.anchored = false
			}
		}
		if !st.anchored {
			st.anchor, st.elapsed, st.anchored = ref, 0, true
		}
		dts = st.anchor + st.elapsed
		st.elapsed += n
	} else {
		// A frame of unknown duration: the RTMP clock rules, and the next
		// countable frame re-anchors.
		st.anchored = false
	}
	dts, ok := r.advance(st, dts)
	if !ok {
		return nil
	}
	r.sample = Sample{Track: st.track, DTS: dts, PTS: dts, Key: true, Payload: payload, Base: r.clock.base}
	return r.write()
}

// advance enforces strictly increasing DTS per track and logs big jumps. It
// returns the DTS to use and false when the frame must be dropped.
//
// RTMP timestamps are whole milliseconds, and encoders whose DTS step is
// not (B-frame pyramids at the start of GStreamer's x264enc output, for one)
// can put two frames in the same millisecond. Such a frame is moved one
// clock tick after its predecessor instead of being dropped: dropping a
// reference frame would break decoding until the next key frame. A DTS that
// really goes back (by a millisecond or more) drops the frame.
func (r *Remuxer) advance(st *trackState, dts int64) (int64, bool) {
	if st.hasDTS {
		if dts <= st.lastDTS && st.lastDTS-dts < msToUnits(1, st.track.ClockRate) {
			r.dtsNudged.Add(1)
			r.log.Debug().Int("track", st.id).Int64("dts", dts).Int64("last_dts", st.lastDTS).
				Msg("DTS repeated within one millisecond: moved one tick forward")
			dts = st.lastDTS + 1
		}
		if dts <= st.lastDTS {
			r.droppedBackwards.Add(1)
			if ok, n := st.backwardsWarn.hit(); ok {
				r.log.Warn().Int("track", st.id).Stringer("kind", st.kind).Int64("dts", dts).
					Int64("last_dts", st.lastDTS).Int("clock_rate", st.track.ClockRate).Uint64("count", n).
					Msg("DTS went back: frame dropped")
			}
			return dts, false
		}
		if dts-st.lastDTS > st.jumpUnits {
			r.log.Warn().Int("track", st.id).Stringer("kind", st.kind).Int64("dts", dts).
				Int64("last_dts", st.lastDTS).Int("clock_rate", st.track.ClockRate).
				Msg("timestamp jumped forward")
		}
	}
	st.hasDTS, st.lastDTS = true, dts
	return dts, true
}

func (r *Remuxer) write() error {
	err := r.sink.WriteSample(&r.sample)
	r.sample.NALUs, r.sample.Payload = nil, nil // do not retain borrowed memory
	if err != nil {
		return fmt.Errorf("remux: sink: %w", err)
	}
	r.samples.Add(1)
	return nil
}
