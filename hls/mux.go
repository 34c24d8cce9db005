package hls

import (
	"github.com/livegate/gateway/remux"
)

// muxer turns one epoch's samples into container bytes in a segment buffer.
type muxer interface {
	// begin starts an epoch with tracks and returns its init section (nil for MPEG-TS).
	begin(tracks []*trackState, timing *trackState) ([]byte, error)
	// write stages or writes one sample (output timeline, track clock).
	write(t *trackState, dts, pts int64, key bool, s *remux.Sample) error
	// fragment closes the samples staged before cut (timing clock; noCut for
	// all) into the segment buffer. final ends the epoch: unknown durations
	// are estimated and nothing is held back.
	fragment(cut int64, final bool) (fragResult, error)
	// startSegment opens a new segment; keyStart says it begins with a key frame.
	startSegment(keyStart bool) error
	// takeSegment returns the finished segment's bytes and starts a fresh buffer.
	takeSegment() []byte
}

// fragResult describes a fragment appended by muxer.fragment.
type fragResult struct {
	ok          bool   // false when nothing was staged
	body        []byte // the fragment's bytes (a window into the segment buffer)
	independent bool   // starts with a key frame of the timing track
}

// nextBufCap sizes a new segment buffer from the last segment so that it
// rarely grows (a growth copies the segment and strands the old array under
// parts already served).
func nextBufCap(last int) int {
	if last == 0 {
		return 256 << 10
	}
	return last + last/4 + 4096
}
