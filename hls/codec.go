package hls

import (
	"fmt"

	"github.com/bluenviron/gohlslib/v2/pkg/codecparams"
	hlscodecs "github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	mp4codecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/livegate/gateway/remux"
)

// The codec mapping is the one place that knows which codec each variant can
// carry and how a remux.Track becomes a container codec description. Adding
// a codec (AV1, VP9...) means: a case in carries, in the three builders
// below, and in sampleFraming.

// carries reports whether variant v can carry codec c. A track the variant
// cannot carry is left out of the publication (logged once) and the rest is served.
func carries(v Variant, c remux.Codec) bool {
	switch c {
	case remux.CodecH264, remux.CodecAAC:
		return true
	case remux.CodecH265, remux.CodecOpus:
		// MPEG-TS could carry both, but HLS clients do not accept them in TS
		// (Apple HLS Authoring Spec: HEVC MUST be in fMP4).
		return v.isFMP4()
	}
	return false
}

// framing says how a codec's access units are laid out in a Sample.
type framing uint8

const (
	framingPayload framing = iota // Sample.Payload, copied as is
	framingNALU                   // Sample.NALUs, length-prefixed (AVCC/HVCC) in fMP4, Annex B in TS
)

func sampleFraming(c remux.Codec) framing {
	switch c {
	case remux.CodecH264, remux.CodecH265:
		return framingNALU
	}
	return framingPayload
}

// checkTrack verifies that t carries what its codec needs in a container.
func checkTrack(t *remux.Track) error {
	switch t.Codec {
	case remux.CodecH264:
		if len(t.SPS) < 4 || len(t.PPS) == 0 {
			return fmt.Errorf("H264 track %d: missing SPS/PPS", t.ID)
		}
	case remux.CodecH265:
		if len(t.VPS) == 0 || len(t.SPS) < 4 || len(t.PPS) == 0 {
			return fmt.Errorf("H265 track %d: missing VPS/SPS/PPS", t.ID)
		}
	case remux.CodecAAC:
		if t.AAC == nil {
			return fmt.Errorf("AAC track %d: missing AudioSpecificConfig", t.ID)
		}
	case remux.CodecOpus:
		if t.ChannelCount <= 0 {
			return fmt.Errorf("opus track %d: missing channel count", t.ID)
		}
	}
	if t.ClockRate <= 0 {
		return fmt.Errorf("track %d: invalid clock rate %d", t.ID, t.ClockRate)
	}
	return nil
}

// fmp4Codec builds the mediacommon fMP4 codec description of t.
func fmp4Codec(t *remux.Track) (mp4codecs.Codec, error) {
	switch t.Codec {
	case remux.CodecH264:
		return &mp4codecs.H264{SPS: t.SPS, PPS: t.PPS}, nil
	case remux.CodecH265:
		return &mp4codecs.H265{VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}, nil
	case remux.CodecAAC:
		return &mp4codecs.MPEG4Audio{Config: *t.AAC}, nil
	case remux.CodecOpus:
		return &mp4codecs.Opus{ChannelCount: t.ChannelCount}, nil
	}
	return nil, fmt.Errorf("codec %v cannot be carried in fMP4", t.Codec)
}

// tsCodec builds the mediacommon MPEG-TS codec description of t.
func tsCodec(t *remux.Track) (tscodecs.Codec, error) {
	switch t.Codec {
	case remux.CodecH264:
		return &tscodecs.H264{}, nil
	case remux.CodecAAC:
		return &tscodecs.MPEG4Audio{Config: *t.AAC}, nil
	}
	return nil, fmt.Errorf("codec %v cannot be carried in MPEG-TS", t.Codec)
}

// codecString is the RFC 6381 CODECS entry of t (RFC 8216 §4.3.4.2), built
// from the real SPS / AudioSpecificConfig.
func codecString(t *remux.Track) string {
	var c hlscodecs.Codec
	switch t.Codec {
	case remux.CodecH264:
		c = &hlscodecs.H264{SPS: t.SPS, PPS: t.PPS}
	case remux.CodecH265:
		c = &hlscodecs.H265{VPS: t.VPS, SPS: t.SPS, PPS: t.PPS}
	case remux.CodecAAC:
		c = &hlscodecs.MPEG4Audio{Config: *t.AAC}
	case remux.CodecOpus:
		c = &hlscodecs.Opus{ChannelCount: t.ChannelCount}
	default:
		return ""
	}
	return codecparams.Marshal(c)
}

// videoSize returns the picture size of a video track, from the track or,
// when the track does not say, from its SPS.
func videoSize(t *remux.Track) (w, h int) {
	if t.Width > 0 && t.Height > 0 {
		return t.Width, t.Height
	}
	switch t.Codec {
	case remux.CodecH264:
		var sps h264.SPS
		if sps.Unmarshal(t.SPS) == nil {
			return sps.Width(), sps.Height()
		}
	case remux.CodecH265:
		var sps h265.SPS
		if sps.Unmarshal(t.SPS) == nil {
			return sps.Width(), sps.Height()
		}
	}
	return 0, 0
}

// defaultSampleDuration is the duration (track clock) assumed for a sample
// whose successor never came (end of a publication).
func defaultSampleDuration(t *remux.Track) int64 {
	switch t.Codec {
	case remux.CodecAAC:
		// ISO 14496-3: an AAC access unit is 1024 samples (960 unsupported here).
		return 1024
	case remux.CodecOpus:
		return int64(t.ClockRate) / 50 // 20 ms, the common Opus frame
	}
	if t.FrameRate > 0 {
		return int64(float64(t.ClockRate) / t.FrameRate)
	}
	return int64(t.ClockRate) / 30
}
