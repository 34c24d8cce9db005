package hls

import (
	"math"
	"time"
)

// The writer side of a stream: what a Publication hands over, under
// stream.mu, each call checking that the publication still owns the stream.

// partInput is a finished LL-HLS part handed over by the publication.
type partInput struct {
	body        []byte
	dur         time.Duration
	independent bool
}

// segmentInput is a finished segment handed over by the publication.
type segmentInput struct {
	body   []byte
	dur    time.Duration
	frames int
	last   *partInput // its last part (LL-HLS)
}

// currentLocked checks, under s.mu, that p still owns the stream.
func (s *stream) currentLocked(p *Publication) error {
	if s.pub == p {
		return nil
	}
	if s.m.closed.Load() {
		return ErrClosed
	}
	return ErrTakenOver
}

// beginEpoch registers a new configuration of p: its init section (fMP4) and
// a discontinuity before its first segment when anything came before.
func (s *stream) beginEpoch(p *Publication, init []byte, media mediaInfo) (endNs int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.currentLocked(p); err != nil {
		return 0, err
	}
	now := s.m.cfg.Now()
	if init != nil {
		n := s.nextInit
		s.nextInit++
		in := &initSection{n: n, obj: &Object{
			Kind:           KindInit,
			Body:           init,
			ContentType:    s.mp4ContentType(media),
			ModTime:        now,
			ETag:           s.etag('i', int64(n), -1),
			TargetDuration: s.tdDuration(),
			Expires:        now.Add(s.availability()),
		}}
		s.inits = append(s.inits[:len(s.inits):len(s.inits)], in)
		s.curInit = in
	}
	// RFC 8216 §4.3.2.3 / bis §6.2.1: a change of encoding parameters or
	// timestamps MUST be signalled with EXT-X-DISCONTINUITY. (A ladder
	// rendition that joins late starts at the others' sequence number with
	// nothing before it.)
	if len(s.segs) > 0 || s.nextMSN > 0 && s.parent == nil {
		s.nextDisc = true
	}
	s.media = media
	s.fps = 0
	if s.parent == nil && p.lad == nil {
		// A single-rendition publication serves the stream's own playlist
		// again after a ladder.
		s.ladder.Store(nil)
	}
	return s.endNs, nil
}

// segmentStart opens segment nextMSN at wall-clock pdt. It returns the
// PROGRAM-DATE-TIME actually used and the target duration.
func (s *stream) segmentStart(p *Publication, pdt time.Time, independent bool) (time.Time, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.currentLocked(p); err != nil {
		return pdt, 0, err
	}
	// bis §6.2.1: the PROGRAM-DATE-TIME mapping MUST NOT be ambiguous: a
	// later segment never starts before an earlier one ends.
	if pdt.Before(s.pdtEnd) {
		pdt = s.pdtEnd
	}
	s.open = openSegment{
		msn:         s.nextMSN,
		started:     true,
		pdt:         pdt,
		disc:        s.nextDisc,
		init:        s.curInit,
		independent: independent,
	}
	s.nextDisc = false
	if s.td == 0 && s.m.cfg.Variant == VariantLowLatency {
		// LL-HLS shows parts before the first segment closes, so the target
		// duration is fixed from the configuration at the first part.
		s.td = ceilSeconds(s.m.cfg.SegmentDuration)
		s.setInitTDLocked()
	}
	p.openMSN = s.open.msn
	return pdt, s.td, nil
}

// partDone publishes an LL-HLS part of the open segment.
func (s *stream) partDone(p *Publication, in partInput, endNs int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.currentLocked(p); err != nil {
		return err
	}
	s.addPartLocked(in)
	s.endNs = max(s.endNs, endNs)
	s.publishLocked()
	return nil
}

