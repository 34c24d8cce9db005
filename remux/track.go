package remux

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/flac"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Kind says whether a track carries video or audio.
type Kind uint8

// Track kinds.
const (
	KindUnknown Kind = iota
	KindVideo
	KindAudio
)

func (k Kind) String() string {
	switch k {
	case KindVideo:
		return "video"
	case KindAudio:
		return "audio"
	}
	return "unknown"
}

// Codec identifies a track's codec.
type Codec uint8

// Codecs the track model can describe. Not every variant can carry every codec.
const (
	CodecUnknown Codec = iota
	CodecH264
	CodecH265
	CodecAV1
	CodecVP9
	CodecAAC
	CodecOpus
	CodecFLAC
	CodecMP3
	CodecAC3
	CodecEAC3
)

var codecNames = [...]string{
	CodecUnknown: "unknown",
	CodecH264:    "H264",
	CodecH265:    "H265",
	CodecAV1:     "AV1",
	CodecVP9:     "VP9",
	CodecAAC:     "AAC",
	CodecOpus:    "Opus",
	CodecFLAC:    "FLAC",
	CodecMP3:     "MP3",
	CodecAC3:     "AC-3",
	CodecEAC3:    "E-AC-3",
}

func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}

// Kind returns the kind of track the codec belongs to.
func (c Codec) Kind() Kind {
	switch c {
	case CodecH264, CodecH265, CodecAV1, CodecVP9:
		return KindVideo
	case CodecAAC, CodecOpus, CodecFLAC, CodecMP3, CodecAC3, CodecEAC3:
		return KindAudio
	}
	return KindUnknown
}

// VideoClockRate is the clock rate of every video track (ISO/IEC 13818-1 90 kHz system clock).
const VideoClockRate = 90000

// Track describes one elementary stream of a publication. A Track value is
// immutable once handed to a Sink: a configuration change produces a new
// *Track with the same ID and a higher Generation.
type Track struct {
	// ID is unique among the tracks of one publication and stable across
	// configuration changes (1, 2, ... in order of appearance).
	ID int
	// Kind is video or audio.
	Kind Kind
	// Codec is the track's codec.
	Codec Codec
	// ClockRate is the unit of Sample.DTS/PTS in Hz: 90000 for video, the
	// sampling rate for audio (the AAC core rate for explicit SBR).
	ClockRate int
	// Generation counts configuration changes of this track, starting at 0.
	Generation int
	// SourceID is the Enhanced RTMP track id the track came from (0 for legacy FLV).
	SourceID int

	// Width and Height are the coded picture size in pixels (video).
	Width, Height int
	// FrameRate is the nominal frame rate, 0 when unknown (video).
	FrameRate float64
	// VPS, SPS and PPS are the H.264/H.265 parameter sets (owned copies; VPS for H.265 only).
	VPS, SPS, PPS []byte
	// ExtraVPS, ExtraSPS and ExtraPPS hold any further parameter sets of
	// the configuration (rare: several PPS ids, or several SPS). Sinks that
	// write a decoder configuration record (avcC/hvcC) or put parameter sets
	// in-band include them after VPS, SPS and PPS. Nil when there are none.
	ExtraVPS, ExtraSPS, ExtraPPS [][]byte
	// AV1SequenceHeader is the AV1 sequence header OBU (AV1 only), an owned
	// copy without obu_size field (obu_has_size_field 0, no extension), the
	// form mediacommon's codecs.AV1 takes.
	AV1SequenceHeader []byte
	// VP9 is the VP9 configuration (VP9 only): the VPCodecConfigurationRecord
	// completed by the first key frame's header.
	VP9 *VP9Config
	// ColorInfo is the E-RTMP colorInfo (HDR) metadata in force when the
	// configuration was made, nil when none was sent (video). A hint like
	// FrameRate: not part of SameConfig.
	ColorInfo *ColorInfo

	// SampleRate is the audio sampling rate in Hz (audio).
	SampleRate int
	// ChannelCount is the number of audio channels (audio).
	ChannelCount int
	// AAC is the AudioSpecificConfig (AAC only).
	AAC *mpeg4audio.AudioSpecificConfig
	// Opus is the Opus identification header (Opus only).
	Opus *OpusConfig
	// FLAC is the STREAMINFO block (FLAC only).
	FLAC *flac.StreamInfo
	// AC3 is the AC-3 bit stream information (AC-3 only).
	AC3 *AC3Config
	// EAC3 is the E-AC-3 bit stream information (E-AC-3 only).
	EAC3 *EAC3Config
	// MPEGAudio is the MPEG-1/2 audio frame header information (MP3 only).
	MPEGAudio *MPEGAudioConfig
	// ChannelLayout is the E-RTMP MultichannelConfig of the track, nil when
	// the publisher sent none (audio).
	ChannelLayout *ChannelLayout
}

// IsVideo reports whether t is a video track.
func (t *Track) IsVideo() bool { return t.Kind == KindVideo }

// Sample is one access unit (video) or one audio frame of a track.
//
// Payload memory is borrowed: NALUs and Payload are valid only for the
// duration of the Sink.WriteSample call; a sink that keeps them must copy.
type Sample struct {
	// Track is the track the sample belongs to (the configuration in force).
	Track *Track
	// DTS and PTS are in Track.ClockRate units, rebased so that the
	// publication's first sample is near 0, unwrapped past 2^32 ms, and DTS is
	// strictly increasing per track.
	DTS, PTS int64
	// Key is true for a random access point (IDR/IRAP, AV1/VP9 key frame);
	// true for every audio frame.
	Key bool
	// NALUs holds the NAL units of an H.264/H.265 access unit without start
	// codes or length prefixes. For key frames the track's parameter sets
	// are NOT included; sinks that need them in-band add them.
	NALUs [][]byte
	// Payload holds the frame of every other codec: one raw AAC frame, an
	// AV1 temporal unit (OBUs in the low-overhead format, obu_has_size_field
	// set, leading temporal delimiters removed), a VP9 frame or superframe,
	// an Opus packet, FLAC frames, AC-3 / E-AC-3 syncframes, MP3 frames.
	Payload []byte
	// Base is the publisher's timestamp, in unwrapped RTMP milliseconds,
	// that DTS 0 stands for: the same for every sample of a publication.
	// A sink relating several publications' timelines (publishers sharing
	// one encoder clock) compares DTS plus Base.
	Base int64
}

// Sink receives a publication's tracks and samples from one goroutine.
type Sink interface {
	// SetTracks is called before the first sample and again whenever the set
	// of tracks or a track's configuration changes. Samples written after it
	// refer to the new tracks.
	SetTracks(tracks []*Track) error
	// WriteSample hands over one sample. An error is fatal for the publication.
	WriteSample(s *Sample) error
}
