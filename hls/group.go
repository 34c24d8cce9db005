package hls

import (
	"fmt"
	"strings"
	"time"

	"github.com/livegate/gateway/remux"
)

// Rendition groups: separately published streams served as one adaptive
// ladder. With the rule {"{stream}_720", "{stream}_480"}, publications on
// foo_720 and foo_480 (two outputs of one encoder, or two encoders) become
// the renditions of group foo:
//
//	/app/foo/index.m3u8   multivariant playlist: a variant per rendition
//	/app/foo/v_720.m3u8   video of foo_720 (v + the pattern's fixed text)
//	/app/foo/v_480.m3u8   video of foo_480
//	/app/foo/audio.m3u8   the shared audio rendition group
//
// The group is an outer Publication on stream foo whose adaptive ladder
// (ladder.go) has a rendition per member; the members' publications (the
// ones the ingest holds) write into it under the outer publication's mutex,
// so the ladder's alignment works as for one multitrack publication: the
// first video member leads, the others cut where it cut. The audio served
// is the leader's (else the first member's that has audio).
//
// Time. Each publisher's timestamps start where its connection started, so
// a member's samples are moved onto the group's timeline before the ladder
// sees them. Two members whose RTMP timestamps agree with their arrival
// (within sharedClockTolerance: outputs of one encoder) keep their exact
// timestamp relation; any other member is placed by arrival time, which is
// as good as the two encoders' latencies are alike.
//
// Lifecycle. Members come and go independently. A member that leaves ends
// its rendition's segment in progress; its variant leaves the multivariant
// playlist until it returns (after a discontinuity), and meanwhile its media
// playlist lists the leader's segments as EXT-X-GAP so that its media
// sequence numbers stay those of the others. When the leader leaves the
// next member leads. The group's stream is live while any member is;
// when the last one leaves the stream waits for a reconnect or ends, like
// any stream. A publish on the group's own name is refused while the group
// is live, and a member publish while the name has a direct publisher.

// sharedClockTolerance is how far a member's RTMP timestamps may disagree
// with its arrival time and still be taken as the group's clock.
const sharedClockTolerance = time.Second

// audioRendition is the key of a group's audio rendition.
const audioRendition = "audio"

// namePattern is a parsed GroupRule pattern: pre + "{stream}" + suf.
type namePattern struct {
	pre, suf string
	key      string // the rendition key, "v" + pre + suf made safe
}

const streamPlaceholder = "{stream}"

// parseGroupRules checks and parses rules.
func parseGroupRules(rules []GroupRule) ([][]namePattern, error) {
	var out [][]namePattern
	for i, r := range rules {
		pats, err := parseGroupRule(r)
		if err != nil {
			return nil, fmt.Errorf("group rule %d: %w", i, err)
		}
		out = append(out, pats)
	}
	return out, nil
}

// CheckGroupRule reports what is wrong with r, if anything.
func CheckGroupRule(r GroupRule) error {
	_, err := parseGroupRule(r)
	return err
}

func parseGroupRule(r GroupRule) ([]namePattern, error) {
	if len(r.Renditions) == 0 {
		return nil, fmt.Errorf("no renditions")
	}
	var pats []namePattern
	for _, s := range r.Renditions {
		pre, suf, ok := strings.Cut(s, streamPlaceholder)
		switch {
		case !ok || strings.Contains(suf, streamPlaceholder):
			return nil, fmt.Errorf("pattern %q must hold %s exactly once", s, streamPlaceholder)
		case pre == "" && suf == "":
			return nil, fmt.Errorf("pattern %q needs fixed text around %s", s, streamPlaceholder)
		case strings.ContainsAny(s, "/\\?#"):
			return nil, fmt.Errorf("pattern %q has a character not allowed in stream names", s)
		}
		p := namePattern{pre: pre, suf: suf, key: renditionKey(pre + suf)}
		for _, o := range pats {
			if o.key == p.key {
				return nil, fmt.Errorf("patterns %q and %q give the same rendition name %s", o.pre+streamPlaceholder+o.suf, s, p.key)
			}
		}
		pats = append(pats, p)
	}
	return pats, nil
}

