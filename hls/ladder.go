package hls

import (
	"context"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/livegate/gateway/remux"
)

// An adaptive ladder: a publication with several video tracks (Enhanced
// RTMP multitrack, e.g. OBS "Enhanced Broadcasting" sending 1080p, 720p
// and 480p renditions under separate track ids) is served, with the fMP4
// and LL-HLS variants, as one multivariant playlist with a variant per
// video rendition and the audio as a shared rendition group (with several
// audio tracks, alternate renditions in it; one video track with several
// audio tracks is a ladder too):
//
//	index.m3u8      #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",...,URI="a<id>.m3u8"
//	                #EXT-X-STREAM-INF:BANDWIDTH=...,CODECS="video,audio",RESOLUTION=...,AUDIO="audio"
//	                v<id>.m3u8 (one per video track, ordered by bandwidth)
//	v<id>.m3u8      video-only segments (and parts) of video track <id>
//	a<id>.m3u8      audio-only segments (and parts) of audio track <id>
//
// where <id> is the track's Enhanced RTMP track id (remux.Track.SourceID).
// Each rendition is an inner stream (with its own object-name prefix) fed
// by an inner Publication; the outer Publication routes samples to them and
// the outer stream answers requests for all of them. A single-video
// publication, and every MPEG-TS publication, keeps the single muxed media
// playlist (stream.m3u8); MPEG-TS serves the first video track only.
//
// Alignment (RFC 8216 bis §6.2.4): the first video rendition leads. Its
// segments start on its key frames under the usual rules; every other
// rendition cuts at its first key frame (audio: its first frame) at or
// after the time the leader cut, so renditions from one encoder (which
// share GOP boundaries) have segments with the same media sequence numbers
// and nearly the same boundaries. All renditions share the leader's output
// timeline and PROGRAM-DATE-TIME mapping and its target duration. A
// follower without a key frame in time is still cut on the target
// duration (forced, not independent) like any stream; it then stays one
// segment behind until its sources line up again, which the leader's log
// warning about key frames already points at. With LL-HLS each rendition
// has its own parts, and every media playlist carries
// EXT-X-RENDITION-REPORT for the others.
//
// Inner streams follow their parent's lifecycle state (live, waiting,
// ended, freed); a reconnect continues every rendition after a
// discontinuity. A later single-video publication on the name serves
// stream.m3u8 again.

// ladder is the set of renditions a stream serves; copy-on-write.
type ladder struct {
	renditions []*rendition // in order of creation: the leader first
}

// rendition is one media playlist of a ladder.
type rendition struct {
	key   string // "v<id>" or "a<id>"; a group's: see group.go
	video bool
	s     *stream
	// idle: the rendition's source is gone for now (a group member left);
	// the multivariant playlist leaves it out.
	idle atomic.Bool
}

// pubLadder is a publication's side of a ladder: one inner publication per
// rendition, all written from the outer publication's goroutine under its
// mutex.
type pubLadder struct {
	members []*member
	leader  *member
}

type member struct {
	r   *rendition
	pub *Publication
}

// follower is a non-leading rendition's cut schedule.
type follower struct {
	leader *Publication
	cuts   []cutEvent
	// held are samples ahead of the leader, kept until the leader has
	// decided whether to cut before their time (publishers interleave
	// tracks in any order); at most holdLimit of media.
	held []heldSample
	// overdue: the sample being written waited past holdLimit for the leader.
	overdue bool
}

type heldSample struct {
	s  remux.Sample // owns its memory
	ns int64        // output timeline
}

// holdLimit bounds how long a follower's samples wait for a leader that
// stopped or lags; past it they go on and may miss a cut.
const holdLimit = 500 * time.Millisecond

// cutEvent is a segment the leader opened.
type cutEvent struct {
	ns  int64 // output timeline
	msn int64
}

// maxPendingCuts bounds the cut schedule of a follower whose track stopped.
const maxPendingCuts = 64

