package remux

import (
	"bytes"
	"fmt"
	"math"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// maxFrameRate bounds the frame rate accepted from VUI timing info; larger
// values come from broken or hostile SPS and are reported as unknown (0).
const maxFrameRate = 1000

// Bounds of the AAC sampling rate accepted (ISO/IEC 14496-3 Table 1.18
// lists 7350 to 96000 Hz).
const (
	minAACSampleRate = 1000
	maxAACSampleRate = 192000
)

// NewH264Track builds an H.264 video track from its parameter sets (NAL
// units without start codes, as in an AVCDecoderConfigurationRecord or
// in-band). The first SPS is parsed for the picture size and the VUI frame
// rate; every byte is copied, so the arguments may be borrowed.
//
// The first SPS/PPS become Track.SPS/PPS, any others Track.ExtraSPS/ExtraPPS.
func NewH264Track(sps, pps [][]byte) (*Track, error) {
	if len(sps) == 0 || len(pps) == 0 {
		return nil, fmt.Errorf("%w: H.264 needs at least one SPS and one PPS (got %d, %d)",
			ErrMissingParameterSets, len(sps), len(pps))
	}
	var s h264.SPS
	if err := s.Unmarshal(sps[0]); err != nil {
		return nil, fmt.Errorf("%w: H.264: %w", ErrInvalidSPS, err)
	}
	w, h := s.Width(), s.Height()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: H.264 picture size %dx%d", ErrInvalidSPS, w, h)
	}
	if err := nonEmpty(pps, "PPS"); err != nil {
		return nil, err
	}
	t := &Track{
		Kind:      KindVideo,
		Codec:     CodecH264,
		ClockRate: VideoClockRate,
		Width:     w,
		Height:    h,
		FrameRate: saneFPS(s.FPS()),
	}
	sets := copySets(sps, pps)
	t.SPS, t.ExtraSPS = sets[0][0], extras(sets[0])
	t.PPS, t.ExtraPPS = sets[1][0], extras(sets[1])
	return t, nil
}

// NewH265Track builds an H.265 video track from its parameter sets, like
// NewH264Track. VPS, SPS and PPS are all mandatory (ISO/IEC 14496-15 §8.3.2).
func NewH265Track(vps, sps, pps [][]byte) (*Track, error) {
	if len(vps) == 0 || len(sps) == 0 || len(pps) == 0 {
		return nil, fmt.Errorf("%w: H.265 needs a VPS, an SPS and a PPS (got %d, %d, %d)",
			ErrMissingParameterSets, len(vps), len(sps), len(pps))
	}
	var s h265.SPS
	if err := s.Unmarshal(sps[0]); err != nil {
		return nil, fmt.Errorf("%w: H.265: %w", ErrInvalidSPS, err)
	}
	w, h := s.Width(), s.Height()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: H.265 picture size %dx%d", ErrInvalidSPS, w, h)
	}
	if err := nonEmpty(vps, "VPS"); err != nil {
		return nil, err
	}
	if err := nonEmpty(pps, "PPS"); err != nil {
		return nil, err
	}
	t := &Track{
		Kind:      KindVideo,
		Codec:     CodecH265,
		ClockRate: VideoClockRate,
		Width:     w,
		Height:    h,
		FrameRate: saneFPS(s.FPS()),
	}
	sets := copySets(vps, sps, pps)
	t.VPS, t.ExtraVPS = sets[0][0], extras(sets[0])
	t.SPS, t.ExtraSPS = sets[1][0], extras(sets[1])
	t.PPS, t.ExtraPPS = sets[2][0], extras(sets[2])
	return t, nil
}

// NewAACTrack builds an AAC audio track from an AudioSpecificConfig
// (ISO/IEC 14496-3 §1.6.2.1), e.g. the payload of an FLV AACPacketType 0.
// The clock rate is the core sampling rate (for explicit SBR the rate of the
// AAC-LC core: one frame is 1024 or 960 samples at that rate).
func NewAACTrack(asc []byte) (*Track, error) {
	var c mpeg4audio.AudioSpecificConfig
	if err := c.Unmarshal(asc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidAudioConfig, err)
	}
	// The escape code allows any 24-bit rate; anything outside what real
	// encoders produce would only break the segmenter's arithmetic.
	if c.SampleRate < minAACSampleRate || c.SampleRate > maxAACSampleRate {
		return nil, fmt.Errorf("%w: sampling rate %d Hz", ErrInvalidAudioConfig, c.SampleRate)
	}
	var channels int
	switch {
	case c.ChannelConfig >= 1 && c.ChannelConfig <= 6:
		channels = int(c.ChannelConfig)
	case c.ChannelConfig == 7:
		// ISO/IEC 14496-3 Table 1.19: channelConfiguration 7 is 7.1 (8 channels).
		channels = 8
	}
	return &Track{
		Kind:         KindAudio,
		Codec:        CodecAAC,
		ClockRate:    c.SampleRate,
		SampleRate:   c.SampleRate,
		ChannelCount: channels,
		AAC:          &c,
	}, nil
}