// renditionKey makes a media playlist name from a pattern's fixed text.
func renditionKey(fixed string) string {
	b := []byte("v")
	for i := 0; i < len(fixed); i++ {
		c := fixed[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
		} else {
			b = append(b, '-')
		}
	}
	return string(b)
}

// matchGroup finds the group a stream name belongs to.
func (m *Manager) matchGroup(name string) (group string, pat namePattern, ok bool) {
	for _, rule := range m.groupRules {
		for _, p := range rule {
			if len(name) > len(p.pre)+len(p.suf) && strings.HasPrefix(name, p.pre) && strings.HasSuffix(name, p.suf) {
				return name[len(p.pre) : len(name)-len(p.suf)], p, true
			}
		}
	}
	return "", namePattern{}, false
}

// group is a live rendition group: its outer publication and members.
// Everything but the immutable fields is guarded by gp.mu.
type group struct {
	app, name string
	gp        *Publication // the outer publication on stream name; gp.lad is the ladder

	members []*groupMember // live members, in order of arrival
	audio   *groupMember   // the member whose audio is served
	am      *member        // the ladder member of the audio rendition, once made

	// The group timeline: the latest time written, when, and the offset
	// from the first member's RTMP clock.
	hasClock bool
	lastNs   int64
	lastWall time.Time
	rawToNs  int64
}

// groupMember is one member publication of a group.
type groupMember struct {
	g    *group
	key  string       // rendition key
	name string       // the member's stream name
	h    *Publication // what the member's publisher holds; h.grp is this member

	video, audio *remux.Track // the tracks served, nil if none
	vm           *member      // the ladder member of the video rendition

	hasOff bool
	offNs  int64 // member timeline → group timeline
	smp    remux.Sample
}

// publishMember starts (or takes over) the member pat of group gname (m.mu held).
func (m *Manager) publishMember(app, name, gname string, pat namePattern, o publishOptions) (*Publication, error) {
	if err := checkName(gname); err != nil {
		return nil, err
	}
	key := streamKey{app, gname}
	g := m.groups[key]
	if g != nil && g.dead() {
		g = nil
	}
	if g == nil {
		if s := m.lookup(app, gname); s != nil {
			s.mu.Lock()
			busy := s.pub != nil
			s.mu.Unlock()
			if busy {
				s.log.Warn().Str("member", name).Str("remote", o.remote).
					Msg("group member publish refused: the group's name has a direct publisher")
				return nil, fmt.Errorf("%w: %s/%s is published directly", ErrStreamBusy, app, gname)
			}
		}
		gp, err := m.publishLocked(app, gname, o)
		if err != nil {
			return nil, err
		}
		g = &group{app: app, name: gname, gp: gp}
		gp.mu.Lock()
		gp.lad = &pubLadder{}
		gp.group = g
		gp.mu.Unlock()
		m.groups[key] = g
		gp.log.Info().Msg("rendition group started")
	}
	gp := g.gp
	gp.mu.Lock()
	defer gp.mu.Unlock()
	h := newPublication(m, gp.s, o)
	h.log = gp.log.With().Str("member", name).Logger()
	mb := &groupMember{g: g, key: pat.key, name: name, h: h}
	h.grp = mb
	for i, old := range g.members {
		if old.key != pat.key {
			continue
		}
		if m.cfg.Takeover == TakeoverReject {
			h.log.Warn().Str("remote", o.remote).Msg("group member publish refused: the member already has a live publisher (takeover policy reject)")
			return nil, ErrStreamBusy
		}
		h.log.Warn().Str("remote", o.remote).Msg("new publish on a live group member: taking over from the previous publisher")
		g.flushLocked(old)
		old.h.endErr = ErrTakenOver
		close(old.h.done)
		mb.vm = old.vm
		g.members[i] = mb
		old.audio = nil
		if err := g.chooseAudioLocked(); err != nil {
			h.log.Warn().Err(err).Msg("switching the group's audio")
		}
		return h, nil
	}
	g.members = append(g.members, mb)
	h.log.Info().Str("rendition", pat.key).Str("remote", o.remote).Msg("group member joined")
	return h, nil
}