func (s *stream) addPartLocked(in partInput) {
	now := s.m.cfg.Now()
	idx := len(s.open.parts)
	s.m.stats.parts.Add(1)
	pt := &part{
		dur:         in.dur,
		independent: in.independent,
		obj: &Object{
			Kind:           KindPart,
			Body:           in.body,
			ContentType:    s.mp4ContentType(s.media),
			ModTime:        now,
			ETag:           s.etag('p', s.open.msn, idx),
			TargetDuration: s.tdDuration(),
			// Parts are served as long as their segment, which outlasts
			// the three target durations bis §6.2.2 requires after their
			// EXT-X-PART tags leave the playlist.
			Expires: now.Add(s.availability()),
		},
	}
	s.open.parts = append(s.open.parts[:idx:idx], pt)
}

// segmentDone publishes the open segment (and its last part).
func (s *stream) segmentDone(p *Publication, in segmentInput, endNs int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.currentLocked(p); err != nil {
		return 0, err
	}
	if in.last != nil {
		s.addPartLocked(*in.last)
	}
	s.endNs = max(s.endNs, endNs)
	if len(in.body) == 0 || in.dur <= 0 {
		// Nothing was written: keep the sequence number and any pending
		// discontinuity for the next segment.
		s.nextDisc = s.nextDisc || s.open.disc
		s.open = openSegment{msn: s.nextMSN}
		s.publishLocked()
		return s.td, nil
	}
	now := s.m.cfg.Now()
	seg := &segment{
		msn:         s.open.msn,
		dur:         in.dur,
		pdt:         s.open.pdt,
		disc:        s.open.disc,
		init:        s.open.init,
		independent: s.open.independent,
		parts:       s.open.parts,
		size:        len(in.body),
		frames:      in.frames,
	}
	seg.obj = &Object{
		Kind:           KindSegment,
		Body:           in.body,
		ContentType:    s.segmentContentType(),
		ModTime:        now,
		ETag:           s.etag('s', seg.msn, -1),
		TargetDuration: s.tdDuration(),
		Expires:        now.Add(s.availability()),
	}
	if s.td == 0 {
		// RFC 8216 §4.3.3.1: an integer no smaller than any rounded EXTINF,
		// fixed for the life of the playlist (bis §6.2.1: MUST NOT change).
		s.td = max(ceilSeconds(s.m.cfg.SegmentDuration), roundSeconds(in.dur))
		seg.obj.TargetDuration = s.tdDuration()
		// (LL-HLS fixes it at segmentStart, so no part is published with 0.)
		s.setInitTDLocked()
	}
	s.nextMSN = seg.msn + 1
	s.segsOut.Add(1)
	s.m.stats.segments.Add(1)
	s.open = openSegment{msn: s.nextMSN}
	s.pdtEnd = seg.pdt.Add(seg.dur)
	if s.media.hasVideo && in.frames > 1 {
		s.fps = math.Round(float64(in.frames)/seg.dur.Seconds()*1000) / 1000
	}
	segs := make([]*segment, 0, len(s.segs)+1)
	segs = append(segs, s.segs...)
	s.segs = append(segs, seg)
	s.slideLocked(now)
	s.publishLocked()
	return s.td, nil
}

// gapSegment is a segment of the leading rendition that an idle rendition
// marks as a gap.
type gapSegment struct {
	msn int64
	dur time.Duration
	pdt time.Time
}

// closedSince lists the closed segments from msn on.
func (s *stream) closedSince(msn int64) []gapSegment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gapSegment
	for _, seg := range s.segs {
		if seg.msn >= msn {
			out = append(out, gapSegment{seg.msn, seg.dur, seg.pdt})
		}
	}
	return out
}

