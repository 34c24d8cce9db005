package remux

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/ac3"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/eac3"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/flac"
)

// OpusClockRate is the clock rate of every Opus track: RFC 7845 §4 "the
// granule position ... in units of 48 kHz samples", whatever the input rate.
const OpusClockRate = 48000

// OpusConfig is an Opus identification header ("OpusHead", RFC 7845 §5.1).
type OpusConfig struct {
	// Version is the encapsulation version (1; 1-15 are compatible).
	Version uint8
	// ChannelCount is the output channel count, 1-255.
	ChannelCount int
	// PreSkip is the number of 48 kHz samples to discard from the decoder
	// output at the start of playback.
	PreSkip int
	// InputSampleRate is the sampling rate of the original input in Hz
	// (informational only; 0 when unspecified).
	InputSampleRate int
	// OutputGain is the gain to apply to the decoder output, in Q7.8 dB.
	OutputGain int16
	// MappingFamily is the channel mapping family (0: mono/stereo RTP
	// order; 1: Vorbis order; 255: no defined order).
	MappingFamily uint8
	// StreamCount and CoupledCount are the streams per Opus packet and how
	// many of them are stereo (mapping families other than 0).
	StreamCount, CoupledCount int
	// ChannelMapping maps each output channel to a decoded channel
	// (mapping families other than 0); an owned copy.
	ChannelMapping []byte
}

// opusHead constants (RFC 7845 §5.1, Figure 2).
const (
	opusHeadMagic     = "OpusHead"
	opusHeadSize      = 19 // through "Channel Mapping Family"
	opusMappingFixed  = 2  // stream count, coupled count
	opusMaxPacketSamp = 5760
)

// ParseOpusHead parses an Opus identification header (RFC 7845 §5.1), the
// body of an E-RTMP Opus SequenceStart. Unlike mediacommon v2.9.5's
// opus.IDHeader, which reads them big-endian, multi-byte fields are
// little-endian as RFC 7845 §5.1 says: "All multi-byte fields in the
// header are in little-endian byte order". Bytes after the channel mapping
// table are ignored.
func ParseOpusHead(b []byte) (OpusConfig, error) {
	var c OpusConfig
	if len(b) < opusHeadSize {
		return c, fmt.Errorf("%w: OpusHead of %d bytes", ErrInvalidCodecHeader, len(b))
	}
	if !bytes.Equal(b[:len(opusHeadMagic)], []byte(opusHeadMagic)) {
		return c, fmt.Errorf("%w: no OpusHead magic signature", ErrInvalidCodecHeader)
	}
	// RFC 7845 §5.1: "Implementations SHOULD treat streams where the upper
	// four bits of the version number match that of a recognized
	// specification as backwards compatible."
	c.Version = b[8]
	if c.Version == 0 || c.Version>>4 != 0 {
		return c, fmt.Errorf("%w: OpusHead version %d", ErrInvalidCodecHeader, c.Version)
	}
	c.ChannelCount = int(b[9])
	// RFC 7845 §5.1: "This value MUST NOT be zero."
	if c.ChannelCount == 0 {
		return c, fmt.Errorf("%w: OpusHead with 0 channels", ErrInvalidCodecHeader)
	}
	c.PreSkip = int(binary.LittleEndian.Uint16(b[10:]))
	c.InputSampleRate = int(binary.LittleEndian.Uint32(b[12:]))
	c.OutputGain = int16(binary.LittleEndian.Uint16(b[16:]))
	c.MappingFamily = b[18]
	if c.MappingFamily == 0 {
		// RFC 7845 §5.1.1.1: family 0 allows only one stream of 1 or 2
		// channels, and the table is omitted.
		if c.ChannelCount > 2 {
			return c, fmt.Errorf("%w: mapping family 0 with %d channels", ErrInvalidCodecHeader, c.ChannelCount)
		}
		c.StreamCount, c.CoupledCount = 1, c.ChannelCount-1
		return c, nil
	}
	// RFC 7845 §5.1.1.2: family 1 is for 1 to 8 channels.
	if c.MappingFamily == 1 && c.ChannelCount > 8 {
		return c, fmt.Errorf("%w: mapping family 1 with %d channels", ErrInvalidCodecHeader, c.ChannelCount)
	}
	table := b[opusHeadSize:]
	if len(table) < opusMappingFixed+c.ChannelCount {
		return c, fmt.Errorf("%w: channel mapping table of %d bytes for %d channels", ErrInvalidCodecHeader, len(table), c.ChannelCount)
	}
	c.StreamCount, c.CoupledCount = int(table[0]), int(table[1])
	// RFC 7845 §5.1.1: "Stream Count ... MUST NOT be zero"; "Coupled Stream
	// Count ... MUST NOT be larger than the total number of streams"; and
	// the decoded channels (N + M) cannot exceed 255.
	if c.StreamCount == 0 || c.CoupledCount > c.StreamCount || c.StreamCount+c.CoupledCount > 255 {
		return c, fmt.Errorf("%w: %d streams, %d coupled", ErrInvalidCodecHeader, c.StreamCount, c.CoupledCount)
	}
	mapping := table[opusMappingFixed : opusMappingFixed+c.ChannelCount]
	decoded := c.StreamCount + c.CoupledCount
	for i, m := range mapping {
		// RFC 7845 §5.1.1: "... index MUST be less than N+M ... or the
		// special value 255, which means the output channel is silent".
		if m != 255 && int(m) >= decoded {
			return c, fmt.Errorf("%w: channel %d maps to %d of %d decoded channels", ErrInvalidCodecHeader, i, m, decoded)
		}
	}
	c.ChannelMapping = bytes.Clone(mapping)
	return c, nil
}

