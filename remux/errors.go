package remux

import "errors"

// Sentinel errors of the remux package. Callers test them with errors.Is.
var (
	// ErrClosed is returned by every write after Close.
	ErrClosed = errors.New("remux: remuxer closed")
	// ErrInvalidTrack is returned by SetTrack for a configuration the
	// track model cannot describe (unknown codec, clock rate <= 0, missing
	// parameter sets...).
	ErrInvalidTrack = errors.New("remux: invalid track configuration")
	// ErrInvalidSPS wraps a sequence parameter set that does not parse.
	ErrInvalidSPS = errors.New("remux: invalid SPS")
	// ErrMissingParameterSets is returned when an H.264/H.265 configuration
	// lacks a mandatory parameter set.
	ErrMissingParameterSets = errors.New("remux: missing parameter sets")
	// ErrInvalidAudioConfig wraps an AudioSpecificConfig that does not parse
	// or describes an impossible stream.
	ErrInvalidAudioConfig = errors.New("remux: invalid AudioSpecificConfig")
	// ErrInvalidVideoConfig wraps a video configuration other than
	// H.264/H.265 parameter sets (AV1 sequence header, VP9 configuration)
	// that does not parse or describes an impossible stream.
	ErrInvalidVideoConfig = errors.New("remux: invalid video configuration")
	// ErrInvalidCodecHeader wraps an audio codec header other than an
	// AudioSpecificConfig (OpusHead, FLAC STREAMINFO, AC-3 / E-AC-3 / MPEG
	// audio frame header) that does not parse or describes an impossible
	// stream.
	ErrInvalidCodecHeader = errors.New("remux: invalid codec header")
)
