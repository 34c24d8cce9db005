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

	// AAC sample clock: DTS = anchor + count*frameSamples.
	anchored     bool
	anchor       int64
	count        int64
	frameSamples int64
	resyncUnits  int64
	jumpUnits    int64

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
	st.frameSamples = int64(t.AACFrameSamples())
	st.resyncUnits = rescale(r.opt.audioResync.Milliseconds(), int64(t.ClockRate), 1000)
	st.jumpUnits = rescale(r.opt.jumpWarning.Milliseconds(), int64(t.ClockRate), 1000)
}

// WriteVideo writes one video access unit of the track (KindVideo, source).
// ts is the RTMP timestamp (DTS, ms); cts the composition time offset in
// milliseconds (FLV spec E.4.3.1: "CompositionTime ... in milliseconds"),
// so PTS = DTS + cts. nalus are the AU's NAL units without parameter sets
// or AUD; they are borrowed for the duration of the call.
func (r *Remuxer) WriteVideo(source int, ts uint32, cts int32, key bool, nalus [][]byte) error {
	if r.closed {
		return ErrClosed
	}
	ms := r.clock.unwrap(ts)
	st := r.lookup(KindVideo, source)
	if st == nil {
		r.dropNoConfig(KindVideo, source, ms)
		return nil
	}
	if len(nalus) == 0 {
		return nil
	}
	if !r.started {
		if !r.allAnnouncedConfigured() {
			return r.hold(st, ms, cts, key, nalus, nil)
		}
		if err := r.start(); err != nil {
			return err
		}
	}
	return r.emitVideo(st, ms, cts, key, nalus)
}

// WriteAudio writes one audio frame (for AAC one raw_data_block without
// ADTS header) of the track (KindAudio, source). ts is the RTMP timestamp in
// ms; payload is borrowed for the duration of the call.
func (r *Remuxer) WriteAudio(source int, ts uint32, payload []byte) error {
	if r.closed {
		return ErrClosed
	}
	ms := r.clock.unwrap(ts)
	st := r.lookup(KindAudio, source)
	if st == nil {
		r.dropNoConfig(KindAudio, source, ms)
		return nil
	}
	if len(payload) == 0 {
		return nil
	}
	if !r.started {
		if !r.allAnnouncedConfigured() {
			return r.hold(st, ms, 0, true, nil, payload)
		}
		if err := r.start(); err != nil {
			return err
		}
	}
	return r.emitAudio(st, ms, payload)
}

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
func (r *Remuxer) hold(st *trackState, ms int64, cts int32, key bool, nalus [][]byte, payload []byte) error {
	r.pending.add(st, ms, cts, key, nalus, payload)
	if ms-r.pending.firstMs < r.opt.probeDuration.Milliseconds() && r.pending.size < r.opt.probeBytes {
		return nil
	}
	r.log.Warn().Int64("buffered_ms", ms-r.pending.firstMs).Int("buffered_bytes", r.pending.size).
		Bool("video_missing", r.announced[KindVideo] && !r.hasKind(KindVideo)).
		Bool("audio_missing", r.announced[KindAudio] && !r.hasKind(KindAudio)).
		Msg("announced track has no sequence header yet: starting with the tracks known")
	return r.start()
}

func (r *Remuxer) emitVideo(st *trackState, ms int64, cts int32, key bool, nalus [][]byte) error {
	rate := st.track.ClockRate
	dts := msToUnits(ms, rate)
	// FLV spec E.4.3.1: PTS = DTS + CompositionTime, both in milliseconds.
	// A negative CompositionTime can make PTS < 0 near the start: kept.
	pts := msToUnits(ms+int64(cts), rate)
	moved, ok := r.advance(st, dts)
	if !ok {
		return nil
	}
	if moved != dts && pts < moved { // a one-tick move must not put PTS before DTS
		pts = moved
	}
	dts = moved
	r.sample = Sample{Track: st.track, DTS: dts, PTS: pts, Key: key, NALUs: nalus}
	return r.write()
}

func (r *Remuxer) emitAudio(st *trackState, ms int64, payload []byte) error {
	ref := msToUnits(ms, st.track.ClockRate)
	dts := ref
	if st.track.Codec == CodecAAC {
		// RTMP millisecond timestamps jitter around the true frame times
		// (a 44.1 kHz AAC frame lasts 23.22 ms): count samples instead and
		// follow the RTMP clock only when it really moved away.
		if st.anchored {
			exp := st.anchor + st.count*st.frameSamples
			if drift := exp - ref; drift > st.resyncUnits || -drift > st.resyncUnits {
				r.audioResyncs.Add(1)
				r.log.Debug().Int("track", st.id).Int64("drift", drift).Int("clock_rate", st.track.ClockRate).
					Msg("AAC clock re-anchored on the RTMP timestamp")
				st.anchored = false
			}
		}
		if !st.anchored {
			st.anchor, st.count, st.anchored = ref, 0, true
		}
		dts = st.anchor + st.count*st.frameSamples
		st.count++
	}
	dts, ok := r.advance(st, dts)
	if !ok {
		return nil
	}
	r.sample = Sample{Track: st.track, DTS: dts, PTS: dts, Key: true, Payload: payload}
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
