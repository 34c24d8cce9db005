package hls

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/remux"
)

// Publication is one publisher's session on a stream. It implements
// remux.Sink: SetTracks and WriteSample are called from the publisher's
// goroutine. A newer Publish on the same name takes the stream over (under
// TakeoverNewest); Manager.Kick and Manager.Close end it; End reports that
// the publisher went away.
type Publication struct {
	m   *Manager
	s   *stream
	log zerolog.Logger

	done chan struct{}

	remote string    // the publisher's address (PublishOption WithRemote)
	since  time.Time // when Publish returned it

	mu     sync.Mutex // held by the writer for each call; by takeover and Close to finish
	endErr error      // non-nil once the publication is over

	variant Variant
	mux     muxer

	// configuration of the current epoch
	tracks  []*trackState
	timing  *trackState
	pending []*trackState // a changed configuration waiting for its cut point
	started bool          // the current epoch has seen its first timing key frame

	// timeline (fixed at the first epoch)
	hasOffset bool
	offsetNs  int64     // publication timestamps → stream output timeline
	wall0     time.Time // wall clock at publication DTS 0 (for PROGRAM-DATE-TIME)

	// segment and part in progress (timing clock, output timeline)
	segOpen   bool
	segStart  int64
	segKey    bool  // the segment starts with a key frame
	segPTS    int64 // presentation time of the sample that opened it
	partStart int64
	frames    int // timing samples in the segment

	// cut limits in timing ticks
	segTicks   int64 // SegmentDuration
	partTicks  int64 // PartDuration
	forceTicks int64 // longest segment whose rounded EXTINF fits TD; 0 until TD is fixed
	firstLimit int64 // cap on the first segment, before TD is fixed
	td         int   // EXT-X-TARGETDURATION, seconds; 0 until fixed

	warnedForce bool
	warnedPart  bool
	warnedStall bool
	stalled     bool // the timing track stopped; another track's time drives the cuts
	warned      []warnKey

	// Adaptive ladder (ladder.go): lad routes an outer publication's
	// samples to one inner publication per rendition; follow makes an inner
	// publication cut where the leading rendition cut; onOpen tells the
	// followers where the leading rendition opened a segment.
	lad    *pubLadder
	follow *follower
	// Rendition groups (group.go): group is set on a group's outer
	// publication; grp on a member's publication, whose calls go to the
	// group (its endErr and done are then guarded by the outer mutex).
	group   *group
	grp     *groupMember
	onOpen  func(p *Publication, d int64)
	openMSN int64 // media sequence number of the segment opened last
}

type warnKey struct {
	id  int
	gen int
}

var _ remux.Sink = (*Publication)(nil)

func newPublication(m *Manager, s *stream, o publishOptions) *Publication {
	p := &Publication{
		m:       m,
		s:       s,
		log:     s.log,
		done:    make(chan struct{}),
		remote:  o.remote,
		since:   m.cfg.Now(),
		variant: m.cfg.Variant,
	}
	if m.cfg.Variant.isFMP4() {
		p.mux = &fmp4Muxer{}
	} else {
		p.mux = &tsMuxer{}
	}
	return p
}

// Done is closed when the publication is over: taken over by a newer Publish
// on the same name, kicked (Manager.Kick), ended by the Manager's Close, or
// after End.
func (p *Publication) Done() <-chan struct{} { return p.done }

// CountReceived records one media message of n bytes received from the
// publisher, before any parsing, for StreamInfo (BytesIn, FramesIn,
// BitrateIn). It is safe to call from any goroutine and costs a few atomic
// operations.
func (p *Publication) CountReceived(n int) {
	p.s.in.add(p.m.cfg.Now(), n)
	p.s.framesIn.Add(1)
}

