package hls

import (
	"time"

	"github.com/livegate/gateway/remux"
)

// An epoch is a run of a publication's samples with one track
// configuration: it starts at a key frame of its timing track, has its own
// init section (fMP4) and begins with a discontinuity when anything came
// before it on the stream.

// setTracks installs a selected configuration (not yet started).
func (p *Publication) setTracks(sel []*trackState) {
	p.tracks = sel
	p.timing = nil
	for _, t := range sel {
		if t.timing {
			p.timing = t
		}
	}
	if p.timing != nil {
		c := p.timing.clock
		p.segTicks = durToTicks(p.m.cfg.SegmentDuration, c)
		p.partTicks = durToTicks(p.m.cfg.PartDuration, c)
		p.firstLimit = durToTicks(firstSegmentLimit(p.m.cfg.SegmentDuration), c)
		p.setTD(p.td)
	}
}

// selectTracks keeps the tracks this variant can carry: the first video and
// the first audio track (one media playlist for now).
func (p *Publication) selectTracks(tracks []*remux.Track) []*trackState {
	var video, audio *trackState
	for _, tr := range tracks {
		if tr == nil {
			continue
		}
		skip := ""
		switch {
		case !carries(p.variant, tr.Codec):
			skip = "codec not carried by this variant"
		case checkTrack(tr) != nil:
			skip = checkTrack(tr).Error()
		case tr.Kind == remux.KindVideo && video != nil, tr.Kind == remux.KindAudio && audio != nil:
			skip = "only one video and one audio track are served"
		case tr.Kind != remux.KindVideo && tr.Kind != remux.KindAudio:
			skip = "unknown track kind"
		}
		if skip != "" {
			p.warnTrack(tr, skip)
			continue
		}
		t := &trackState{
			src:     tr,
			clock:   int64(tr.ClockRate),
			framing: sampleFraming(tr.Codec),
			defDur:  defaultSampleDuration(tr),
		}
		if tr.Kind == remux.KindVideo {
			video = t
		} else {
			audio = t
		}
	}
	// The timing track drives the cuts: video (segments start on its key
	// frames), else audio.
	var sel []*trackState
	for _, t := range []*trackState{video, audio} {
		if t != nil {
			t.id = uint32(len(sel) + 1)
			sel = append(sel, t)
		}
	}
	if len(sel) > 0 {
		sel[0].timing = true
	}
	return sel
}

func (p *Publication) warnTrack(tr *remux.Track, why string) {
	k := warnKey{tr.ID, tr.Generation}
	for _, w := range p.warned {
		if w == k {
			return
		}
	}
	p.warned = append(p.warned, k)
	p.log.Warn().Int("track", tr.ID).Str("codec", tr.Codec.String()).Str("variant", string(p.variant)).
		Str("reason", why).Msg("track left out of the HLS output")
}

func sameConfig(cur, next []*trackState) bool {
	if len(cur) != len(next) {
		return false
	}
	for i := range cur {
		if !sameTrack(cur[i], next[i]) {
			return false
		}
	}
	return true
}

func sameTrack(a, b *trackState) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.src.ID == b.src.ID && a.src.Generation == b.src.Generation && a.src.Codec == b.src.Codec
}

func findTrack(list []*trackState, tr *remux.Track) *trackState {
	for _, t := range list {
		if t.src == tr {
			return t
		}
	}
	if tr == nil {
		return nil
	}
	for _, t := range list {
		if t.src.ID == tr.ID && t.src.Generation == tr.Generation && t.src.Codec == tr.Codec {
			return t
		}
	}
	return nil
}

func (p *Publication) trackFor(tr *remux.Track) *trackState   { return findTrack(p.tracks, tr) }
func (p *Publication) pendingFor(tr *remux.Track) *trackState { return findTrack(p.pending, tr) }

// cutFor converts the publication DTS of pending track pt into a cut point
// on the current timing track's output clock.
func (p *Publication) cutFor(pt *trackState, dts int64) int64 {
	if p.timing == nil || !p.hasOffset {
		return noCut
	}
	return nsToTicksCeil(ticksToNs(dts, pt.clock)+p.offsetNs, p.timing.clock)
}

// applyPending ends the current epoch at cut and installs the pending
// configuration; the next epoch starts at its first timing key frame.
func (p *Publication) applyPending(cut int64) error {
	if p.started && p.segOpen {
		if err := p.closeSegment(cut, true); err != nil {
			return err
		}
	}
	p.setTracks(p.pending)
	p.pending = nil
	p.started = false
	return nil
}

// startEpoch begins a run of samples with the current configuration at the
// timing track's key frame at publication DTS dts.
func (p *Publication) startEpoch(t *trackState, dts int64) error {
	init, err := p.mux.begin(p.tracks, p.timing)
	if err != nil {
		return err
	}
	endNs, err := p.s.beginEpoch(p, init, p.mediaInfo())
	if err != nil {
		return err
	}
	inNs := ticksToNs(dts, t.clock)
	if !p.hasOffset {
		// Continue the stream's timeline after whatever came before (a
		// previous publication's last sample), so fMP4 decode times never
		// go backwards per track.
		p.offsetNs = endNs + epochGap - inNs
		// bis §6.2.1 / Apple HLS Authoring 8.4: PROGRAM-DATE-TIME maps media
		// to wall clock: the publication's reference is the arrival of its
		// first key frame.
		p.wall0 = p.m.cfg.Now().Add(-time.Duration(inNs))
		p.hasOffset = true
	}
	epochNs := inNs + p.offsetNs
	for _, tr := range p.tracks {
		tr.offset = nsToTicksCeil(p.offsetNs, tr.clock)
		tr.minDTS = nsToTicksCeil(epochNs, tr.clock) - 1
		tr.hasDTS = false
		tr.lastDur = 0
		tr.entries, tr.data = tr.entries[:0], tr.data[:0]
	}
	p.started = true
	p.segOpen = false
	return nil
}

// endNs is the output-timeline end of everything staged so far, in ns.
func (p *Publication) endNs() int64 {
	var end int64
	for _, t := range p.tracks {
		end = max(end, t.endNs())
	}
	return end
}

// mediaInfo describes the current configuration for the multivariant
// playlist and the stream listing.
func (p *Publication) mediaInfo() mediaInfo {
	var mi mediaInfo
	for _, t := range p.tracks {
		tr := t.src
		mi.codecs = append(mi.codecs, codecString(tr))
		ti := TrackInfo{Kind: tr.Kind.String(), Codec: tr.Codec.String()}
		if tr.Kind == remux.KindVideo {
			mi.hasVideo = true
			mi.width, mi.height = videoSize(tr)
			mi.frameRate = tr.FrameRate
			ti.Width, ti.Height, ti.FrameRate = mi.width, mi.height, tr.FrameRate
		} else {
			ti.SampleRate, ti.Channels = tr.SampleRate, tr.ChannelCount
		}
		mi.tracks = append(mi.tracks, ti)
	}
	return mi
}
