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
// a codec means: a case in carries, checkTrack, the three builders below,
// sampleFraming and defaultSampleDuration (and patchInit when mediacommon
// writes a configuration box with fixed values or leaves a box out).

// carries reports whether variant v can carry codec c. A track the variant
// cannot carry is left out of the publication (logged once) and the rest is served.
func carries(v Variant, c remux.Codec) bool {
	switch c {
	case remux.CodecH264, remux.CodecAAC:
		return true
	case remux.CodecH265:
		// ITU-T H.222.0 stream type 0x24. Apple's players want HEVC in fMP4
		// (HLS Authoring Spec), but set-top boxes, ffmpeg/VLC and hls.js
		// 1.6+ play it in TS, so the mpegts variant carries it too.
		return true
	case remux.CodecOpus:
		// HLS clients do not accept Opus in TS.
		return v.isFMP4()
	case remux.CodecAV1, remux.CodecVP9, remux.CodecFLAC:
		// No MPEG-TS mapping HLS clients implement: fMP4 only.
		return v.isFMP4()
	case remux.CodecMP3:
		// MPEG-TS: ITU-T H.222.0 MPEG audio (see tsMuxer.writeMPEGAudio).
		// Chromium's MSE takes MP3 only as audio/mpeg, never in MP4, so
		// hls.js plays MP3 from TS (it demuxes it into an audio/mpeg
		// buffer) and not from fMP4; ffmpeg plays both. Both carry it.
		return true
	case remux.CodecAC3, remux.CodecEAC3:
		// mediacommon v2.9.5's MPEG-TS writer has them, but AC-3 / E-AC-3
		// in TS only plays in Safari: the fMP4 variants carry them, MPEG-TS
		// leaves them out.
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
		if c := t.Opus; c != nil {
			switch c.MappingFamily {
			case 0:
			case 1:
				// RFC 7845 §5.1.1.2: Vorbis channel order, 1 to 8 channels;
				// patchInit writes the mapping table into dOps.
				if c.ChannelCount < 1 || c.ChannelCount > 8 || len(c.ChannelMapping) != c.ChannelCount || c.StreamCount == 0 {
					return fmt.Errorf("opus track %d: invalid channel mapping for %d channels", t.ID, c.ChannelCount)
				}
			default:
				// Family 255 (and the Ambisonics families 2 and 3) leave the
				// speaker layout undefined: HLS clients cannot render them.
				return fmt.Errorf("opus track %d: channel mapping family %d not supported", t.ID, c.MappingFamily)
			}
		}
	case remux.CodecAV1:
		if len(t.AV1SequenceHeader) == 0 {
			return fmt.Errorf("AV1 track %d: missing sequence header", t.ID)
		}
	case remux.CodecVP9:
		if t.VP9 == nil {
			return fmt.Errorf("VP9 track %d: missing configuration", t.ID)
		}
		if t.Width <= 0 || t.Height <= 0 {
			return fmt.Errorf("VP9 track %d: missing picture size", t.ID)
		}
	case remux.CodecFLAC:
		if t.FLAC == nil {
			return fmt.Errorf("FLAC track %d: missing STREAMINFO", t.ID)
		}
	case remux.CodecAC3:
		if t.AC3 == nil || t.AC3.Fscod > 2 {
			return fmt.Errorf("AC-3 track %d: missing or invalid configuration", t.ID)
		}
	case remux.CodecEAC3:
		// ISO BMFF dec3 (ETSI TS 102 366 F.6) codes only the 48, 44.1 and
		// 32 kHz rates in fscod.
		if t.EAC3 == nil || (t.EAC3.SampleRate != 48000 && t.EAC3.SampleRate != 44100 && t.EAC3.SampleRate != 32000) {
			return fmt.Errorf("E-AC-3 track %d: missing configuration or unsupported sample rate", t.ID)
		}
	case remux.CodecMP3:
		if t.SampleRate <= 0 || t.ChannelCount <= 0 {
			return fmt.Errorf("MP3 track %d: missing sample rate or channel count", t.ID)
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
	case remux.CodecAV1:
		return &mp4codecs.AV1{SequenceHeader: t.AV1SequenceHeader}, nil
	case remux.CodecVP9:
		return &mp4codecs.VP9{
			Width:             t.Width,
			Height:            t.Height,
			Profile:           t.VP9.Profile,
			BitDepth:          t.VP9.BitDepth,
			ChromaSubsampling: t.VP9.ChromaSubsampling,
			ColorRange:        t.VP9.FullRange,
		}, nil
	case remux.CodecFLAC:
		return &mp4codecs.FLAC{StreamInfo: t.FLAC}, nil
	case remux.CodecAC3:
		c := t.AC3
		return &mp4codecs.AC3{
			SampleRate:   c.SampleRate(),
			ChannelCount: c.ChannelCount(),
			Bsid:         c.Bsid,
			Bsmod:        c.Bsmod,
			Acmod:        c.Acmod,
			LfeOn:        c.LfeOn,
			BitRateCode:  c.BitRateCode,
		}, nil
	case remux.CodecEAC3:
		c := t.EAC3
		return &mp4codecs.EAC3{
			SampleRate:   c.SampleRate,
			ChannelCount: t.ChannelCount,                   // dependent substreams' channels included
			DataRate:     uint16(min(c.DataRate, 1<<13-1)), // 13-bit field (TS 102 366 F.6.2.2)
			Acmod:        c.Acmod,
			LfeOn:        c.LfeOn,
			// TS 102 366 F.6.2.14-15: the dependent substreams of
			// independent substream 0 and the channel locations they add.
			NumDepSub: c.NumDepSub,
			ChanLoc:   c.ChanLoc,
		}, nil
	case remux.CodecMP3:
		return &mp4codecs.MPEG1Audio{SampleRate: t.SampleRate, ChannelCount: t.ChannelCount}, nil
	}
	return nil, fmt.Errorf("codec %v cannot be carried in fMP4", t.Codec)
}

// tsCodec builds the mediacommon MPEG-TS codec description of t.
func tsCodec(t *remux.Track) (tscodecs.Codec, error) {
	switch t.Codec {
	case remux.CodecH264:
		return &tscodecs.H264{}, nil
	case remux.CodecH265:
		return &tscodecs.H265{}, nil
	case remux.CodecAAC:
		return &tscodecs.MPEG4Audio{Config: *t.AAC}, nil
	case remux.CodecMP3:
		return &tscodecs.MPEG1Audio{}, nil
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
	case remux.CodecAV1:
		c = &hlscodecs.AV1{SequenceHeader: t.AV1SequenceHeader}
	case remux.CodecVP9:
		return vp9CodecString(t.VP9)
	// gohlslib has no AC-3, E-AC-3 or MPEG audio codecs, and writes "flac"
	// where the FLAC-in-ISOBMFF binding names the sample entry "fLaC".
	case remux.CodecFLAC:
		// FLAC in ISOBMFF §3.3 / Apple HLS Authoring Spec: the codecs
		// parameter is the sample entry type.
		return "fLaC"
	case remux.CodecAC3:
		// ETSI TS 102 366 Annex F / RFC 6381: the sample entry type.
		return "ac-3"
	case remux.CodecEAC3:
		return "ec-3"
	case remux.CodecMP3:
		// "mp4a.40.34" (MPEG-4 audio object type 34, Layer III) rather
		// than the RFC 6381 form of the esds object type, "mp4a.6B"
		// (0x6B, MPEG-1 audio) or "mp4a.69" (0x69, MPEG-2 audio), for the
		// TS and fMP4 variants alike: ffmpeg's HLS muxer and Wowza
		// (hls.js#849) write it, and hls.js 1.7 knows only it (its
		// utils/codecs.ts maps it to the audio/mpeg SourceBuffer it
		// demuxes MP3 into), while Chromium's MediaSource.isTypeSupported
		// refuses all three in audio/mp4, so with "mp4a.6B" hls.js drops
		// the variant (manifestIncompatibleCodecsError). Chromium cannot
		// play MP3 in fMP4 whatever the string: hls.js plays MP3 from the
		// MPEG-TS variant.
		return "mp4a.40.34"
	default:
		return ""
	}
	return codecparams.Marshal(c)
}

// vp9CodecString is the VP9 codecs parameter (VP Codec ISO Media File
// Format Binding §5, "vp09.PP.LL.DD.CC.cp.tc.mc.FF"), complete because the
// track knows every field; gohlslib's short form fixes the level at 1.
func vp9CodecString(c *remux.VP9Config) string {
	level := c.Level
	if level == 0 {
		level = 10 // unknown: level 1, as mediacommon's vpcC says
	}
	full := 0
	if c.FullRange {
		full = 1
	}
	return fmt.Sprintf("vp09.%02d.%02d.%02d.%02d.%02d.%02d.%02d.%02d",
		c.Profile, level, c.BitDepth, c.ChromaSubsampling,
		c.ColourPrimaries, c.TransferCharacteristics, c.MatrixCoefficients, full)
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
	case remux.CodecAC3:
		return 1536 // ATSC A/52 §5.1: 6 blocks of 256 samples per syncframe
	case remux.CodecEAC3:
		if t.EAC3 != nil && t.EAC3.Blocks > 0 {
			return int64(t.EAC3.Blocks) * 256 // TS 102 366 E.1.3.1.4
		}
		return 1536
	case remux.CodecFLAC:
		if t.FLAC != nil && t.FLAC.MaxBlockSize > 0 {
			return int64(t.FLAC.MaxBlockSize) // RFC 9639 §8.2: fixed-blocksize streams
		}
		return 4096
	case remux.CodecMP3:
		if c := t.MPEGAudio; c != nil {
			switch {
			case c.Layer == 1:
				return 384 // ISO/IEC 11172-3 §2.4.3.1
			case c.Layer == 3 && c.MPEG2:
				return 576 // ISO/IEC 13818-3 §2.4.2.3
			}
		}
		return 1152
	}
	if t.FrameRate > 0 {
		return int64(float64(t.ClockRate) / t.FrameRate)
	}
	return int64(t.ClockRate) / 30
}