// dead reports whether the group's outer publication is over (m.mu held).
func (g *group) dead() bool {
	g.gp.mu.Lock()
	defer g.gp.mu.Unlock()
	return g.gp.endErr != nil
}

// setTracks selects the member's first carried video and audio tracks.
func (mb *groupMember) setTracks(tracks []*remux.Track) error {
	g := mb.g
	gp := g.gp
	gp.mu.Lock()
	defer gp.mu.Unlock()
	if err := mb.h.endErr; err != nil {
		return err
	}
	var video, audio *remux.Track
	for _, tr := range tracks {
		if tr == nil {
			continue
		}
		switch {
		case !carries(gp.variant, tr.Codec):
			mb.h.warnTrack(tr, "codec not carried by this variant")
		case checkTrack(tr) != nil:
			mb.h.warnTrack(tr, checkTrack(tr).Error())
		case tr.Kind == remux.KindVideo && video == nil:
			video = tr
		case tr.Kind == remux.KindAudio && audio == nil:
			audio = tr
		default:
			mb.h.warnTrack(tr, "a group member serves one video and one audio track")
		}
	}
	if video == nil && audio == nil {
		mb.h.log.Error().Int("tracks", len(tracks)).Msg("no track of the group member can be carried; nothing of it will be served")
	}
	mb.video, mb.audio = video, audio
	l := gp.lad
	if video != nil {
		if mb.vm == nil {
			mb.vm = l.find(mb.key)
		}
		if mb.vm == nil {
			mb.vm = gp.addMember(mb.key, true)
		}
		mb.vm.r.idle.Store(false)
		mb.vm.r.s.publisher.Store(mb.info())
		if g.leaderLocked() == nil {
			// The leading member left without a successor: this one leads.
			g.promoteLocked(mb.vm)
		}
		if err := mb.vm.pub.SetTracks([]*remux.Track{video}); err != nil {
			return gp.fail(err)
		}
	} else if mb.vm != nil {
		g.flushLocked(mb)
	}
	if err := g.chooseAudioLocked(); err != nil {
		return gp.fail(err)
	}
	return nil
}

// writeSample moves s onto the group timeline and hands it to the member's
// rendition (audio only from the member whose audio is served).
func (mb *groupMember) writeSample(s *remux.Sample) error {
	g := mb.g
	gp := g.gp
	gp.mu.Lock()
	defer gp.mu.Unlock()
	if err := mb.h.endErr; err != nil {
		return err
	}
	var lm *member
	switch {
	case mb.video != nil && s.Track.Kind == remux.KindVideo && s.Track.ID == mb.video.ID:
		lm = mb.vm
	case mb.audio != nil && g.audio == mb && s.Track.Kind == remux.KindAudio && s.Track.ID == mb.audio.ID:
		lm = g.am
	}
	clock := int64(s.Track.ClockRate)
	if lm == nil || clock <= 0 {
		gp.m.stats.droppedNotCarried.Add(1)
		return nil
	}
	now := gp.m.cfg.Now()
	if !mb.hasOff {
		mb.offNs = g.placeLocked(mb, s, now)
		mb.hasOff = true
	}
	off := nsToTicksCeil(mb.offNs, clock)
	mb.smp = *s
	mb.smp.DTS += off
	mb.smp.PTS += off
	if ns := ticksToNs(mb.smp.DTS, clock); !g.hasClock || ns > g.lastNs {
		g.hasClock, g.lastNs, g.lastWall = true, ns, now
	}
	err := gp.lad.writeTo(gp, lm, &mb.smp)
	mb.smp.NALUs, mb.smp.Payload = nil, nil // borrowed
	if err != nil {
		return gp.fail(err)
	}
	return nil
}

