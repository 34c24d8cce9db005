package hlstest

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Rules says what to expect of a playlist.
type Rules struct {
	// FMP4: every segment needs an EXT-X-MAP; EXT-X-VERSION >= 6.
	FMP4 bool
	// LowLatency: LL-HLS server control, part info and parts.
	LowLatency bool
	// MaxSegments, when non-zero, bounds the window (skipped segments count).
	MaxSegments int
	// PartOverrun tolerates parts longer than PART-TARGET by up to this much
	// (tests of degraded input, such as a stalled video track).
	PartOverrun time.Duration
	// AllowRestart accepts an EXT-X-ENDLIST that goes away (the stream was
	// published again while retained).
	AllowRestart bool
}

// tolerance absorbs the five-decimal rounding of printed durations and the
// millisecond rounding of PROGRAM-DATE-TIME.
const tolerance = time.Millisecond

// CheckMediaPlaylist checks cur on its own and, when prev (an earlier
// snapshot of the same playlist) is not nil, the change from prev to cur.
// It returns every violation found, joined.
func CheckMediaPlaylist(prev, cur *MediaPlaylist, r Rules) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	td := time.Duration(cur.TargetDuration) * time.Second
	if cur.TargetDuration < 1 {
		fail("EXT-X-TARGETDURATION %d: must be a positive integer", cur.TargetDuration)
	}
	switch {
	case r.LowLatency && cur.Version < 9 && cur.Skipped > 0:
		fail("EXT-X-VERSION %d with EXT-X-SKIP: need 9", cur.Version)
	case r.FMP4 && cur.Version < 6:
		fail("EXT-X-VERSION %d with EXT-X-MAP: need 6 (RFC 8216 §7)", cur.Version)
	case cur.Version < 3:
		fail("EXT-X-VERSION %d with decimal EXTINF: need 3 (RFC 8216 §7)", cur.Version)
	}
	if len(cur.Segments) == 0 && len(cur.Parts) == 0 {
		fail("playlist has no segment and no part")
	}
	if r.MaxSegments > 0 && len(cur.Segments)+cur.Skipped > r.MaxSegments {
		fail("window of %d segments, more than %d", len(cur.Segments)+cur.Skipped, r.MaxSegments)
	}
	for i, s := range cur.Segments {
		// RFC 8216 §4.3.3.1.
		if rounded := int(math.Round(s.Duration.Seconds())); rounded > cur.TargetDuration {
			fail("segment %d: EXTINF %v rounds to %d > TARGETDURATION %d", s.MSN, s.Duration, rounded, cur.TargetDuration)
		}
		if s.Duration <= 0 {
			fail("segment %d: EXTINF %v", s.MSN, s.Duration)
		}
		if s.PDT.IsZero() {
			fail("segment %d: no EXT-X-PROGRAM-DATE-TIME", s.MSN)
		}
		if r.FMP4 && s.Map == "" {
			fail("segment %d: no EXT-X-MAP in force", s.MSN)
		}
		if i > 0 {
			p := cur.Segments[i-1]
			if !p.PDT.IsZero() && !s.PDT.IsZero() && s.PDT.Add(tolerance).Before(p.PDT.Add(p.Duration)) {
				fail("segment %d: PROGRAM-DATE-TIME %v overlaps segment %d ending %v (bis §6.2.1)",
					s.MSN, s.PDT, p.MSN, p.PDT.Add(p.Duration))
			}
			if s.Map != p.Map && !s.Discontinuity {
				fail("segment %d: EXT-X-MAP changes without EXT-X-DISCONTINUITY", s.MSN)
			}
		}
		if len(s.Parts) > 0 {
			checkParts(cur, s.Parts, r, fmt.Sprintf("segment %d", s.MSN), fail)
			var sum time.Duration
			for _, p := range s.Parts {
				sum += p.Duration
			}
			if d := sum - s.Duration; d > tolerance || d < -tolerance {
				fail("segment %d: parts last %v, EXTINF says %v", s.MSN, sum, s.Duration)
			}
		}
	}
	checkParts(cur, cur.Parts, r, "segment in progress", fail)
	if r.LowLatency {
		if !cur.CanBlockReload {
			fail("LL-HLS without CAN-BLOCK-RELOAD=YES")
		}
		if cur.PartTarget <= 0 {
			fail("LL-HLS without EXT-X-PART-INF PART-TARGET")
		}
		// bis §4.4.3.8 (SHOULD) and Apple HLS Authoring 14.3 (MUST).
		if cur.PartHoldBack+tolerance < 3*cur.PartTarget {
			fail("PART-HOLD-BACK %v < 3 × PART-TARGET %v", cur.PartHoldBack, cur.PartTarget)
		}
		if cur.CanSkipUntil != 0 && cur.CanSkipUntil+tolerance < 6*td {
			fail("CAN-SKIP-UNTIL %v < 6 × TARGETDURATION", cur.CanSkipUntil)
		}
		if !cur.Endlist && cur.PreloadHint == "" {
			fail("live LL-HLS playlist without EXT-X-PRELOAD-HINT")
		}
	}
	if cur.Endlist && cur.PreloadHint != "" {
		fail("EXT-X-PRELOAD-HINT after EXT-X-ENDLIST")
	}

	if prev != nil {
		errs = append(errs, checkChange(prev, cur, r)...)
	}
	return errors.Join(errs...)
}

