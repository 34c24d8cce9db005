package remux

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/ac3"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
)

// maxFramesPerMessage bounds the syncframes walked in one audio message.
const maxFramesPerMessage = 64

// frameSamples returns the duration of an audio message's payload in units
// of the track's clock, or 0 when the payload does not say it exactly (the
// RTMP timestamps then give the time). Parsing is bounded by the payload
// and allocation-free on valid input.
func frameSamples(t *Track, payload []byte) int64 {
	switch t.Codec {
	case CodecAAC:
		// One raw_data_block per message (FLV spec E.4.2.2).
		return int64(t.AACFrameSamples())
	case CodecOpus:
		// RFC 6716 §3.1: the TOC byte gives the frame size and count; a
		// packet lasts at most 120 ms.
		d := opus.PacketDuration2(payload)
		if d <= 0 || d > opusMaxPacketSamp {
			return 0
		}
		return d
	case CodecAC3:
		return walkFrames(payload, func(b []byte) (int, int64, bool) {
			_, size, err := ParseAC3Frame(b)
			return size, ac3.SamplesPerFrame, err == nil
		})
	case CodecEAC3:
		return walkFrames(payload, func(b []byte) (int, int64, bool) {
			c, size, err := ParseEAC3Frame(b)
			if err != nil {
				return 0, 0, false
			}
			if c.Strmtyp == 1 {
				// A dependent substream extends the independent one
				// before it in channels, not in time.
				return size, 0, true
			}
			return size, int64(c.Blocks) * eac3BlockSamples, true
		})
	case CodecMP3:
		return walkFrames(payload, func(b []byte) (int, int64, bool) {
			c, size, samples, err := ParseMPEGAudioFrame(b)
			if err != nil || c.SampleRate != t.SampleRate {
				return 0, 0, false
			}
			return size, int64(samples), true
		})
	}
	// FLAC frame headers do not give the frame size, so several frames in
	// one message cannot be walked.
	return 0
}

// walkFrames sums the durations of the consecutive frames filling b, as
// told by next (size, samples, ok). Any inconsistency gives 0.
func walkFrames(b []byte, next func([]byte) (int, int64, bool)) int64 {
	var total int64
	for n := 0; len(b) > 0; n++ {
		if n == maxFramesPerMessage {
			return 0
		}
		size, samples, ok := next(b)
		if !ok || size <= 0 || size > len(b) {
			return 0
		}
		total += samples
		b = b[size:]
	}
	return total
}
