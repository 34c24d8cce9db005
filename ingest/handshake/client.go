package handshake

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
)

// ClientConfig configures Client.
type ClientConfig struct {
	// Digest sends a digest C1 (Flash Player 9+ style) instead of a plain one.
	Digest bool
	// Schema places the C1 digest; Schema1 (FFmpeg, Flash Player 9) when
	// SchemaNone.
	Schema Schema
	// PlayerVersion is C1's version field in digest mode; 9.0.124.2 when
	// zero.
	PlayerVersion [4]byte
}

// ServerInfo describes the server's side of a completed client handshake.
type ServerInfo struct {
	// Digest is true when the server answered with a verified digest S1 and
	// signature S2.
	Digest bool
	// Schema is where the server's S1 digest was found.
	Schema Schema
	// ServerVersion is S1's version field.
	ServerVersion [4]byte
}

// Client performs the client side of the handshake, verifying the server the
// way librtmp does: in digest mode a server that answers with a non-zero
// version must carry a valid S1 digest (either schema) and a valid S2
// signature; a zero version means the server chose the plain handshake, and
// its S2 must then echo C1. It is meant for tests and tools.
func Client(r io.Reader, w io.Writer, cfg ClientConfig) (ServerInfo, error) {
	var info ServerInfo
	out := make([]byte, 1+PacketSize)
	out[0] = Version
	c1 := out[1:]
	if _, err := rand.Read(c1[8:]); err != nil {
		return info, fmt.Errorf("handshake: random: %w", err)
	}
	var c1Digest []byte
	if cfg.Digest {
		if cfg.Schema == SchemaNone {
			cfg.Schema = Schema1
		}
		if cfg.PlayerVersion == [4]byte{} {
			cfg.PlayerVersion = [4]byte{9, 0, 124, 2}
		}
		copy(c1[4:8], cfg.PlayerVersion[:])
		off := digestOffset(c1, cfg.Schema)
		copy(c1[off:], digest(c1, off, playerKey[:playerKeyTextLen]))
		c1Digest = c1[off : off+digestLen]
	}
	if _, err := w.Write(out); err != nil {
		return info, fmt.Errorf("handshake: writing C0C1: %w", err)
	}

	in := make([]byte, 1+PacketSize)
	if _, err := io.ReadFull(r, in); err != nil {
		return info, fmt.Errorf("handshake: reading S0S1: %w", unexpected(err))
	}
	if in[0] != Version {
		return info, fmt.Errorf("%w: server selected %d", ErrUnsupportedVersion, in[0])
	}
	s1 := in[1:]
	copy(info.ServerVersion[:], s1[4:8])

	c2 := make([]byte, PacketSize)
	if cfg.Digest && s1[4] != 0 {
		info.Schema = findDigest(s1, serverKey[:serverKeyTextLen])
		if info.Schema == SchemaNone {
			return info, ErrBadServerDigest
		}
		info.Digest = true
		off := digestOffset(s1, info.Schema)
		if _, err := rand.Read(c2[:PacketSize-digestLen]); err != nil {
			return info, fmt.Errorf("handshake: random: %w", err)
		}
		copy(c2[PacketSize-digestLen:], signature(c2, playerKey, s1[off:off+digestLen]))
	} else {
		// RTMP spec 5.2.4: C2 echoes S1.
		copy(c2, s1)
		binary.BigEndian.PutUint32(c2[4:8], 0)
	}
	if _, err := w.Write(c2); err != nil {
		return info, fmt.Errorf("handshake: writing C2: %w", err)
	}

	s2 := make([]byte, PacketSize)
	if _, err := io.ReadFull(r, s2); err != nil {
		return info, fmt.Errorf("handshake: reading S2: %w", unexpected(err))
	}
	if info.Digest {
		if !hmac.Equal(signature(s2, serverKey, c1Digest), s2[PacketSize-digestLen:]) {
			return info, ErrBadServerSignature
		}
		return info, nil
	}
	// RTMP spec 5.2.4: "Random echo: This field MUST contain the random data
	// field sent by the peer in S1 (for C2) or S2 (for C1)."
	if !hmac.Equal(s2[8:], c1[8:]) {
		return info, ErrBadEcho
	}
	return info, nil
}