// fillGaps appends gap segments (EXT-X-GAP) for the leading rendition's
// segments lead that this idle rendition lacks, so its media sequence
// numbers stay those of the other renditions (bis §6.2.4) until its source
// returns. A rendition that never had a segment is aligned when it starts
// instead (alignMSN).
func (s *stream) fillGaps(lead *stream, before int64) {
	s.mu.Lock()
	if s.td == 0 || len(s.segs) == 0 {
		s.mu.Unlock()
		return
	}
	next := s.nextMSN
	s.mu.Unlock()
	gaps := lead.closedSince(next)
	if len(gaps) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open.started {
		return // it has media again: its source came back meanwhile
	}
	now := s.m.cfg.Now()
	segs := append([]*segment(nil), s.segs...)
	// Gaps keep the init section of the media before them (a returning
	// source's new one starts after its discontinuity).
	init := segs[len(segs)-1].init
	for _, g := range gaps {
		if g.msn != s.nextMSN || g.msn >= before {
			break
		}
		// A gap ends where the leader's segment ends; the first one may
		// start later, where this rendition's last media ended.
		pdt, end := g.pdt, g.pdt.Add(g.dur)
		if pdt.Before(s.pdtEnd) {
			pdt = s.pdtEnd
		}
		dur := max(end.Sub(pdt), time.Millisecond)
		segs = append(segs, &segment{msn: g.msn, dur: dur, pdt: pdt, gap: true, init: init, independent: true})
		s.nextMSN = g.msn + 1
		s.pdtEnd = pdt.Add(dur)
	}
	if len(segs) == len(s.segs) {
		return
	}
	s.segs = segs
	s.open = openSegment{msn: s.nextMSN}
	s.slideLocked(now)
	s.publishLocked()
}

// setInitTDLocked fills in the target duration of the current init
// section if it was created before the target duration was fixed. Published
// objects are immutable, so it is replaced, not modified (playlists refer to
// init sections by number).
func (s *stream) setInitTDLocked() {
	old := s.curInit
	if old == nil || old.obj.TargetDuration != 0 {
		return
	}
	obj := *old.obj
	obj.TargetDuration = s.tdDuration()
	in := &initSection{n: old.n, obj: &obj}
	inits := make([]*initSection, len(s.inits))
	for i, x := range s.inits {
		if x == old {
			x = in
		}
		inits[i] = x
	}
	s.inits, s.curInit = inits, in
	if s.open.init == old {
		s.open.init = in
	}
}

// retireable counts retired segments already past their expiry.
func (s *stream) retireable(now time.Time) int {
	n := 0
	for n < s.win && !s.segs[n].expires.After(now) {
		n++
	}
	return n
}

// slideLocked moves segments out of the window and drops expired ones.
func (s *stream) slideLocked(now time.Time) {
	tdDur := s.tdDuration()
	var winDur time.Duration
	for _, seg := range s.segs[s.win:] {
		winDur += seg.dur
	}
	// RFC 8216 §6.2.2: never remove a segment if the playlist would become
	// shorter than three target durations.
	for len(s.segs)-s.win > s.m.cfg.SegmentCount && winDur-s.segs[s.win].dur >= 3*tdDur {
		seg := s.segs[s.win]
		winDur -= seg.dur
		s.win++
		if seg.disc {
			// RFC 8216 §4.3.3.3: the discontinuity sequence counts the
			// discontinuities that left the playlist.
			s.dsn++
		}
		// RFC 8216 §6.2.2: a removed segment MUST remain available for its
		// duration plus the longest playlist that contained it.
		seg.expires = now.Add(seg.dur + winDur + seg.dur)
	}
	if n := s.retireable(now); n > 0 {
		s.segs = s.segs[n:]
		s.win -= n
	}
	// Init sections no longer referenced by a served segment go too.
	oldest := -1
	if s.curInit != nil {
		oldest = s.curInit.n
	}
	if len(s.segs) > 0 && s.segs[0].init != nil {
		oldest = s.segs[0].init.n
	}
	k := 0
	for k < len(s.inits) && s.inits[k].n < oldest {
		k++
	}
	if k > 0 {
		s.inits = s.inits[k:]
	}
	// BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the mean
	// (RFC 8216 §4.3.4.2), measured over the window.
	var bits, dur float64
	peak := 0
	for _, seg := range s.segs[s.win:] {
		if seg.gap {
			continue
		}
		sec := seg.dur.Seconds()
		peak = max(peak, int(float64(seg.size)*8/sec))
		bits += float64(seg.size) * 8
		dur += sec
	}
	s.peakBW = peak
	if dur > 0 {
		s.avgBW = int(bits / dur)
	}
}
