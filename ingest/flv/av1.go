package flv

import (
	"fmt"

	mcav1 "github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
)

// AV1 OBU types (AV1 Bitstream & Decoding Process §6.2.2, Table "OBU types").
const (
	obuSequenceHeader       = 1
	obuTemporalDelimiter    = 2
	obuFrameHeader          = 3
	obuFrame                = 6
	obuRedundantFrameHeader = 7
)

// AV1 §5.3.2 obu_header(): obu_forbidden_bit f(1), obu_type f(4),
// obu_extension_flag f(1), obu_has_size_field f(1), obu_reserved_1bit f(1).
const (
	obuForbiddenBit  = 0x80
	obuExtensionFlag = 0x04
	obuHasSizeField  = 0x02
)

// obu is one OBU of a low-overhead bitstream (AV1 §5.2), as sub-slices of
// the input.
type obu struct {
	typ byte
	// whole is the OBU with its header and size field.
	whole []byte
	// payload is the OBU payload.
	payload []byte
}

// nextOBU splits the OBU at the start of b (not empty). An OBU without
// obu_size extends to the end of b (AV1 §5.2: allowed for the last OBU).
func nextOBU(b []byte) (obu, []byte, error) {
	h := b[0]
	if h&obuForbiddenBit != 0 {
		return obu{}, nil, fmt.Errorf("%w: forbidden bit set", ErrOBU)
	}
	o := obu{typ: (h >> 3) & 0x0f}
	p := 1
	if h&obuExtensionFlag != 0 {
		p++
	}
	if p > len(b) {
		return o, nil, fmt.Errorf("%w: extension header missing", ErrOBU)
	}
	end := len(b)
	if h&obuHasSizeField != 0 {
		var size mcav1.LEB128
		n, err := size.Unmarshal(b[p:])
		if err != nil {
			return o, nil, fmt.Errorf("%w: obu_size: %w", ErrOBU, err)
		}
		p += n
		if uint64(size) > uint64(len(b)-p) {
			return o, nil, fmt.Errorf("%w: OBU type %d announces %d bytes, %d left", ErrOBU, o.typ, size, len(b)-p)
		}
		end = p + int(size)
	}
	o.whole, o.payload = b[:end:end], b[p:end:end]
	return o, b[end:], nil
}

// AV1Config is a parsed AV1CodecConfigurationRecord (AV1 Codec ISO Media
// File Format Binding §2.3.3, "av1C").
type AV1Config struct {
	// SeqProfile, SeqLevelIdx0 and SeqTier0 are the profile, level and
	// tier of operating point 0.
	SeqProfile, SeqLevelIdx0 uint8
	SeqTier0                 bool
	// HighBitdepth, TwelveBit and Monochrome describe the colour format;
	// ChromaSubsamplingX/Y and ChromaSamplePosition the chroma layout.
	HighBitdepth, TwelveBit, Monochrome    bool
	ChromaSubsamplingX, ChromaSubsamplingY bool
	ChromaSamplePosition                   uint8
	// InitialPresentationDelay is initial_presentation_delay_minus_one+1,
	// 0 when absent.
	InitialPresentationDelay int
	// SequenceHeader is the sequence header OBU of configOBUs as sent
	// (header and size field included), nil when configOBUs has none.
	SequenceHeader []byte
	// ConfigOBUs is every configOBU byte.
	ConfigOBUs []byte
}

// av1ConfigHeader is the fixed part of av1C.
const av1ConfigHeader = 4

// ParseAV1Config parses an AV1CodecConfigurationRecord, the body of an
// E-RTMP av01 SequenceStart ("av1Header = [AV1CodecConfigurationRecord]").
// Its slices point into b. Leniency: a body whose first byte has the marker
// bit clear is not a record but bare OBUs (an OBU header's forbidden bit
// is 0), as some encoders send, and is taken as configOBUs.
func ParseAV1Config(b []byte) (AV1Config, error) {
	var c AV1Config
	if len(b) == 0 {
		return c, fmt.Errorf("%w: empty AV1 configuration", ErrTruncated)
	}
	obus := b
	if b[0]&0x80 != 0 {
		if len(b) < av1ConfigHeader {
			return c, fmt.Errorf("%w: AV1CodecConfigurationRecord of %d bytes", ErrTruncated, len(b))
		}
		// §2.3.3: "marker f(1) ... SHALL be set to 1"; "version f(7) ...
		// SHALL be set to 1".
		if b[0] != 0x81 {
			return c, fmt.Errorf("%w: AV1 marker/version %#02x", ErrConfigVersion, b[0])
		}
		c.SeqProfile, c.SeqLevelIdx0 = b[1]>>5, b[1]&0x1f
		c.SeqTier0 = b[2]&0x80 != 0
		c.HighBitdepth = b[2]&0x40 != 0
		c.TwelveBit = b[2]&0x20 != 0
		c.Monochrome = b[2]&0x10 != 0
		c.ChromaSubsamplingX = b[2]&0x08 != 0
		c.ChromaSubsamplingY = b[2]&0x04 != 0
		c.ChromaSamplePosition = b[2] & 0x03
		if b[3]&0x10 != 0 {
			c.InitialPresentationDelay = int(b[3]&0x0f) + 1
		}
		obus = b[av1ConfigHeader:]
	}
	c.ConfigOBUs = obus
	for rest := obus; len(rest) > 0; {
		o, next, err := nextOBU(rest)
		if err != nil {
			return c, fmt.Errorf("configOBUs: %w", err)
		}
		if o.typ == obuSequenceHeader && c.SequenceHeader == nil {
			c.SequenceHeader = o.whole
		}
		rest = next
	}
	return c, nil
}

// av1FrameType reads the start of the uncompressed header of a frame
// header or frame OBU payload: whether it codes a KEY_FRAME and whether
// the frame is shown. AV1 §5.9.2 uncompressed_header(): with
// reduced_still_picture_header "frame_type = KEY_FRAME, show_frame = 1";
// otherwise show_existing_frame f(1) (no frame coded), then frame_type
// f(2) (KEY_FRAME = 0) and show_frame f(1).
func av1FrameType(payload []byte, reducedStillPicture bool) (key, shown bool) {
	if reducedStillPicture {
		return true, true
	}
	if len(payload) == 0 || payload[0]&0x80 != 0 {
		return false, false
	}
	return (payload[0]>>5)&0x03 == 0, payload[0]&0x10 != 0
}

// av1ReducedStillPicture returns reduced_still_picture_header of a
// sequence header OBU payload (AV1 §5.5.1: seq_profile f(3),
// still_picture f(1), reduced_still_picture_header f(1)).
func av1ReducedStillPicture(payload []byte) bool {
	return len(payload) > 0 && payload[0]&0x08 != 0
}