// AACFrameSamples is the number of PCM samples per AAC frame of t: 960 when
// the GASpecificConfig frameLengthFlag is set, 1024 otherwise
// (ISO/IEC 14496-3 §4.5.1.1).
func (t *Track) AACFrameSamples() int {
	if t.AAC != nil && t.AAC.FrameLengthFlag {
		return 960
	}
	return mpeg4audio.SamplesPerAccessUnit
}

// SameConfig reports whether t and o describe the same codec configuration,
// ignoring the identity fields (ID, Generation, SourceID) and the hints
// FrameRate (which may come from metadata rather than the bitstream) and
// ColorInfo. A sequence header resent unchanged is not a configuration
// change.
func (t *Track) SameConfig(o *Track) bool {
	if t == nil || o == nil {
		return t == o
	}
	if t.Kind != o.Kind || t.Codec != o.Codec || t.ClockRate != o.ClockRate ||
		t.Width != o.Width || t.Height != o.Height ||
		t.SampleRate != o.SampleRate || t.ChannelCount != o.ChannelCount {
		return false
	}
	if !bytes.Equal(t.VPS, o.VPS) || !bytes.Equal(t.SPS, o.SPS) || !bytes.Equal(t.PPS, o.PPS) ||
		!bytes.Equal(t.AV1SequenceHeader, o.AV1SequenceHeader) ||
		!equalSets(t.ExtraVPS, o.ExtraVPS) || !equalSets(t.ExtraSPS, o.ExtraSPS) || !equalSets(t.ExtraPPS, o.ExtraPPS) {
		return false
	}
	if !samePtr(t.AAC, o.AAC) || !samePtr(t.VP9, o.VP9) || !samePtr(t.FLAC, o.FLAC) ||
		!samePtr(t.AC3, o.AC3) || !samePtr(t.MPEGAudio, o.MPEGAudio) || !t.ChannelLayout.Equal(o.ChannelLayout) {
		return false
	}
	if (t.EAC3 == nil) != (o.EAC3 == nil) || (t.EAC3 != nil && !t.EAC3.SameStream(*o.EAC3)) {
		return false
	}
	if (t.Opus == nil) != (o.Opus == nil) {
		return false
	}
	return t.Opus == nil || t.Opus.equal(o.Opus)
}

// samePtr reports whether two optional configurations are both absent or
// both present and equal.
func samePtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// HasParameterSet reports whether nalu is one of t's parameter sets
// (VPS, SPS or PPS, first or extra). Used to recognise in-band copies
// of the current configuration without allocating.
func (t *Track) HasParameterSet(nalu []byte) bool {
	if bytes.Equal(nalu, t.VPS) || bytes.Equal(nalu, t.SPS) || bytes.Equal(nalu, t.PPS) {
		return true
	}
	for _, set := range [...][][]byte{t.ExtraVPS, t.ExtraSPS, t.ExtraPPS} {
		for _, p := range set {
			if bytes.Equal(nalu, p) {
				return true
			}
		}
	}
	return false
}

func equalSets(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func nonEmpty(sets [][]byte, name string) error {
	for _, s := range sets {
		if len(s) == 0 {
			return fmt.Errorf("%w: empty %s", ErrMissingParameterSets, name)
		}
	}
	return nil
}

// copySets copies every parameter set into one backing array (one
// allocation for the bytes) and returns the copies grouped like the input.
func copySets(groups ...[][]byte) [][][]byte {
	n := 0
	for _, g := range groups {
		for _, s := range g {
			n += len(s)
		}
	}
	buf := make([]byte, 0, n)
	out := make([][][]byte, len(groups))
	for i, g := range groups {
		c := make([][]byte, len(g))
		for j, s := range g {
			start := len(buf)
			buf = append(buf, s...)
			c[j] = buf[start:len(buf):len(buf)]
		}
		out[i] = c
	}
	return out
}

// extras returns the parameter sets after the first, nil when there are none.
func extras(sets [][]byte) [][]byte {
	if len(sets) < 2 {
		return nil
	}
	return sets[1:]
}

func saneFPS(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > maxFrameRate {
		return 0
	}
	return f
}
