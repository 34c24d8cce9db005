package flv

import (
	"encoding/binary"
	"fmt"

	"github.com/livegate/gateway/remux"
)

// VPCodecConfigurationRecord sizes (VP Codec ISO Media File Format Binding
// §2.2): the FullBox header (version 1, flags 0) of a vpcC box, then
// profile, level, bitDepth/chromaSubsampling/videoFullRangeFlag,
// colourPrimaries, transferCharacteristics, matrixCoefficients and
// codecIntializationDataSize.
const (
	vpcFullBoxHeader = 4
	vpcRecordFixed   = 8
)

// ISO/IEC 23091-4 "unspecified" colour code point (2 for primaries,
// transfer characteristics and matrix coefficients alike).
const colourUnspecified = 2

// ParseVPConfig parses a VPCodecConfigurationRecord, the body of an E-RTMP
// vp09 SequenceStart ("vp9Header = [VPCodecConfigurationRecord]"). Encoders
// send it with the vpcC box's FullBox header (version 1, flags 0), as FFmpeg
// does, or without: the form whose codecIntializationDataSize matches the
// body's length is taken. The picture size is not in the record: VP9 key
// frames carry it.
func ParseVPConfig(b []byte) (remux.VP9Config, error) {
	var c remux.VP9Config
	rec := b
	switch {
	case len(b) >= vpcFullBoxHeader+vpcRecordFixed && b[0] == 1 && b[1]|b[2]|b[3] == 0 &&
		int(binary.BigEndian.Uint16(b[vpcFullBoxHeader+6:])) == len(b)-vpcFullBoxHeader-vpcRecordFixed:
		rec = b[vpcFullBoxHeader:]
	case len(b) >= vpcRecordFixed && int(binary.BigEndian.Uint16(b[6:])) <= len(b)-vpcRecordFixed:
	case len(b) >= vpcFullBoxHeader && b[0] != 1:
		return c, fmt.Errorf("%w: vpcC version %d", ErrConfigVersion, b[0])
	default:
		return c, fmt.Errorf("%w: VPCodecConfigurationRecord of %d bytes", ErrTruncated, len(b))
	}
	c.Profile, c.Level = rec[0], rec[1]
	c.BitDepth = rec[2] >> 4
	c.ChromaSubsampling = (rec[2] >> 1) & 0x07
	c.FullRange = rec[2]&0x01 != 0
	c.ColourPrimaries, c.TransferCharacteristics, c.MatrixCoefficients = rec[3], rec[4], rec[5]
	// §2.2: "bitDepth ... Only the values 8, 10 and 12 are valid";
	// chromaSubsampling values above 3 are reserved; VP9 has profiles 0-3.
	if c.Profile > 3 || (c.BitDepth != 8 && c.BitDepth != 10 && c.BitDepth != 12) || c.ChromaSubsampling > 3 {
		return c, fmt.Errorf("%w: VP9 profile %d, bit depth %d, chroma subsampling %d",
			ErrParameterSet, c.Profile, c.BitDepth, c.ChromaSubsampling)
	}
	return c, nil
}

// vp9Frame is what the uncompressed header of a VP9 frame says (VP9
// Bitstream & Decoding Process Specification v0.6 §6.2).
type vp9Frame struct {
	key bool
	// Key frames only:
	profile           uint8
	bitDepth          uint8
	chromaSubsampling uint8 // vpcC code
	fullRange         bool
	width, height     int
}

// VP9 §7.2: "frame_marker shall be equal to 2"; "frame_sync_code ...
// 0x49, 0x83, 0x42"; color_space CS_RGB = 7.
const (
	vp9FrameMarker = 2
	vp9ColorRGB    = 7
)

// bitReader reads big-endian bit fields; reads past the end return 0 and
// set short.
type bitReader struct {
	b     []byte
	pos   int
	short bool
}

func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for range n {
		if r.pos >= len(r.b)*8 {
			r.short = true
			return 0
		}
		v = v<<1 | uint32(r.b[r.pos/8]>>(7-r.pos%8))&1
		r.pos++
	}
	return v
}

func (r *bitReader) flag() bool { return r.bits(1) == 1 }

// parseVP9Frame reads the start of a VP9 frame's uncompressed header
// (§6.2 uncompressed_header(): frame_marker, profile, show_existing_frame,
// frame_type, show_frame, error_resilient_mode, and for key frames
// frame_sync_code, color_config() and frame_size()). A superframe starts
// with its first frame, so the same applies. It does not allocate.
func parseVP9Frame(b []byte) (vp9Frame, error) {
	var f vp9Frame
	r := bitReader{b: b}
	if r.bits(2) != vp9FrameMarker {
		return f, fmt.Errorf("%w: frame_marker", ErrVP9Frame)
	}
	low := r.bits(1)
	f.profile = uint8(r.bits(1)<<1 | low)
	if f.profile == 3 {
		r.bits(1) // reserved_zero
	}
	if r.flag() { // show_existing_frame: shows a decoded frame, codes none
		r.bits(3) // frame_to_show_map_idx
		if r.short {
			return f, fmt.Errorf("%w: truncated", ErrVP9Frame)
		}
		return f, nil
	}
	f.key = r.bits(1) == 0 // frame_type: KEY_FRAME = 0
	r.bits(2)              // show_frame, error_resilient_mode
	if !f.key {
		if r.short {
			return f, fmt.Errorf("%w: truncated", ErrVP9Frame)
		}
		return f, nil
	}
	if r.bits(24) != 0x498342 {
		return f, fmt.Errorf("%w: frame_sync_code", ErrVP9Frame)
	}
	// §6.2.2 color_config().
	f.bitDepth = 8
	if f.profile >= 2 {
		f.bitDepth = 10
		if r.flag() { // ten_or_twelve_bit
			f.bitDepth = 12
		}
	}
	ssX, ssY := true, true
	if r.bits(3) != vp9ColorRGB {
		f.fullRange = r.flag()
		if f.profile == 1 || f.profile == 3 {
			ssX, ssY = r.flag(), r.flag()
			r.bits(1) // reserved_zero
		}
	} else {
		f.fullRange = true
		ssX, ssY = false, false
		if f.profile == 1 || f.profile == 3 {
			r.bits(1) // reserved_zero
		}
	}
	switch {
	case !ssX && !ssY:
		f.chromaSubsampling = 3 // 4:4:4
	case ssX && !ssY:
		f.chromaSubsampling = 2 // 4:2:2
	default:
		// vpcC 1: 4:2:0 colocated with luma, what VP9 decoders assume.
		f.chromaSubsampling = 1
	}
	// §6.2.3 frame_size(): frame_width_minus_1 f(16), frame_height_minus_1 f(16).
	f.width = int(r.bits(16)) + 1
	f.height = int(r.bits(16)) + 1
	if r.short {
		return f, fmt.Errorf("%w: truncated key frame header", ErrVP9Frame)
	}
	return f, nil
}
