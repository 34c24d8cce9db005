package flv

import (
	"encoding/binary"
	"fmt"
)

// H.264 NAL unit types (ITU-T H.264 Table 7-1) used here.
const (
	h264NALUIDR = 5
	h264NALUSPS = 7
	h264NALUPPS = 8
	h264NALUAUD = 9
)

// H.265 NAL unit types (ITU-T H.265 Table 7-1) used here.
const (
	h265NALUIRAPFirst = 16 // BLA_W_LP
	h265NALUIRAPLast  = 21 // CRA_NUT; 22-23 are reserved IRAP types
	h265NALUVPS       = 32
	h265NALUSPS       = 33
	h265NALUPPS       = 34
	h265NALUAUD       = 35
)

func h264Type(nalu []byte) uint8 { return nalu[0] & 0x1f }
func h265Type(nalu []byte) uint8 { return (nalu[0] >> 1) & 0x3f }

// AVCConfig is a parsed AVCDecoderConfigurationRecord
// (ISO/IEC 14496-15 §5.3.3.1). Its parameter sets are sub-slices of the
// parsed buffer (not copies).
type AVCConfig struct {
	// Profile, Compatibility and Level are AVCProfileIndication,
	// profile_compatibility and AVCLevelIndication.
	Profile, Compatibility, Level uint8
	// LengthSize is the size in bytes of the NAL unit length fields of
	// the stream's access units: 1, 2 or 4.
	LengthSize int
	// SPS and PPS are every sequence and picture parameter set, in order.
	SPS, PPS [][]byte
}

// avcConfigHeader is the fixed part: version, profile, compatibility,
// level, lengthSizeMinusOne, numOfSequenceParameterSets.
const avcConfigHeader = 6

// ParseAVCConfig parses an AVCDecoderConfigurationRecord, the body of an
// FLV AVCPacketType 0 (FLV spec E.4.3.1: "if AVCPacketType == 0
// AVCDecoderConfigurationRecord"). Bytes after the last PPS (the High
// profile extension, sometimes truncated by encoders) are ignored.
func ParseAVCConfig(b []byte) (AVCConfig, error) {
	var c AVCConfig
	if len(b) < avcConfigHeader {
		return c, fmt.Errorf("%w: AVCDecoderConfigurationRecord of %d bytes", ErrTruncated, len(b))
	}
	// ISO/IEC 14496-15 §5.3.3.1.2: "Incompatible changes to the record
	// will be indicated by a change of version number. Readers shall not
	// attempt to decode this record ... if the version number is unrecognised."
	if b[0] != 1 {
		return c, fmt.Errorf("%w: AVC configurationVersion %d", ErrConfigVersion, b[0])
	}
	c.Profile, c.Compatibility, c.Level = b[1], b[2], b[3]
	ls, err := lengthSize(b[4])
	if err != nil {
		return c, err
	}
	c.LengthSize = ls
	p := avcConfigHeader
	c.SPS, p, err = readParamSets(b, p, int(b[5]&0x1f), h264NALUSPS, "SPS")
	if err != nil {
		return c, err
	}
	if p >= len(b) {
		return c, fmt.Errorf("%w: AVCDecoderConfigurationRecord ends before numOfPictureParameterSets", ErrTruncated)
	}
	n := int(b[p])
	c.PPS, _, err = readParamSets(b, p+1, n, h264NALUPPS, "PPS")
	return c, err
}

// readParamSets reads n entries of "u16 length, NAL unit" starting at p
// and checks their H.264 NAL unit type.
func readParamSets(b []byte, p, n int, typ uint8, name string) ([][]byte, int, error) {
	var sets [][]byte
	if n > 0 {
		sets = make([][]byte, 0, n)
	}
	for i := range n {
		nalu, next, err := readU16Prefixed(b, p)
		if err != nil {
			return nil, p, fmt.Errorf("%s %d: %w", name, i, err)
		}
		if len(nalu) == 0 || h264Type(nalu) != typ {
			return nil, p, fmt.Errorf("%w: %s %d is empty or not NAL unit type %d", ErrParameterSet, name, i, typ)
		}
		sets = append(sets, nalu)
		p = next
	}
	return sets, p, nil
}