func (c *OpusConfig) equal(o *OpusConfig) bool {
	return c.Version == o.Version && c.ChannelCount == o.ChannelCount && c.PreSkip == o.PreSkip &&
		c.InputSampleRate == o.InputSampleRate && c.OutputGain == o.OutputGain &&
		c.MappingFamily == o.MappingFamily && c.StreamCount == o.StreamCount &&
		c.CoupledCount == o.CoupledCount && bytes.Equal(c.ChannelMapping, o.ChannelMapping)
}

// NewOpusTrack builds an Opus audio track (clock rate 48 kHz, RFC 7845 §4)
// from its identification header.
func NewOpusTrack(c OpusConfig) (*Track, error) {
	if c.ChannelCount <= 0 || c.ChannelCount > 255 {
		return nil, fmt.Errorf("%w: Opus with %d channels", ErrInvalidCodecHeader, c.ChannelCount)
	}
	c.ChannelMapping = bytes.Clone(c.ChannelMapping)
	return &Track{
		Kind:         KindAudio,
		Codec:        CodecOpus,
		ClockRate:    OpusClockRate,
		SampleRate:   OpusClockRate,
		ChannelCount: c.ChannelCount,
		Opus:         &c,
	}, nil
}

// FLAC metadata framing (RFC 9639 §8: "fLaC" marker, then blocks of a
// 4-byte header and a body; §8.2 STREAMINFO has type 0 and 34 bytes).
const (
	flacMarker          = "fLaC"
	flacBlockHeader     = 4
	flacStreamInfoSize  = 34
	flacMinBlockSamples = 16
	flacMaxSampleRate   = 1<<20 - 1
)

