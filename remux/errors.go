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
)
