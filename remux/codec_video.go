package remux

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/av1"
)

// maxPictureSide bounds the picture width and height accepted from a
// configuration (AV1 allows 2^16, VP9 2^16: frame_width_minus_1 is 16 bits).
const maxPictureSide = 1 << 16

// AV1 OBU header fields (AV1 Bitstream & Decoding Process §5.3.2:
// obu_forbidden_bit f(1), obu_type f(4), obu_extension_flag f(1),
// obu_has_size_field f(1), obu_reserved_1bit f(1)).
const (
	av1ForbiddenBit   = 0x80
	av1ExtensionFlag  = 0x04
	av1HasSizeField   = 0x02
	av1OBUTypeShift   = 3
	av1OBUTypeMask    = 0x0f
	av1OBUSequenceHdr = 1
)

// NewAV1Track builds an AV1 video track from a sequence header OBU, with
// or without obu_size field (the configOBUs of an AV1CodecConfigurationRecord
// or an in-band OBU). The stored copy has no size field and no extension
// header, the form mediacommon's av1.SequenceHeader and codecs.AV1 take;
// the picture size and the timing info frame rate come from it.
func NewAV1Track(obu []byte) (*Track, error) {
	norm, err := normalizeAV1SequenceHeader(obu)
	if err != nil {
		return nil, err
	}
	var sh av1.SequenceHeader
	if err := sh.Unmarshal(norm); err != nil {
		return nil, fmt.Errorf("%w: AV1 sequence header: %w", ErrInvalidVideoConfig, err)
	}
	w, h := sh.Width(), sh.Height()
	if w <= 0 || h <= 0 || w > maxPictureSide || h > maxPictureSide {
		return nil, fmt.Errorf("%w: AV1 picture size %dx%d", ErrInvalidVideoConfig, w, h)
	}
	t := &Track{
		Kind:              KindVideo,
		Codec:             CodecAV1,
		ClockRate:         VideoClockRate,
		Width:             w,
		Height:            h,
		AV1SequenceHeader: norm,
	}
	if ti := sh.TimingInfo; ti != nil && ti.NumUnitsInDisplayTick > 0 {
		// AV1 §6.4.2: time_scale / num_units_in_display_tick is the display
		// tick rate; with equal_picture_interval a picture lasts
		// num_ticks_per_picture_minus_1 + 1 ticks.
		ticks := float64(ti.NumUnitsInDisplayTick)
		if ti.EqualPictureInterval {
			ticks *= float64(ti.NumTicksPerPictureMinus1) + 1
		}
		t.FrameRate = saneFPS(float64(ti.TimeScale) / ticks)
	}
	return t, nil
}

// normalizeAV1SequenceHeader returns an owned copy of a sequence header OBU
// without extension header and size field.
func normalizeAV1SequenceHeader(obu []byte) ([]byte, error) {
	if len(obu) < 2 {
		return nil, fmt.Errorf("%w: AV1 sequence header OBU of %d bytes", ErrInvalidVideoConfig, len(obu))
	}
	h := obu[0]
	if h&av1ForbiddenBit != 0 || (h>>av1OBUTypeShift)&av1OBUTypeMask != av1OBUSequenceHdr {
		return nil, fmt.Errorf("%w: OBU header %#02x is not a sequence header", ErrInvalidVideoConfig, h)
	}
	p := 1
	if h&av1ExtensionFlag != 0 {
		p++
	}
	payload := obu[min(p, len(obu)):]
	if h&av1HasSizeField != 0 {
		var size av1.LEB128
		n, err := size.Unmarshal(obu[min(p, len(obu)):])
		if err != nil {
			return nil, fmt.Errorf("%w: AV1 sequence header size: %w", ErrInvalidVideoConfig, err)
		}
		rest := obu[p+n:]
		if uint64(size) > uint64(len(rest)) {
			return nil, fmt.Errorf("%w: AV1 sequence header announces %d bytes, %d left", ErrInvalidVideoConfig, size, len(rest))
		}
		payload = rest[:size]
	}
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: empty AV1 sequence header", ErrInvalidVideoConfig)
	}
	out := make([]byte, 1+len(payload))
	out[0] = h &^ (av1ExtensionFlag | av1HasSizeField)
	copy(out[1:], payload)
	return out, nil
}

// VP9Config is a VP9 stream's configuration: the fields of a
// VPCodecConfigurationRecord (VP Codec ISO Media File Format Binding
// §2.2, "vpcC"), those the key frame header carries taking precedence.
type VP9Config struct {
	// Profile is the VP9 profile, 0-3.
	Profile uint8
	// Level is the VP9 level (e.g. 31 for level 3.1), 0 when unknown.
	Level uint8
	// BitDepth is 8, 10 or 12.
	BitDepth uint8
	// ChromaSubsampling is the vpcC code: 0 4:2:0 vertical, 1 4:2:0
	// colocated with luma (0,0), 2 4:2:2, 3 4:4:4.
	ChromaSubsampling uint8
	// FullRange is the video_full_range_flag.
	FullRange bool
	// ColourPrimaries, TransferCharacteristics and MatrixCoefficients are
	// ISO/IEC 23091-4 code points; 2 ("unspecified") when unknown.
	ColourPrimaries, TransferCharacteristics, MatrixCoefficients uint8
}

// NewVP9Track builds a VP9 video track from its configuration and the
// picture size of a key frame (VP9 has no sequence header: the size comes
// with each key frame).
func NewVP9Track(c VP9Config, width, height int) (*Track, error) {
	switch {
	case c.Profile > 3:
		return nil, fmt.Errorf("%w: VP9 profile %d", ErrInvalidVideoConfig, c.Profile)
	case c.BitDepth != 8 && c.BitDepth != 10 && c.BitDepth != 12:
		return nil, fmt.Errorf("%w: VP9 bit depth %d", ErrInvalidVideoConfig, c.BitDepth)
	case c.ChromaSubsampling > 3:
		return nil, fmt.Errorf("%w: VP9 chroma subsampling %d", ErrInvalidVideoConfig, c.ChromaSubsampling)
	case width <= 0 || height <= 0 || width > maxPictureSide || height > maxPictureSide:
		return nil, fmt.Errorf("%w: VP9 picture size %dx%d", ErrInvalidVideoConfig, width, height)
	}
	return &Track{
		Kind:      KindVideo,
		Codec:     CodecVP9,
		ClockRate: VideoClockRate,
		Width:     width,
		Height:    height,
		VP9:       &c,
	}, nil
}