// NewFLACTrack builds a FLAC audio track from its STREAMINFO metadata block
// (RFC 9639 §8.2), the body of an E-RTMP fLaC SequenceStart: the bare
// 34-byte block, or the block behind its 4-byte metadata block header,
// or the whole "fLaC" stream header. The clock rate is the sample rate.
func NewFLACTrack(b []byte) (*Track, error) {
	b = bytes.TrimPrefix(b, []byte(flacMarker))
	if len(b) >= flacBlockHeader+flacStreamInfoSize && b[0]&0x7f == 0 &&
		int(b[1])<<16|int(b[2])<<8|int(b[3]) == flacStreamInfoSize {
		b = b[flacBlockHeader:] // metadata block header of a STREAMINFO block
	}
	if len(b) < flacStreamInfoSize {
		return nil, fmt.Errorf("%w: STREAMINFO of %d bytes", ErrInvalidCodecHeader, len(b))
	}
	var si flac.StreamInfo
	if err := si.Unmarshal(b[:flacStreamInfoSize]); err != nil {
		return nil, fmt.Errorf("%w: STREAMINFO: %w", ErrInvalidCodecHeader, err)
	}
	// RFC 9639 §8.2: the minimum block size "MUST be at least 16" and not
	// above the maximum; "a sample rate of 0 MUST NOT be used when the
	// FLAC file contains audio" (the field is 20 bits).
	if si.MinBlockSize < flacMinBlockSamples || si.MaxBlockSize < si.MinBlockSize ||
		si.SampleRate == 0 || si.SampleRate > flacMaxSampleRate || si.BitDepth < 4 {
		return nil, fmt.Errorf("%w: STREAMINFO block sizes %d-%d, %d Hz, %d bits",
			ErrInvalidCodecHeader, si.MinBlockSize, si.MaxBlockSize, si.SampleRate, si.BitDepth)
	}
	return &Track{
		Kind:         KindAudio,
		Codec:        CodecFLAC,
		ClockRate:    int(si.SampleRate),
		SampleRate:   int(si.SampleRate),
		ChannelCount: int(si.ChannelCount),
		FLAC:         &si,
	}, nil
}

// AC3Config is what an AC-3 syncframe says about its stream (ATSC A/52
// §5.3.1 syncinfo and §5.3.2 bsi), the content of an ISO BMFF "dac3" box.
type AC3Config struct {
	// Fscod is the sample rate code: 0 48 kHz, 1 44.1 kHz, 2 32 kHz.
	Fscod uint8
	// BitRateCode is frmsizecod >> 1 (A/52 Table 5.18: the nominal bit
	// rate; the low bit only pads 44.1 kHz frames).
	BitRateCode uint8
	// Bsid, Bsmod and Acmod are the bit stream identification, mode and
	// audio coding mode (channel layout).
	Bsid, Bsmod, Acmod uint8
	// LfeOn says the low frequency effects channel is present.
	LfeOn bool
}

// ac3MinHeader covers syncinfo (5 bytes) and the bsi fields read (3 bytes).
const ac3MinHeader = 8

// ParseAC3Frame reads the configuration of the AC-3 syncframe at the start
// of frame and returns it with the syncframe's size in bytes.
func ParseAC3Frame(frame []byte) (AC3Config, int, error) {
	var c AC3Config
	if len(frame) < ac3MinHeader {
		return c, 0, fmt.Errorf("%w: AC-3 frame of %d bytes", ErrInvalidCodecHeader, len(frame))
	}
	var si ac3.SyncInfo
	if err := si.Unmarshal(frame); err != nil {
		return c, 0, fmt.Errorf("%w: AC-3 syncinfo: %w", ErrInvalidCodecHeader, err)
	}
	var bsi ac3.BSI
	if err := bsi.Unmarshal(frame[5:]); err != nil {
		return c, 0, fmt.Errorf("%w: AC-3 bsi: %w", ErrInvalidCodecHeader, err)
	}
	c = AC3Config{Fscod: si.Fscod, BitRateCode: si.Frmsizecod >> 1, Bsid: bsi.Bsid, Bsmod: bsi.Bsmod, Acmod: bsi.Acmod, LfeOn: bsi.LfeOn}
	return c, si.FrameSize(), nil
}

// SampleRate returns the sampling rate in Hz (A/52 Table 5.6).
func (c AC3Config) SampleRate() int {
	return ac3.SyncInfo{Fscod: c.Fscod}.SampleRate()
}

// ChannelCount returns the channel count, the LFE channel included.
func (c AC3Config) ChannelCount() int {
	return ac3.BSI{Acmod: c.Acmod, LfeOn: c.LfeOn}.ChannelCount()
}

