package flv

import "errors"

// Sentinel errors of the FLV parsers. Errors returned by the parsers wrap
// one of them (test with errors.Is) and add the offending values.
var (
	// ErrTruncated: a body or record ends before a field it announces.
	ErrTruncated = errors.New("flv: truncated")
	// ErrConfigVersion: a decoder configuration record has a
	// configurationVersion other than 1.
	ErrConfigVersion = errors.New("flv: unsupported configuration record version")
	// ErrLengthSize: lengthSizeMinusOne is 2 (3-byte NAL unit lengths are
	// not allowed by ISO/IEC 14496-15).
	ErrLengthSize = errors.New("flv: invalid NAL unit length size")
	// ErrParameterSet: a parameter set in a configuration record is empty
	// or has the wrong NAL unit type.
	ErrParameterSet = errors.New("flv: invalid parameter set")
	// ErrTooManyNALUs: an access unit holds more NAL units than MaxNALUs.
	ErrTooManyNALUs = errors.New("flv: too many NAL units in access unit")
	// ErrPacketType: an unknown AVCPacketType or AACPacketType.
	ErrPacketType = errors.New("flv: unknown packet type")
	// ErrCodecMismatch: a frame's codec differs from its track's
	// configuration and no in-band parameter sets reconfigure it.
	ErrCodecMismatch = errors.New("flv: frame codec differs from the track configuration")
	// ErrADTS: an AAC frame starts with an ADTS header that cannot be used.
	ErrADTS = errors.New("flv: unusable ADTS header")
	// ErrModEx: an E-RTMP ModEx prefix whose data does not fit its type.
	ErrModEx = errors.New("flv: invalid ModEx")
	// ErrOBU: an AV1 temporal unit or configOBUs that are not a sequence
	// of well-formed OBUs.
	ErrOBU = errors.New("flv: invalid AV1 OBU")
	// ErrVP9Frame: a VP9 frame whose uncompressed header does not parse.
	ErrVP9Frame = errors.New("flv: invalid VP9 frame header")
	// ErrMultichannelConfig: an E-RTMP MultichannelConfig with a reserved
	// channel order or a truncated channel map.
	ErrMultichannelConfig = errors.New("flv: invalid MultichannelConfig")
	// ErrColorInfo: an E-RTMP Metadata frame that is not AMF0 name/value
	// pairs.
	ErrColorInfo = errors.New("flv: invalid video metadata")
	// ErrMPEGAudio: an MP3 message (legacy SoundFormat 2 or E-RTMP .mp3)
	// that does not start with a usable MPEG audio frame header.
	ErrMPEGAudio = errors.New("flv: invalid MPEG audio frame header")
)