// SetTracks implements remux.Sink. A configuration change mid-publication
// takes effect at the next key frame of the new timing track, where the
// segment is cut and a discontinuity (and a new init section) starts.
func (p *Publication) SetTracks(tracks []*remux.Track) error {
	if p.grp != nil {
		return p.grp.setTracks(tracks)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.endErr != nil {
		return p.endErr
	}
	if p.lad != nil || (!p.started && p.wantsLadder(tracks)) {
		return p.ladderSetTracks(tracks)
	}
	sel := p.selectTracks(tracks)
	if len(sel) == 0 {
		p.log.Error().Int("tracks", len(tracks)).Str("variant", string(p.variant)).
			Msg("no track of the publication can be carried; nothing will be served")
	}
	switch {
	case !p.started:
		// Nothing written with the current configuration yet: replace it.
		p.setTracks(sel)
		p.pending = nil
	case sameConfig(p.tracks, sel):
		for i, t := range sel {
			p.tracks[i].src = t.src // same configuration, possibly new *Track values
		}
		p.pending = nil
	default:
		p.pending = sel
		if len(sel) == 0 {
			// Nothing left to carry: end the current segment now.
			return p.applyPending(noCut)
		}
	}
	return nil
}

// WriteSample implements remux.Sink.
func (p *Publication) WriteSample(s *remux.Sample) error {
	if p.grp != nil {
		return p.grp.writeSample(s)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.endErr != nil {
		return p.endErr
	}
	if p.lad != nil {
		if err := p.lad.writeSample(p, s); err != nil {
			return p.fail(err)
		}
		return nil
	}
	if p.pending != nil {
		// A changed configuration takes over at its timing track's next key
		// frame; samples of changed tracks before it are dropped below. If
		// the timing track itself changed, its first sample ends the old
		// configuration even without a key frame (what follows a new
		// parameter set cannot be decoded with the old one); the new one
		// starts at its first key frame.
		if pt := p.pendingFor(s.Track); pt != nil && pt.timing && (s.Key || !sameTrack(pt, p.timing)) {
			if err := p.applyPending(p.cutFor(pt, s.DTS)); err != nil {
				return p.fail(err)
			}
		}
	}
	t := p.trackFor(s.Track)
	if t == nil {
		p.m.stats.droppedNotCarried.Add(1)
		return nil // not carried (unsupported codec) or not yet in force
	}
	if !p.started {
		if !t.timing || !s.Key {
			// Segments start on a key frame of the timing track (RFC 8216
			// §3: each segment should be decodable on its own); what comes
			// before the first one is dropped.
			p.m.stats.droppedBeforeKey.Add(1)
			return nil
		}
		if err := p.startEpoch(t, s.DTS); err != nil {
			return p.fail(err)
		}
	}
	dts, pts := s.DTS+t.offset, s.PTS+t.offset
	if dts < t.minDTS || (t.hasDTS && dts <= t.lastDTS) {
		// Before the epoch (late audio) or not increasing: fMP4 durations
		// would be zero or negative. remux guarantees increasing DTS per
		// track, so this is rare; drop rather than corrupt.
		p.m.stats.droppedLate.Add(1)
		return nil
	}
	if t.timing {
		if err := p.beforeTiming(dts, pts, s.Key); err != nil {
			return p.fail(err)
		}
		p.frames++
	} else if err := p.checkStall(t, dts); err != nil {
		return p.fail(err)
	}
	if err := p.mux.write(t, dts, pts, s.Key, s); err != nil {
		return p.fail(err)
	}
	if !t.hasDTS || pts > t.maxPTS {
		t.maxPTS = pts
	}
	t.lastDTS, t.hasDTS = dts, true
	return nil
}

// End reports that the publisher is gone: clean (unpublished) ends the
// playlist at once; otherwise the stream waits ReconnectWindow for a new
// Publish on the same name before it ends.
func (p *Publication) End(clean bool) {
	if p.grp != nil {
		p.grp.end(clean)
		return
	}
	p.mu.Lock()
	if p.endErr != nil {
		p.mu.Unlock()
		return
	}
	p.finishLocked()
	p.endErr = ErrEnded
	close(p.done)
	p.endMembersLocked()
	p.mu.Unlock()
	p.s.detach(p, clean)
}

// terminate ends the publication on the Manager's behalf (takeover, Kick, Close).
func (p *Publication) terminate(cause error) {
	if p.grp != nil {
		p.grp.terminate(cause)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.endErr != nil {
		return
	}
	p.finishLocked()
	p.endErr = cause
	close(p.done)
	p.endMembersLocked()
}

// endMembersLocked ends a group's member publications with the group's.
func (p *Publication) endMembersLocked() {
	if p.group != nil {
		p.group.endMembersLocked(p.endErr)
	}
}

// finishLocked closes the segment in progress with what is staged.
func (p *Publication) finishLocked() {
	if p.lad != nil {
		p.lad.finish()
	}
	if p.started && p.segOpen {
		if err := p.closeSegment(noCut, true); err != nil {
			p.log.Warn().Err(err).Msg("closing the last segment")
		}
	}
	p.started = false
}

// fail turns a write failure into the publication's end: the stream keeps
// what it has and waits for a reconnect, like a lost connection.
func (p *Publication) fail(err error) error {
	if p.endErr != nil {
		return p.endErr
	}
	if errors.Is(err, ErrTakenOver) || errors.Is(err, ErrClosed) {
		p.endErr = err
		close(p.done)
		p.endMembersLocked()
		return err
	}
	p.log.Error().Err(err).Msg("segmenter failed; publication ended")
	p.finishLocked()
	p.endErr = fmt.Errorf("hls segmenter: %w", err)
	close(p.done)
	p.endMembersLocked()
	p.s.detach(p, false) // lock order: Publication.mu, then stream.mu
	return p.endErr
}