// NewAC3Track builds an AC-3 audio track; the clock rate is the sample rate.
func NewAC3Track(c AC3Config) (*Track, error) {
	if c.Fscod > 2 {
		return nil, fmt.Errorf("%w: AC-3 fscod %d", ErrInvalidCodecHeader, c.Fscod)
	}
	rate := c.SampleRate()
	return &Track{
		Kind:         KindAudio,
		Codec:        CodecAC3,
		ClockRate:    rate,
		SampleRate:   rate,
		ChannelCount: c.ChannelCount(),
		AC3:          &c,
	}, nil
}

// EAC3Config is what an E-AC-3 independent syncframe says about its stream
// (ETSI TS 102 366 Annex E.1.2.2 bsi), the content of an ISO BMFF "dec3"
// box for one independent substream.
type EAC3Config struct {
	// SampleRate is the sampling rate in Hz.
	SampleRate int
	// Bsid is the bit stream identification (16).
	Bsid uint8
	// Strmtyp and Substreamid identify the substream.
	Strmtyp, Substreamid uint8
	// Acmod is the audio coding mode (channel layout).
	Acmod uint8
	// LfeOn says the low frequency effects channel is present.
	LfeOn bool
	// Blocks is the number of 256-sample audio blocks per syncframe (1, 2, 3 or 6).
	Blocks int
	// DataRate is the data rate in kbit/s computed from the first frame.
	// Not part of the stream's identity (SameStream).
	DataRate int
	// NumDepSub is the number of dependent substreams (strmtyp 1) that
	// follow the independent substream in each frame (TS 102 366 F.6.2.14).
	NumDepSub uint8
	// ChanLoc is the dec3 chan_loc of those dependent substreams: the
	// channel locations they add to the independent substream's, one bit
	// each (TS 102 366 Table F.6.1: 1 Lc/Rc pair, 2 Lrs/Rrs pair, 4 Cs,
	// 8 Ts, 16 Lsd/Rsd pair, 32 Lw/Rw pair, 64 Lvh/Rvh pair, 128 Cvh,
	// 256 LFE2).
	ChanLoc uint16
}

// ParseEAC3Frame reads the configuration of the E-AC-3 syncframe at the
// start of frame and returns it with the syncframe's size in bytes.
func ParseEAC3Frame(frame []byte) (EAC3Config, int, error) {
	var c EAC3Config
	var si eac3.SyncInfo
	if err := si.Unmarshal(frame); err != nil {
		return c, 0, fmt.Errorf("%w: E-AC-3 syncinfo: %w", ErrInvalidCodecHeader, err)
	}
	rate, blocks, size := si.SampleRate(), si.NumBlocks(), si.FrameSize()
	if rate <= 0 || blocks <= 0 {
		return c, 0, fmt.Errorf("%w: E-AC-3 %d Hz, %d blocks", ErrInvalidCodecHeader, rate, blocks)
	}
	c = EAC3Config{
		SampleRate: rate, Bsid: si.Bsid, Strmtyp: si.Strmtyp, Substreamid: si.Substreamid,
		Acmod: si.Acmod, LfeOn: si.Lfeon, Blocks: blocks,
		// ETSI TS 102 366 F.6.2.2: data_rate in kbit/s.
		DataRate: size * 8 * rate / (blocks * eac3BlockSamples) / 1000,
	}
	return c, size, nil
}

// eac3BlockSamples is the length of one E-AC-3 audio block (TS 102 366 E.1.3.1.4).
const eac3BlockSamples = 256

// SameStream reports whether c and o describe the same stream, ignoring
// the data rate.
func (c EAC3Config) SameStream(o EAC3Config) bool {
	c.DataRate, o.DataRate = 0, 0
	return c == o
}

// ChannelCount returns the channel count, the LFE channel included, and
// the channels the dependent substreams add (ChanLoc: pairs count 2).
func (c EAC3Config) ChannelCount() int {
	n := eac3.SyncInfo{Acmod: c.Acmod, Lfeon: c.LfeOn}.ChannelCount()
	for bit := range 9 {
		if c.ChanLoc&(1<<bit) != 0 {
			n++
			if eac3ChanLocPairs&(1<<bit) != 0 {
				n++
			}
		}
	}
	return n
}

