package hls

import "time"

// The cut rules. Time is the timing track's output DTS (90 kHz for video;
// the sample rate for audio-only streams). Every rule runs before the
// timing sample at d is staged, so "cut at d" means the sample at d starts
// the next segment or part:
//
//   - segment: at a key frame once the segment is at least SegmentDuration
//     long (half a frame of tolerance for millisecond-rounded timestamps);
//   - forced segment: when staging d would make the segment's rounded
//     duration exceed EXT-X-TARGETDURATION (RFC 8216 §4.3.3.1: "The EXTINF
//     duration of each Media Segment in the Playlist file, when rounded to
//     the nearest integer, MUST be less than or equal to the target
//     duration"), cut even without a key frame; such a segment is not
//     independent;
//   - part (fMP4 fragment; an LL-HLS part): when staging d would make the
//     part longer than PART-TARGET (bis §4.4.4.9: each Partial Segment's
//     duration MUST be at most the Part Target Duration).
//
// timelineOrigin is where a new stream's output timeline starts. It keeps
// MPEG-TS PCR (DTS - 100 ms in mediacommon) and a slightly negative first
// PTS positive.
const timelineOrigin = int64(10 * time.Second)

// epochGap separates a new publication's timeline from the previous one so
// that rounding never makes a track's decode time go backwards.
const epochGap = int64(time.Millisecond)

// forcedMargin keeps forced cuts clear of the rounding boundary (TD + 0.5 s).
const forcedMargin = 10 * time.Millisecond

// firstSegmentLimit caps the first segment while the target duration is not
// yet fixed (non-LL): a stream without key frames must not grow it forever.
func firstSegmentLimit(segDur time.Duration) time.Duration {
	return max(4*segDur, 12*time.Second)
}

func durToTicks(d time.Duration, clock int64) int64 {
	return nsToTicksCeil(int64(d), clock)
}

func ticksToDur(ticks, clock int64) time.Duration {
	return time.Duration(ticksToNs(ticks, clock))
}

// beforeTiming applies the cut rules ahead of staging a timing sample at
// d (presented at pts).
//
// Whether a key frame is far enough from the segment's first to cut counts
// the longer of the decode and the presentation distance: with B-frames an
// encoder may present its first key frame later after its decode time than
// the next ones (x265 does: 2 frames, then 4), so the first GOP is short in
// decode time while every GOP lasts the key frame interval on screen.
func (p *Publication) beforeTiming(d, pts int64, key bool) error {
	p.stalled = false
	if !p.segOpen {
		if p.follow != nil {
			p.follow.opening(p, d)
		}
		p.segPTS = pts
		return p.openSegment(d, key)
	}
	t := p.timing
	est := t.estDur()
	segDur := d - p.segStart
	if p.follow != nil {
		// A follower rendition cuts where the leading one did (ladder.go).
		if p.follow.due(p, d, key) {
			p.segPTS = pts
			return p.cutSegment(d, key)
		}
	} else if key && (max(segDur, pts-p.segPTS)+est/2 >= p.segTicks || !p.segKey) {
		// A segment that had to start without a key frame ends at the first
		// one, so that segments line up with key frames again.
		p.segPTS = pts
		return p.cutSegment(d, true)
	}
	limit := p.forceTicks
	if limit == 0 {
		limit = p.firstLimit
	}
	if segDur+est > limit {
		p.warnForced(segDur, est)
		p.segPTS = pts
		return p.cutSegment(d, key)
	}
	if p.variant.isFMP4() {
		partDur := d - p.partStart
		if partDur > p.partTicks && t.hasDTS && t.lastDTS > p.partStart {
			// The previous sample ran longer than predicted: end the part
			// before it so the part stays within PART-TARGET.
			if err := p.cutPart(t.lastDTS); err != nil {
				return err
			}
			partDur = d - p.partStart
		}
		if partDur+est > p.partTicks && d > p.partStart {
			return p.cutPart(d)
		}
	}
	return nil
}

// stallAfter is how late the timing track must be before another track's
// time drives the cuts. Audio routinely leads video DTS by a few frames
// (B-frames), so it must be well above a frame.
const stallAfter = 500 * time.Millisecond