// placeLocked decides the offset of a member's timeline on the group's from
// its first sample s: the shared RTMP clock when the member's timestamps
// agree with its arrival, else its arrival.
func (g *group) placeLocked(mb *groupMember, s *remux.Sample, now time.Time) int64 {
	ns := ticksToNs(s.DTS, int64(s.Track.ClockRate))
	base := s.Base * int64(time.Millisecond)
	if !g.hasClock {
		// The first member defines the group timeline.
		g.rawToNs = -base
		mb.h.log.Info().Msg("group timeline starts with this member")
		return 0
	}
	arrival := g.lastNs + int64(now.Sub(g.lastWall)) - ns
	shared := g.rawToNs + base
	if d := shared - arrival; d >= -int64(sharedClockTolerance) && d <= int64(sharedClockTolerance) {
		mb.h.log.Info().Dur("clock_vs_arrival", time.Duration(d)).Msg("group member shares the group's timestamps")
		return shared
	}
	mb.h.log.Info().Dur("clock_vs_arrival", time.Duration(shared-arrival)).
		Msg("group member's timestamps do not match the group's clock; placed by arrival time")
	return arrival
}

// chooseAudioLocked makes the leader's audio the group's, else the first
// member's that has audio, switching the audio rendition's source if needed.
func (g *group) chooseAudioLocked() error {
	var src *groupMember
	if lead := g.leaderLocked(); lead != nil && lead.audio != nil {
		src = lead
	} else {
		for _, mb := range g.members {
			if mb.audio != nil {
				src = mb
				break
			}
		}
	}
	am := g.am
	if src == nil {
		if am != nil && g.audio != nil {
			// Nothing left to carry: end the audio segment in progress.
			finishRendition(am)
		}
		g.audio = nil
		return nil
	}
	if am == nil {
		am = g.gp.addMember(audioRendition, false)
		g.am = am
	}
	if g.audio != src {
		if g.audio != nil {
			releaseHeld(am) // the previous source's last frames
		}
		src.h.log.Info().Msg("group audio comes from this member")
	}
	am.r.idle.Store(false)
	am.r.s.publisher.Store(src.info())
	g.audio = src
	return am.pub.SetTracks([]*remux.Track{src.audio})
}

// leaderLocked is the member whose rendition leads the ladder, if live.
func (g *group) leaderLocked() *groupMember {
	l := g.gp.lad
	for _, mb := range g.members {
		if mb.vm != nil && mb.vm == l.leader && mb.video != nil {
			return mb
		}
	}
	return nil
}

// flushLocked ends the segment in progress of mb's video rendition (the
// member left or stopped sending video); the rendition leaves the
// multivariant playlist until it gets video again.
func (g *group) flushLocked(mb *groupMember) {
	vm := mb.vm
	if vm == nil {
		return
	}
	finishRendition(vm)
	mb.video = nil
	if vm == g.gp.lad.leader {
		for _, o := range g.members {
			if o != mb && o.vm != nil && o.video != nil {
				g.promoteLocked(o.vm)
				break
			}
		}
	}
}

// finishRendition writes what rendition m holds back and ends its segment
// in progress; the rendition is idle until it gets a source again.
func finishRendition(m *member) {
	releaseHeld(m)
	m.pub.mu.Lock()
	m.pub.finishLocked()
	m.pub.mu.Unlock()
	m.r.idle.Store(true)
	m.r.s.publisher.Store(nil)
}

// info describes the member's publisher for the stream listing.
func (mb *groupMember) info() *publisherInfo {
	return &publisherInfo{remote: mb.h.remote, since: mb.h.since, name: mb.name}
}