// eac3ChanLocPairs are the chan_loc bits that stand for a pair of channels
// (TS 102 366 Table F.6.1).
const eac3ChanLocPairs = 1<<0 | 1<<1 | 1<<4 | 1<<5 | 1<<6

// NewEAC3Track builds an E-AC-3 audio track; the clock rate is the sample rate.
func NewEAC3Track(c EAC3Config) (*Track, error) {
	if c.SampleRate <= 0 || c.Blocks <= 0 {
		return nil, fmt.Errorf("%w: E-AC-3 %d Hz, %d blocks", ErrInvalidCodecHeader, c.SampleRate, c.Blocks)
	}
	if c.Strmtyp == 1 {
		// TS 102 366 E.1.3.1.1: a dependent substream cannot be decoded alone.
		return nil, fmt.Errorf("%w: E-AC-3 stream starts with a dependent substream", ErrInvalidCodecHeader)
	}
	return &Track{
		Kind:         KindAudio,
		Codec:        CodecEAC3,
		ClockRate:    c.SampleRate,
		SampleRate:   c.SampleRate,
		ChannelCount: c.ChannelCount(),
		EAC3:         &c,
	}, nil
}

// MPEGAudioConfig is what an MPEG-1/2 audio frame header says about its
// stream (ISO/IEC 11172-3 §2.4.2.3, ISO/IEC 13818-3 §2.4.2.3).
type MPEGAudioConfig struct {
	// MPEG2 is true for the MPEG-2 lower sampling frequencies.
	MPEG2 bool
	// Layer is 1, 2 or 3 (3 for MP3).
	Layer uint8
	// SampleRate is the sampling rate in Hz.
	SampleRate int
	// Mono is true for single channel mode.
	Mono bool
}