// checkStall keeps segments and parts bounded when the timing track stops
// (a frozen video encoder) while another track goes on: once the timing
// track is stallAfter late, the other track's time cuts parts and segments
// (without a key frame), and video that arrives late for them is dropped.
func (p *Publication) checkStall(t *trackState, dts int64) error {
	if !p.segOpen {
		return nil
	}
	tm := p.timing
	at := dts * tm.clock / t.clock
	est := t.estDur() * tm.clock / t.clock
	expected := p.segStart
	if tm.hasDTS {
		expected = max(expected, tm.lastDTS+tm.estDur())
	}
	if !p.stalled && at-expected < durToTicks(stallAfter, tm.clock) {
		return nil
	}
	limit := p.forceTicks
	if limit == 0 {
		limit = p.firstLimit
	}
	cutSeg := at-p.segStart+est > limit
	cutPart := p.variant.isFMP4() && at-p.partStart+est > p.partTicks
	if !cutSeg && !cutPart {
		return nil
	}
	if !p.warnedStall {
		p.warnedStall = true
		p.log.Warn().Str("timing_track", tm.src.Codec.String()).
			Dur("late", ticksToDur(at-expected, tm.clock)).
			Msg("timing track stalled while another track goes on; cutting on the other track's time")
	}
	p.stalled = true // until the timing track comes back
	tm.minDTS = max(tm.minDTS, at)
	// The cut stretches the last frame over the gap; that is not the frame
	// rate the next stall check (or the next frame) should assume.
	frameDur := tm.lastDur
	defer func() { tm.lastDur = frameDur }()
	if cutSeg {
		return p.cutSegment(at, false)
	}
	return p.cutPart(at)
}

func (p *Publication) warnForced(segDur, est int64) {
	if p.warnedForce {
		return
	}
	p.warnedForce = true
	c := p.timing.clock
	ev := p.log.Warn().
		Dur("segment", ticksToDur(segDur, c)).
		Dur("frame", ticksToDur(est, c)).
		Dur("segment_duration", p.m.cfg.SegmentDuration)
	if p.td > 0 {
		ev = ev.Int("target_duration_s", p.td)
	} else {
		ev = ev.Dur("first_segment_limit", ticksToDur(p.firstLimit, c))
	}
	ev.Msg("no key frame in time: segment cut without a key frame (not independent); " +
		"set the encoder's key frame interval to at most the segment duration")
}

// setTD records the stream's EXT-X-TARGETDURATION and the forced-cut limit
// derived from it.
func (p *Publication) setTD(td int) {
	p.td = td
	if td == 0 || p.timing == nil {
		p.forceTicks = 0
		return
	}
	// Rounded EXTINF <= TD  <=>  duration < TD + 0.5 s.
	limit := time.Duration(td)*time.Second + time.Second/2 - forcedMargin
	p.forceTicks = durToTicks(limit, p.timing.clock)
}

func (p *Publication) cutSegment(d int64, key bool) error {
	if err := p.closeSegment(d, false); err != nil {
		return err
	}
	return p.openSegment(d, key)
}

func (p *Publication) openSegment(d int64, key bool) error {
	p.segOpen = true
	p.segKey = key
	p.segStart, p.partStart = d, d
	p.frames = 0
	if err := p.mux.startSegment(key); err != nil {
		return err
	}
	t := p.timing
	pdt := p.wall0.Add(ticksToDur(d-t.offset, t.clock))
	adj, td, err := p.s.segmentStart(p, pdt, key)
	if err != nil {
		return err
	}
	if !adj.Equal(pdt) {
		// Keep PROGRAM-DATE-TIME unambiguous (bis §6.2.1): a publication
		// must not map media onto wall-clock time already covered.
		p.wall0 = p.wall0.Add(adj.Sub(pdt))
	}
	p.setTD(td)
	if p.onOpen != nil {
		p.onOpen(p, d)
	}
	return nil
}

func (p *Publication) cutPart(cut int64) error {
	frag, err := p.mux.fragment(cut, false)
	if err != nil {
		return err
	}
	dur := cut - p.partStart
	p.partStart = cut
	if !frag.ok || p.variant != VariantLowLatency {
		return nil
	}
	p.checkPart(dur)
	return p.s.partDone(p, partInput{
		body:        frag.body,
		dur:         ticksToDur(dur, p.timing.clock),
		independent: frag.independent,
	}, p.endNs())
}

func (p *Publication) checkPart(dur int64) {
	if dur > p.partTicks && !p.warnedPart {
		p.warnedPart = true
		p.log.Warn().Dur("part", ticksToDur(dur, p.timing.clock)).Dur("part_target", p.m.cfg.PartDuration).
			Msg("a frame is longer than the part target; part exceeds PART-TARGET")
	}
}

// closeSegment ends the segment in progress at cut (noCut: after the last
// staged sample).
func (p *Publication) closeSegment(cut int64, final bool) error {
	frag, err := p.mux.fragment(cut, final)
	if err != nil {
		return err
	}
	t := p.timing
	end := cut
	if cut == noCut {
		end = t.lastDTS + t.estDur()
		if !t.hasDTS {
			end = p.segStart
		}
	}
	var last *partInput
	if frag.ok && p.variant == VariantLowLatency {
		p.checkPart(end - p.partStart)
		last = &partInput{
			body:        frag.body,
			dur:         ticksToDur(end-p.partStart, t.clock),
			independent: frag.independent,
		}
	}
	body := p.mux.takeSegment()
	p.segOpen = false
	td, err := p.s.segmentDone(p, segmentInput{
		body:   body,
		dur:    ticksToDur(end-p.segStart, t.clock),
		frames: p.frames,
		last:   last,
	}, p.endNs())
	if err != nil {
		return err
	}
	p.setTD(td)
	return nil
}