func checkParts(pl *MediaPlaylist, parts []Part, r Rules, where string, fail func(string, ...any)) {
	for i, p := range parts {
		// bis §4.4.4.9: a part MUST NOT be longer than PART-TARGET.
		if pl.PartTarget > 0 && p.Duration > pl.PartTarget+tolerance/100+r.PartOverrun {
			fail("%s part %d: DURATION %v > PART-TARGET %v", where, i, p.Duration, pl.PartTarget)
		}
		if p.Duration <= 0 {
			fail("%s part %d: DURATION %v", where, i, p.Duration)
		}
	}
}

func checkChange(prev, cur *MediaPlaylist, r Rules) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	// bis §6.2.1: the target duration MUST NOT change.
	if prev.TargetDuration != cur.TargetDuration {
		fail("TARGETDURATION changed from %d to %d", prev.TargetDuration, cur.TargetDuration)
	}
	// bis §6.2.2: media and discontinuity sequence numbers never decrease.
	if cur.MediaSequence < prev.MediaSequence {
		fail("MEDIA-SEQUENCE went back from %d to %d", prev.MediaSequence, cur.MediaSequence)
	}
	if cur.DiscontinuitySequence < prev.DiscontinuitySequence {
		fail("DISCONTINUITY-SEQUENCE went back from %d to %d", prev.DiscontinuitySequence, cur.DiscontinuitySequence)
	}
	if prev.Endlist && !cur.Endlist && !r.AllowRestart {
		fail("EXT-X-ENDLIST went away")
	}
	if prev.Endlist && cur.Endlist {
		if len(cur.Segments) != len(prev.Segments) || cur.MediaSequence != prev.MediaSequence {
			fail("ended playlist changed")
		}
	}
	// Segments present in both are the same segments.
	byMSN := map[int64]Segment{}
	for _, s := range cur.Segments {
		byMSN[s.MSN] = s
	}
	removedDisc := int64(0)
	for _, p := range prev.Segments {
		if p.MSN < cur.MediaSequence {
			if p.Discontinuity {
				removedDisc++
			}
			continue
		}
		c, ok := byMSN[p.MSN]
		if !ok {
			if p.MSN >= cur.MediaSequence+int64(cur.Skipped) {
				fail("segment %d disappeared", p.MSN)
			}
			continue
		}
		if c.URI != p.URI || c.Duration != p.Duration || c.Discontinuity != p.Discontinuity || !c.PDT.Equal(p.PDT) || c.Map != p.Map {
			fail("segment %d changed: %+v -> %+v", p.MSN, p, c)
		}
	}
	// RFC 8216 §6.2.2: DISCONTINUITY-SEQUENCE counts the discontinuities
	// that left the playlist. Only checkable when prev was a full playlist
	// that held every removed segment.
	if prev.Skipped == 0 && len(prev.Segments) > 0 && prev.Segments[0].MSN <= cur.MediaSequence {
		if got := cur.DiscontinuitySequence - prev.DiscontinuitySequence; got != removedDisc {
			fail("DISCONTINUITY-SEQUENCE advanced by %d, %d discontinuities left the playlist", got, removedDisc)
		}
	}
	return errs
}