// wantsLadder reports whether tracks call for a ladder, with an fMP4
// variant: several carried video tracks, or one and several audio tracks
// (alternate audio renditions).
func (p *Publication) wantsLadder(tracks []*remux.Track) bool {
	if !p.m.cfg.Ladder || !p.variant.isFMP4() {
		return false
	}
	var video, audio int
	for _, tr := range tracks {
		if tr != nil && carries(p.variant, tr.Codec) && checkTrack(tr) == nil {
			switch tr.Kind {
			case remux.KindVideo:
				video++
			case remux.KindAudio:
				audio++
			}
		}
	}
	return video >= 2 || video >= 1 && audio >= 2
}

// ladderSetTracks gives every carried video and audio track its rendition.
func (p *Publication) ladderSetTracks(tracks []*remux.Track) error {
	if p.lad == nil {
		p.lad = &pubLadder{}
		p.tracks, p.timing, p.pending = nil, nil, nil
	}
	l := p.lad
	seen := make(map[*member]bool)
	for _, tr := range tracks {
		if tr == nil {
			continue
		}
		switch {
		case !carries(p.variant, tr.Codec):
			p.warnTrack(tr, "codec not carried by this variant")
			continue
		case checkTrack(tr) != nil:
			p.warnTrack(tr, checkTrack(tr).Error())
			continue
		case tr.Kind != remux.KindVideo && tr.Kind != remux.KindAudio:
			p.warnTrack(tr, "unknown track kind")
			continue
		}
		video := tr.Kind == remux.KindVideo
		key := "a"
		if video {
			key = "v"
		}
		key += strconv.Itoa(tr.SourceID)
		m := l.find(key)
		if m != nil && seen[m] {
			key += "_" + strconv.Itoa(tr.ID) // two tracks with one source id
			m = l.find(key)
		}
		if m == nil {
			m = p.addMember(key, video)
		}
		seen[m] = true
		if err := m.pub.SetTracks([]*remux.Track{tr}); err != nil {
			return err
		}
	}
	for _, m := range l.members {
		if !seen[m] && len(m.pub.tracks) > 0 {
			if err := m.pub.SetTracks(nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *pubLadder) find(key string) *member {
	for _, m := range l.members {
		if m.r.key == key {
			return m
		}
	}
	return nil
}

// addMember attaches an inner publication to the rendition named key.
func (p *Publication) addMember(key string, video bool) *member {
	l := p.lad
	r := p.s.rendition(key, video)
	ip := newPublication(p.m, r.s, publishOptions{remote: p.remote})
	ip.log = r.s.log
	m := &member{r: r, pub: ip}
	if l.leader == nil && video {
		l.leader = m
		ip.onOpen = l.leaderOpened
	}
	l.members = append(l.members, m)
	r.s.attachInner(ip)
	for _, o := range l.members {
		if o != l.leader && o.pub.follow == nil && l.leader != nil {
			o.pub.follow = &follower{leader: l.leader.pub}
		}
	}
	if l.leader == nil || !l.leader.pub.hasOffset {
		// Start every rendition's timeline after the latest end of any of
		// them, so no decode time goes backwards across a reconnect.
		var end int64
		for _, o := range l.members {
			end = max(end, o.r.s.endTimeline())
		}
		for _, o := range l.members {
			o.r.s.setEndTimeline(end)
		}
	}
	return m
}

// leaderOpened schedules the leader's new segment as a cut for every
// follower, and marks the segment the leader closed as a gap in every idle
// rendition.
func (l *pubLadder) leaderOpened(lp *Publication, d int64) {
	if lad := lp.s.parent.ladder.Load(); lad != nil {
		for _, r := range lad.renditions {
			if r.idle.Load() && r.s != lp.s {
				r.s.fillGaps(lp.s, lp.openMSN)
			}
		}
	}
	ev := cutEvent{ns: ticksToNs(d, lp.timing.clock), msn: lp.openMSN}
	for _, m := range l.members {
		if f := m.pub.follow; f != nil {
			if len(f.cuts) >= maxPendingCuts {
				f.cuts = append(f.cuts[:0], f.cuts[1:]...)
			}
			f.cuts = append(f.cuts, ev)
		}
	}
}

// writeSample routes s to its rendition. Followers wait for the leader's
// first key frame and share its timeline.
func (l *pubLadder) writeSample(p *Publication, s *remux.Sample) error {
	var m *member
	for _, o := range l.members {
		if o.pub.trackFor(s.Track) != nil || o.pub.pendingFor(s.Track) != nil {
			m = o
			break
		}
	}
	if m == nil {
		p.m.stats.droppedNotCarried.Add(1)
		return nil
	}
	return l.writeTo(p, m, s)
}

// writeTo writes s to member m's rendition.
func (l *pubLadder) writeTo(p *Publication, m *member, s *remux.Sample) error {
	if f := m.pub.follow; f != nil {
		lp := f.leader
		if !lp.hasOffset {
			p.m.stats.droppedBeforeKey.Add(1)
			return nil
		}
		ip := m.pub
		if !ip.hasOffset {
			ip.hasOffset, ip.offsetNs, ip.wall0 = true, lp.offsetNs, lp.wall0
		}
		if s.Track.ClockRate <= 0 {
			return m.pub.WriteSample(s)
		}
		ns := ticksToNs(s.DTS, int64(s.Track.ClockRate)) + ip.offsetNs
		if !ip.started && len(f.cuts) > 0 && ns+int64(time.Millisecond) < f.cuts[0].ns {
			// Before the leader's first segment: nothing to align with.
			p.m.stats.droppedBeforeKey.Add(1)
			return nil
		}
		if len(f.held) > 0 || ns > leaderNs(lp)+int64(time.Millisecond) {
			// The leader has not reached this time yet: wait for its cut.
			f.held = append(f.held, heldSample{s: copySample(s), ns: ns})
			return f.release(ip, leaderNs(lp), false)
		}
		return ip.WriteSample(s)
	}
	if err := m.pub.WriteSample(s); err != nil {
		return err
	}
	if m == l.leader {
		now := leaderNs(m.pub)
		for _, o := range l.members {
			if f := o.pub.follow; f != nil && len(f.held) > 0 {
				if err := f.release(o.pub, now, false); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// leaderNs is the output time the leader has reached.
func leaderNs(lp *Publication) int64 {
	if t := lp.timing; t != nil && t.hasDTS {
		return ticksToNs(t.lastDTS, t.clock)
	}
	return 0
}

// release writes the held samples the leader has caught up with, those
// beyond holdLimit behind the newest, or (all) every one.
func (f *follower) release(p *Publication, upTo int64, all bool) error {
	n := 0
	newest := f.held[len(f.held)-1].ns
	for n < len(f.held) {
		h := &f.held[n]
		late := h.ns > upTo+int64(time.Millisecond)
		if !all && late && newest-h.ns <= int64(holdLimit) {
			break
		}
		f.overdue = late && !all
		err := p.WriteSample(&h.s)
		f.overdue = false
		if err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		k := copy(f.held, f.held[n:])
		clear(f.held[k:])
		f.held = f.held[:k]
	}
	return nil
}

// copySample copies s with its borrowed payload.
func copySample(s *remux.Sample) remux.Sample {
	c := *s
	if s.NALUs != nil {
		size := 0
		for _, n := range s.NALUs {
			size += len(n)
		}
		buf := make([]byte, 0, size)
		c.NALUs = make([][]byte, len(s.NALUs))
		for i, n := range s.NALUs {
			buf = append(buf, n...)
			c.NALUs[i] = buf[len(buf)-len(n) : len(buf) : len(buf)]
		}
	}
	if s.Payload != nil {
		c.Payload = append([]byte(nil), s.Payload...)
	}
	return c
}

// finish closes every rendition's segment in progress and ends the inner
// publications.
func (l *pubLadder) finish() {
	for _, m := range l.members {
		if f := m.pub.follow; f != nil && len(f.held) > 0 && m.pub.endErr == nil {
			if err := f.release(m.pub, 0, true); err != nil {
				m.pub.log.Warn().Err(err).Msg("writing the last samples of a rendition")
			}
		}
	}
	for _, m := range l.members {
		m.pub.terminate(ErrEnded)
	}
}

// adoptTD takes the leader's target duration once it is fixed.
func (f *follower) adoptTD(p *Publication) {
	if p.td == 0 && f.leader.td > 0 {
		p.s.adoptTD(f.leader.td)
		p.setTD(f.leader.td)
	}
}

// opening aligns a follower's first segment of an epoch, starting at d, with
// the leader's segment that started last at or before it.
func (f *follower) opening(p *Publication, d int64) {
	f.adoptTD(p)
	ns := ticksToNs(d, p.timing.clock) + int64(time.Millisecond)
	i := 0
	for i < len(f.cuts) && f.cuts[i].ns <= ns {
		i++
	}
	if i > 0 {
		// A rendition coming back lists what it missed as gaps.
		p.s.fillGaps(f.leader.s, f.cuts[i-1].msn)
		p.s.alignMSN(f.cuts[i-1].msn)
		f.cuts = append(f.cuts[:0], f.cuts[i:]...)
	}
	p.wall0 = f.leader.wall0
}

// due reports whether a follower's segment must be cut before its sample
// at d: the leader has cut at or before d, and d can start a segment.
func (f *follower) due(p *Publication, d int64, key bool) bool {
	f.adoptTD(p)
	c := p.timing.clock
	start := ticksToNs(p.segStart, c) + int64(time.Millisecond)
	i := 0
	for i < len(f.cuts) && f.cuts[i].ns <= start {
		i++ // cuts that fell inside the segment before (no key frame there)
	}
	f.cuts = append(f.cuts[:0], f.cuts[i:]...)
	ns := ticksToNs(d, c) + int64(time.Millisecond)
	if !key {
		return false
	}
	if len(f.cuts) == 0 || ns < f.cuts[0].ns {
		// The leader has not cut here. One that kept this sample waiting
		// past holdLimit has stalled or gone (its publisher may be
		// leaving): cut on this key frame as a leader would, rather than
		// force a cut without one later.
		return f.overdue && d-p.segStart+p.timing.estDur()/2 >= p.segTicks
	}
	i = 0
	for i < len(f.cuts) && f.cuts[i].ns <= ns {
		i++
	}
	f.cuts = append(f.cuts[:0], f.cuts[i:]...)
	p.wall0 = f.leader.wall0
	return true
}

// rendition returns the parent stream's rendition key, creating its inner
// stream if needed.
func (s *stream) rendition(key string, video bool) *rendition {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.ladder.Load()
	var rs []*rendition
	if old != nil {
		for _, r := range old.renditions {
			if r.key == key {
				return r
			}
		}
		rs = old.renditions
	}
	in := &stream{
		m:       s.m,
		app:     s.app,
		name:    s.name,
		prefix:  newPrefix(),
		log:     s.log.With().Str("rendition", key).Logger(),
		created: s.m.cfg.Now(),
		endNs:   timelineOrigin,
		parent:  s,
		rname:   key + ".m3u8",
		state:   s.state,
	}
	if len(rs) > 0 {
		// A rendition joining later starts at the others' sequence numbers.
		in.nextMSN = rs[0].s.nextMSNValue()
	}
	in.mu.Lock()
	in.publishLocked()
	in.mu.Unlock()
	r := &rendition{key: key, video: video, s: in}
	l := &ladder{renditions: append(rs[:len(rs):len(rs)], r)}
	s.ladder.Store(l)
	s.log.Info().Str("rendition", key).Str("prefix", in.prefix).Msg("ladder rendition created")
	return r
}

// attachInner makes p the inner stream's writer.
func (s *stream) attachInner(p *Publication) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pub = p
	if st := s.parent.snap.Load().state; st != s.state {
		s.state = st
		s.publishLocked()
	}
}

// mirror takes the parent's lifecycle state. Lock order: parent's mu, then
// the rendition's.
func (s *stream) mirror(st streamState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == st {
		return
	}
	s.state = st
	if st == stateFreed {
		s.segs, s.inits, s.open, s.curInit = nil, nil, openSegment{}, nil
		s.win = 0
	}
	s.publishLocked()
}

func (s *stream) endTimeline() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endNs
}

func (s *stream) setEndTimeline(ns int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endNs = max(s.endNs, ns)
}

func (s *stream) nextMSNValue() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.nextMSN, s.open.msn)
}

// alignMSN moves a rendition with no segment yet to the leader's media
// sequence number (RFC 8216 bis §6.2.4: the same number for the same
// content in every rendition).
func (s *stream) alignMSN(msn int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 && msn > s.nextMSN {
		s.nextMSN = msn
	}
}

// adoptTD fixes a follower's target duration to the leader's (bis §6.2.4:
// all renditions share one).
func (s *stream) adoptTD(td int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.td == 0 {
		s.td = td
		s.setInitTDLocked()
	}
}

// getLadder answers the requests of a stream serving a ladder; ok is false
// for names that are not the ladder's.
func (s *stream) getLadder(ctx context.Context, l *ladder, file string, q url.Values) (*Object, bool, error) {
	switch file {
	case MultivariantName:
		obj, err := s.renderLadder(l)
		return obj, true, err
	case MediaPlaylistName:
		return nil, true, ErrNotFound
	}
	for _, r := range l.renditions {
		if file == r.s.rname {
			obj, err := r.s.getMediaPlaylist(ctx, q)
			return obj, true, err
		}
		if len(file) > prefixLen && file[:prefixLen] == r.s.prefix {
			obj, err := r.s.get(ctx, file, q)
			return obj, true, err
		}
	}
	return nil, false, nil
}

// renderLadder builds the multivariant playlist of a ladder: the audio
// rendition group (every audio rendition with a playlist, the first the
// default) and one variant per video rendition that has a playlist,
// ordered by bandwidth (RFC 8216 §4.3.4.2 / Apple HLS Authoring 9.x:
// BANDWIDTH and AVERAGE-BANDWIDTH include the most demanding audio
// rendition; CODECS lists the video and every audio rendition's codec).
func (s *stream) renderLadder(l *ladder) (*Object, error) {
	cfg := &s.m.cfg
	type vr struct {
		r *rendition
		v *snapshot
	}
	var videos, audios []vr
	var mod time.Time
	for _, r := range l.renditions {
		v := r.s.snap.Load()
		if !v.hasPlaylist() || r.video && r.idle.Load() && !allIdle(l) {
			continue
		}
		if v.modTime.After(mod) {
			mod = v.modTime
		}
		if r.video {
			videos = append(videos, vr{r, v})
		} else {
			audios = append(audios, vr{r, v})
		}
	}
	if len(videos) == 0 {
		return nil, ErrNotFound
	}
	pl := playlist.Multivariant{Version: playlistVersion(cfg.Variant)}
	var apeak, aavg int
	var acodecs []string
	for i, a := range audios {
		uri := a.r.s.rname
		name := "audio"
		if len(audios) > 1 {
			// NAME is unique within the group (RFC 8216 §4.3.4.1.1); players
			// show it in their audio menus.
			name = "Audio " + strconv.Itoa(i+1)
		}
		pl.Renditions = append(pl.Renditions, &playlist.MultivariantRendition{
			Type:       playlist.MultivariantRenditionTypeAudio,
			GroupID:    "audio",
			Name:       name,
			Default:    i == 0,
			Autoselect: true,
			URI:        &uri,
		})
		apeak, aavg = max(apeak, a.v.peakBW), max(aavg, a.v.avgBW)
		for _, c := range a.v.media.codecs {
			if !slices.Contains(acodecs, c) {
				acodecs = append(acodecs, c)
			}
		}
	}
	for _, x := range videos {
		v := x.v
		avg := max(v.avgBW+aavg, 1)
		variant := &playlist.MultivariantVariant{
			Bandwidth:        max(v.peakBW+apeak, 1),
			AverageBandwidth: &avg,
			Codecs:           append(append([]string(nil), v.media.codecs...), acodecs...),
			URI:              x.r.s.rname,
		}
		if len(audios) > 0 {
			variant.Audio = "audio"
		}
		if v.media.width > 0 && v.media.height > 0 {
			variant.Resolution = strconv.Itoa(v.media.width) + "x" + strconv.Itoa(v.media.height)
		}
		fps := v.frameRate
		if fps == 0 {
			fps = v.media.frameRate
		}
		if fps > 0 {
			variant.FrameRate = &fps
		}
		pl.Variants = append(pl.Variants, variant)
	}
	sort.SliceStable(pl.Variants, func(i, j int) bool { return pl.Variants[i].Bandwidth < pl.Variants[j].Bandwidth })
	body, err := pl.Marshal()
	if err != nil {
		s.log.Error().Err(err).Msg("rendering the ladder's multivariant playlist")
		body = []byte("#EXTM3U\n")
	}
	lead := videos[0].v
	if l.renditions[0].video {
		lead = l.renditions[0].s.snap.Load()
	}
	return &Object{
		Kind:           KindMultivariant,
		Body:           body,
		ContentType:    contentTypePlaylist,
		ModTime:        mod,
		ETag:           bodyETag(body),
		TargetDuration: time.Duration(lead.td) * time.Second,
		Ended:          lead.ended(),
	}, nil
}

// allIdle reports whether no video rendition of l has a live source.
func allIdle(l *ladder) bool {
	for _, r := range l.renditions {
		if r.video && !r.idle.Load() {
			return false
		}
	}
	return true
}

// appendRenditionReports writes EXT-X-RENDITION-REPORT for every other
// rendition of the ladder (bis §4.4.5.4): its last segment or part.
func (s *stream) appendRenditionReports(b []byte) []byte {
	l := s.parent.ladder.Load()
	if l == nil {
		return b
	}
	for _, r := range l.renditions {
		if r.s == s {
			continue
		}
		v := r.s.snap.Load()
		if !v.hasPlaylist() {
			continue
		}
		msn, lastPart := v.lastMSN(), -1
		if len(v.open.parts) > 0 {
			msn, lastPart = v.open.msn, len(v.open.parts)-1
		} else if seg := v.segment(msn); seg != nil {
			lastPart = len(seg.parts) - 1
		}
		b = append(b, "#EXT-X-RENDITION-REPORT:URI=\""...)
		b = append(b, r.s.rname...)
		b = append(b, "\",LAST-MSN="...)
		b = appendInt(b, msn)
		if lastPart >= 0 {
			b = append(b, ",LAST-PART="...)
			b = appendInt(b, int64(lastPart))
		}
		b = append(b, '\n')
	}
	return b
}

// describe fills in the media fields of a ladder stream's StreamInfo from
// its renditions: every rendition's track, the leader's window and target
// duration, and the highest variant's bandwidth (video and audio).
func (l *ladder) describe(info *StreamInfo) {
	info.Tracks = info.Tracks[:0]
	var vpeak, apeak int
	for i, r := range l.renditions {
		v := r.s.snap.Load()
		ri := RenditionInfo{Playlist: r.s.rname, Kind: "audio", Live: !r.idle.Load() && v.state == stateLive, Bandwidth: v.peakBW}
		if r.video {
			ri.Kind = "video"
		}
		if pi := r.s.publisher.Load(); pi != nil {
			ri.Member, ri.Publisher = pi.name, pi.remote
		}
		info.Renditions = append(info.Renditions, ri)
		for _, ti := range v.media.tracks {
			if ti.Kind == "video" && v.frameRate > 0 {
				ti.FrameRate = v.frameRate
			}
			info.Tracks = append(info.Tracks, ti)
		}
		if i == 0 {
			info.Segments = len(v.window())
			info.TargetDuration = time.Duration(v.td) * time.Second
		}
		if r.video {
			vpeak = max(vpeak, v.peakBW)
		} else {
			apeak = max(apeak, v.peakBW)
		}
	}
	info.Bandwidth = vpeak + apeak
}
