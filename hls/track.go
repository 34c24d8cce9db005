package hls

import (
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"

	"github.com/livegate/gateway/remux"
)

// trackState is a publication's per-track segmenter state for one epoch (a
// run of samples with one configuration). Only the publisher goroutine
// touches it, under Publication.mu.
type trackState struct {
	src     *remux.Track
	id      uint32 // fMP4 track ID (1-based position)
	clock   int64
	framing framing
	timing  bool  // the track whose samples drive segment and part cuts
	defDur  int64 // assumed duration of a sample whose successor never came

	// offset maps the publication's timestamps onto the stream's output
	// timeline (track clock): out = in + offset.
	offset int64
	// minDTS drops samples that would start before the epoch (late audio).
	minDTS int64

	lastDTS int64 // last staged output DTS
	maxPTS  int64 // highest staged output PTS (B-frames present after their DTS)
	lastDur int64 // last known sample duration
	hasDTS  bool

	// staged samples (fMP4: until the next fragment; TS: the audio batch)
	entries []sampleEntry
	data    []byte

	ts *mpegts.Track // MPEG-TS
}

func (t *trackState) estDur() int64 {
	if t.lastDur > 0 {
		return t.lastDur
	}
	return t.defDur
}

// stage copies one sample's payload into the track's staging buffer and
// completes the previous entry's duration.
func (t *trackState) stage(dts, pts int64, key bool, s *remux.Sample) {
	if n := len(t.entries); n > 0 && t.entries[n-1].dur < 0 {
		d := dts - t.entries[n-1].dts
		t.entries[n-1].dur = d
		t.lastDur = d
	}
	off := len(t.data)
	if t.framing == framingNALU {
		for _, nalu := range s.NALUs {
			n := len(nalu)
			// ISO/IEC 14496-15 §5.3.2: 4-byte NAL unit length (lengthSizeMinusOne = 3, as in mediacommon's avcC).
			t.data = append(t.data, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
			t.data = append(t.data, nalu...)
		}
	} else {
		t.data = append(t.data, s.Payload...)
	}
	t.entries = append(t.entries, sampleEntry{
		dts:  dts,
		dur:  -1,
		cto:  int32(pts - dts),
		off:  off,
		size: len(t.data) - off,
		key:  key,
	})
}

// noCut asks a fragment to take every staged sample.
const noCut = int64(-1 << 63)

// cutCount returns how many leading staged entries go into a fragment ending
// at cut (in cutClock units), filling in the durations it must decide:
// the timing track's last sample ends at the cut; another track's last
// sample, whose successor is unknown, waits for the next fragment unless
// final; final estimates it.
func (t *trackState) cutCount(cut, cutClock int64, final bool) int {
	n := 0
	for i := range t.entries {
		e := &t.entries[i]
		if cut != noCut && e.dts*cutClock >= cut*t.clock {
			break
		}
		if e.dur < 0 {
			switch {
			case t.timing && cut != noCut:
				e.dur = cut - e.dts
			case final:
				e.dur = t.estDur()
			default:
				return n
			}
			if e.dur <= 0 {
				e.dur = 1
			}
			t.lastDur = e.dur
		}
		n++
	}
	return n
}

// consume drops the first n staged entries, moving the rest to the front.
func (t *trackState) consume(n int) {
	if n == 0 {
		return
	}
	if n == len(t.entries) {
		t.entries = t.entries[:0]
		t.data = t.data[:0]
		return
	}
	shift := t.entries[n].off
	copy(t.data, t.data[shift:])
	t.data = t.data[:len(t.data)-shift]
	k := copy(t.entries, t.entries[n:])
	t.entries = t.entries[:k]
	for i := range t.entries {
		t.entries[i].off -= shift
	}
}

// endNs is the output-timeline end of the track's last staged sample, in ns.
func (t *trackState) endNs() int64 {
	if !t.hasDTS {
		return 0
	}
	// The end is past both the last decode time and the last presentation
	// time: with B-frames the last frames decoded are shown later, and a
	// following epoch must not present anything before them.
	return ticksToNs(max(t.lastDTS, t.maxPTS)+t.estDur(), t.clock)
}

func ticksToNs(ticks, clock int64) int64 {
	return ticks/clock*1e9 + ticks%clock*1e9/clock
}

// nsToTicksCeil converts ns to clock ticks, rounding up.
func nsToTicksCeil(ns, clock int64) int64 {
	q := ns / 1e9 * clock
	r := ns % 1e9 * clock
	if r > 0 {
		return q + (r+1e9-1)/1e9
	}
	return q + r/1e9 // r <= 0: truncation rounds toward zero, i.e. up
}