// releaseHeld writes the samples a following rendition holds back.
func releaseHeld(m *member) {
	ip := m.pub
	if f := ip.follow; f != nil && len(f.held) > 0 && ip.endErr == nil {
		if err := f.release(ip, 0, true); err != nil {
			ip.log.Warn().Err(err).Msg("writing the held samples of a rendition")
		}
	}
}

// promoteLocked makes next's rendition lead the ladder (the leading
// member stopped sending video).
func (g *group) promoteLocked(next *member) {
	l := g.gp.lad
	if l.leader == next {
		return
	}
	if prev := l.leader; prev != nil {
		prev.pub.onOpen = nil
	}
	l.leader = next
	held := next.pub.follow
	next.pub.follow = nil
	next.pub.onOpen = l.leaderOpened
	if held != nil {
		// What it held back waiting for the old leader goes out under its
		// own cut rules.
		for i := range held.held {
			if err := next.pub.WriteSample(&held.held[i].s); err != nil {
				next.pub.log.Warn().Err(err).Msg("writing the held samples of a rendition")
				break
			}
		}
	}
	for _, o := range l.members {
		if o == next {
			continue
		}
		if o.pub.follow == nil {
			o.pub.follow = &follower{}
		}
		o.pub.follow.leader = next.pub
		o.pub.follow.cuts = o.pub.follow.cuts[:0]
	}
	next.pub.log.Info().Msg("this rendition now leads the group")
}

// leaveLocked removes mb after its publication ended with cause (m.mu and
// gp.mu held). It reports whether the group has no member left.
func (g *group) leaveLocked(mb *groupMember, cause error) bool {
	if mb.h.endErr != nil {
		return false
	}
	mb.h.endErr = cause
	close(mb.h.done)
	for i, o := range g.members {
		if o == mb {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	mb.audio = nil
	g.flushLocked(mb)
	if err := g.chooseAudioLocked(); err != nil {
		g.gp.log.Warn().Err(err).Msg("switching the group's audio")
	}
	mb.h.log.Info().Err(cause).Msg("group member left")
	return len(g.members) == 0
}

// end handles the member's End: it leaves the group, and the last member
// to leave ends the group's publication as its publisher would.
func (mb *groupMember) end(clean bool) {
	g := mb.g
	m := g.gp.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.memberLeaveLocked(mb, ErrEnded, clean)
}

// memberLeaveLocked removes mb from its group (m.mu held).
func (m *Manager) memberLeaveLocked(mb *groupMember, cause error, clean bool) {
	g := mb.g
	g.gp.mu.Lock()
	last := g.leaveLocked(mb, cause)
	g.gp.mu.Unlock()
	if last {
		if cur := m.groups[streamKey{g.app, g.name}]; cur == g {
			delete(m.groups, streamKey{g.app, g.name})
		}
		g.gp.End(clean)
	}
}

// terminate ends the member on the Manager's behalf (Kick, Close).
func (mb *groupMember) terminate(cause error) {
	m := mb.g.gp.m
	// Kick and Close hold m.mu already; a failed group closes its members
	// through endMembersLocked instead.
	m.memberLeaveLocked(mb, cause, true)
}

// endMembersLocked ends every member's publication with the group's cause
// (gp.mu held): the group's publication is over.
func (g *group) endMembersLocked(cause error) {
	for _, mb := range g.members {
		if mb.h.endErr == nil {
			mb.h.endErr = cause
			close(mb.h.done)
		}
	}
	g.members = nil
	g.audio = nil
}

// findMember returns the live member publishing app/name (m.mu held).
func (m *Manager) findMember(app, name string) *groupMember {
	gname, pat, ok := m.matchGroup(name)
	if !ok {
		return nil
	}
	g := m.groups[streamKey{app, gname}]
	if g == nil {
		return nil
	}
	g.gp.mu.Lock()
	defer g.gp.mu.Unlock()
	for _, mb := range g.members {
		if mb.key == pat.key && mb.h.endErr == nil {
			return mb
		}
	}
	return nil
}