// readU16Prefixed reads a 16-bit big-endian length and that many bytes.
func readU16Prefixed(b []byte, p int) ([]byte, int, error) {
	if len(b)-p < 2 {
		return nil, p, fmt.Errorf("%w: missing 16-bit length at offset %d", ErrTruncated, p)
	}
	n := int(binary.BigEndian.Uint16(b[p:]))
	p += 2
	if len(b)-p < n {
		return nil, p, fmt.Errorf("%w: %d bytes announced at offset %d, %d left", ErrTruncated, n, p, len(b)-p)
	}
	return b[p : p+n : p+n], p + n, nil
}

// lengthSize decodes lengthSizeMinusOne (low 2 bits of b).
func lengthSize(b byte) (int, error) {
	// ISO/IEC 14496-15 §5.3.3.1.2: "The value of this field shall be one
	// of 0, 1, or 3 corresponding to a length encoded with 1, 2, or 4 bytes."
	switch b & 0x03 {
	case 0:
		return 1, nil
	case 1:
		return 2, nil
	case 3:
		return 4, nil
	}
	return 0, fmt.Errorf("%w: lengthSizeMinusOne 2 (3-byte lengths)", ErrLengthSize)
}

// HEVCConfig is a parsed HEVCDecoderConfigurationRecord
// (ISO/IEC 14496-15 §8.3.3.1). Its parameter sets are sub-slices of the
// parsed buffer. NAL units of other types in the arrays (e.g. SEI) are
// ignored.
type HEVCConfig struct {
	// LengthSize is the size in bytes of the NAL unit length fields: 1, 2 or 4.
	LengthSize int
	// VPS, SPS and PPS are every parameter set of each type, in order.
	VPS, SPS, PPS [][]byte
}

// hevcConfigHeader is the fixed part up to and including numOfArrays.
const hevcConfigHeader = 23

// ParseHEVCConfig parses an HEVCDecoderConfigurationRecord, the body of a
// legacy FLV HEVC (codec id 12) packet type 0 or of an Enhanced RTMP
// hvc1 SequenceStart.
func ParseHEVCConfig(b []byte) (HEVCConfig, error) {
	var c HEVCConfig
	if len(b) < hevcConfigHeader {
		return c, fmt.Errorf("%w: HEVCDecoderConfigurationRecord of %d bytes", ErrTruncated, len(b))
	}
	if b[0] != 1 {
		return c, fmt.Errorf("%w: HEVC configurationVersion %d", ErrConfigVersion, b[0])
	}
	ls, err := lengthSize(b[21])
	if err != nil {
		return c, err
	}
	c.LengthSize = ls
	arrays := int(b[22])
	p := hevcConfigHeader
	for a := range arrays {
		// array_completeness(1) reserved(1) NAL_unit_type(6), numNalus(16)
		if len(b)-p < 3 {
			return c, fmt.Errorf("%w: HEVC array %d header", ErrTruncated, a)
		}
		typ := b[p] & 0x3f
		n := int(binary.BigEndian.Uint16(b[p+1:]))
		p += 3
		for i := range n {
			nalu, next, err := readU16Prefixed(b, p)
			if err != nil {
				return c, fmt.Errorf("HEVC array %d NAL unit %d: %w", a, i, err)
			}
			p = next
			if len(nalu) < 2 || h265Type(nalu) != typ {
				return c, fmt.Errorf("%w: HEVC array %d NAL unit %d is empty or not of type %d", ErrParameterSet, a, i, typ)
			}
			switch typ {
			case h265NALUVPS:
				c.VPS = append(c.VPS, nalu)
			case h265NALUSPS:
				c.SPS = append(c.SPS, nalu)
			case h265NALUPPS:
				c.PPS = append(c.PPS, nalu)
			}
		}
	}
	return c, nil
}
