package handshake

import "errors"

// Errors returned by the handshake. They are wrapped with details; match
// them with errors.Is.
var (
	// ErrUnsupportedVersion is returned when C0 asks for a version other
	// than 3 that we cannot serve: RTMPE (6, 8, 9) or a value of 32 and
	// above, which is not RTMP at all (often HTTP or TLS on the wrong port).
	ErrUnsupportedVersion = errors.New("handshake: unsupported version")
	// ErrBadServerDigest is returned by Client when S1 carries no valid
	// server digest at either position.
	ErrBadServerDigest = errors.New("handshake: server digest does not verify")
	// ErrBadServerSignature is returned by Client when the S2 signature does
	// not verify.
	ErrBadServerSignature = errors.New("handshake: server signature does not verify")
	// ErrBadEcho is returned by Client when a plain S2 does not echo C1.
	ErrBadEcho = errors.New("handshake: S2 does not echo C1")
)