// ISO/IEC 11172-3 Table 2.4.2.3 and ISO/IEC 13818-3 Table 2.4.2.3.
var (
	mpegAudioRates = [2][3]int{{44100, 48000, 32000}, {22050, 24000, 16000}}
	// kbit/s by [MPEG2][layer-1][bitrate_index].
	mpegAudioBitrates = [2][3][15]int{
		{
			{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
			{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
		},
		{
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		},
	}
)

// mpegAudioHeader is the frame header size.
const mpegAudioHeader = 4

// ParseMPEGAudioFrame reads the frame header at the start of frame and
// returns the stream configuration, the frame's size in bytes and its
// duration in samples. Free-format frames (bitrate_index 0) and MPEG-2.5
// are refused.
func ParseMPEGAudioFrame(frame []byte) (MPEGAudioConfig, int, int, error) {
	var c MPEGAudioConfig
	if len(frame) < mpegAudioHeader {
		return c, 0, 0, fmt.Errorf("%w: MPEG audio frame of %d bytes", ErrInvalidCodecHeader, len(frame))
	}
	// syncword '1111 1111 111', then ID (1: MPEG-1, 0: MPEG-2 when the
	// syncword's 12th bit is 1; 00 is the unofficial MPEG-2.5).
	if frame[0] != 0xff || frame[1]&0xe0 != 0xe0 {
		return c, 0, 0, fmt.Errorf("%w: no MPEG audio syncword", ErrInvalidCodecHeader)
	}
	if frame[1]&0x10 == 0 {
		return c, 0, 0, fmt.Errorf("%w: MPEG-2.5 audio", ErrInvalidCodecHeader)
	}
	c.MPEG2 = frame[1]&0x08 == 0
	layerBits := (frame[1] >> 1) & 0x03
	if layerBits == 0 {
		return c, 0, 0, fmt.Errorf("%w: reserved MPEG audio layer", ErrInvalidCodecHeader)
	}
	c.Layer = 4 - layerBits
	brIndex, rateIndex := frame[2]>>4, (frame[2]>>2)&0x03
	if brIndex == 0 || brIndex == 15 || rateIndex == 3 {
		return c, 0, 0, fmt.Errorf("%w: MPEG audio bitrate index %d, sampling index %d", ErrInvalidCodecHeader, brIndex, rateIndex)
	}
	v := 0
	if c.MPEG2 {
		v = 1
	}
	c.SampleRate = mpegAudioRates[v][rateIndex]
	c.Mono = frame[3]>>6 == 3
	bitrate := mpegAudioBitrates[v][c.Layer-1][brIndex] * 1000
	pad := int(frame[2]>>1) & 1
	var size, samples int
	switch {
	case c.Layer == 1:
		// 11172-3 §2.4.3.1: Layer I slots are 4 bytes, 384 samples.
		size, samples = (12*bitrate/c.SampleRate+pad)*4, 384
	case c.Layer == 3 && c.MPEG2:
		// 13818-3: 576 samples per Layer III frame at the low rates.
		size, samples = 72*bitrate/c.SampleRate+pad, 576
	default:
		size, samples = 144*bitrate/c.SampleRate+pad, 1152
	}
	return c, size, samples, nil
}

// ChannelCount returns 1 for single channel mode and 2 otherwise.
func (c MPEGAudioConfig) ChannelCount() int {
	if c.Mono {
		return 1
	}
	return 2
}

// NewMPEGAudioTrack builds an MPEG-1/2 audio (MP3) track; the clock rate
// is the sample rate.
func NewMPEGAudioTrack(c MPEGAudioConfig) (*Track, error) {
	if c.SampleRate <= 0 || c.Layer < 1 || c.Layer > 3 {
		return nil, fmt.Errorf("%w: MPEG audio layer %d, %d Hz", ErrInvalidCodecHeader, c.Layer, c.SampleRate)
	}
	return &Track{
		Kind:         KindAudio,
		Codec:        CodecMP3,
		ClockRate:    c.SampleRate,
		SampleRate:   c.SampleRate,
		ChannelCount: c.ChannelCount(),
		MPEGAudio:    &c,
	}, nil
}

// ChannelOrder is E-RTMP's AudioChannelOrder.
type ChannelOrder uint8

// E-RTMP v2 AudioChannelOrder values.
const (
	// ChannelOrderUnspecified: "Only the channel count is specified".
	ChannelOrderUnspecified ChannelOrder = 0
	// ChannelOrderNative: the channels present are given by a mask of
	// AudioChannelMask bits, in the order of the AudioChannel enum.
	ChannelOrderNative ChannelOrder = 1
	// ChannelOrderCustom: an explicit speaker for each channel.
	ChannelOrderCustom ChannelOrder = 2
)

// ChannelLayout is an E-RTMP MultichannelConfig: how the channels of an
// audio track map to speakers, for codecs that do not say it themselves.
type ChannelLayout struct {
	// Order says which of Mask and Mapping applies.
	Order ChannelOrder
	// Count is the number of channels.
	Count int
	// Mask is the AudioChannelMask of the channels present (Native order).
	Mask uint32
	// Mapping is the AudioChannel (speaker) of each channel in bitstream
	// order (Custom order); an owned copy.
	Mapping []byte
}

// Equal reports whether l and o describe the same layout (nil for none).
func (l *ChannelLayout) Equal(o *ChannelLayout) bool {
	if l == nil || o == nil {
		return l == o
	}
	return l.Order == o.Order && l.Count == o.Count && l.Mask == o.Mask && bytes.Equal(l.Mapping, o.Mapping)
}

// WithChannelLayout returns a copy of t carrying layout (nil removes it),
// for SetTrack: a MultichannelConfig received after the sequence start.
func (t *Track) WithChannelLayout(layout *ChannelLayout) *Track {
	nt := *t
	if layout != nil {
		l := *layout
		l.Mapping = bytes.Clone(layout.Mapping)
		nt.ChannelLayout = &l
	} else {
		nt.ChannelLayout = nil
	}
	return &nt
}
