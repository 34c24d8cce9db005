package handshake

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// Handshake constants.
const (
	// Version is the RTMP version in C0/S0. RTMP spec 5.2.2: "In C0, this
	// field identifies the RTMP version requested by the client. In S0, this
	// field identifies the RTMP version selected by the server. The version
	// defined by this specification is 3."
	Version = 3
	// PacketSize is the size of C1, S1, C2 and S2 (RTMP spec 5.2.3: "The C1
	// and S1 packets are 1536 octets long").
	PacketSize = 1536
	// digestLen is the size of an HMAC-SHA256 digest.
	digestLen = sha256.Size
)

// The digest handshake keys. Each is a 30/36-byte ASCII text followed by the
// same 32 constant bytes; the text part alone keys the C1/S1 digests and the
// full key derives the C2/S2 signatures.
var (
	randomKeyTail = []byte{
		0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
		0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
	}
	// playerKey is the "Genuine FP" key; playerKey[:30] keys C1's digest.
	playerKey = append([]byte("Genuine Adobe Flash Player 001"), randomKeyTail...)
	// serverKey is the "Genuine FMS" key; serverKey[:36] keys S1's digest.
	serverKey = append([]byte("Genuine Adobe Flash Media Server 001"), randomKeyTail...)
)

const (
	playerKeyTextLen = 30
	serverKeyTextLen = 36
)

// serverVersion is what S1 announces in its version field in digest mode. It
// must be non-zero: librtmp falls back to the plain handshake when the first
// byte is 0.
var serverVersion = [4]byte{4, 5, 0, 1}

// Schema says where the digest sits in a digest-handshake C1 or S1. The
// 1528 bytes after time and version hold two 764-byte blocks, a "key" block
// and a "digest" block; the digest block starts with 4 bytes whose sum
// (mod 728) gives the digest's position within the block.
type Schema uint8

// Digest schemas.
const (
	// SchemaNone is the plain handshake: no digest.
	SchemaNone Schema = iota
	// Schema0 puts the key block first and the digest block at bytes
	// 772-1535: digest at 776 + (C1[772]+C1[773]+C1[774]+C1[775]) % 728.
	// Flash Player 10 and librtmp built with FP10 use it.
	Schema0
	// Schema1 puts the digest block first at bytes 8-771: digest at
	// 12 + (C1[8]+C1[9]+C1[10]+C1[11]) % 728. Flash Player 9 and FFmpeg use
	// it.
	Schema1
)

func (s Schema) String() string {
	switch s {
	case SchemaNone:
		return "none"
	case Schema0:
		return "schema0"
	case Schema1:
		return "schema1"
	}
	return fmt.Sprintf("schema(%d)", uint8(s))
}

// digestOffset returns the position of the digest in p for schema s.
func digestOffset(p []byte, s Schema) int {
	base := 8 // Schema1
	if s == Schema0 {
		base = 772
	}
	sum := int(p[base]) + int(p[base+1]) + int(p[base+2]) + int(p[base+3])
	return base + 4 + sum%728
}

// digest computes the HMAC-SHA256 of p without the 32 bytes at off.
func digest(p []byte, off int, key []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(p[:off])
	h.Write(p[off+digestLen:])
	return h.Sum(nil)
}

// findDigest returns the schema under which p carries a valid digest keyed
// with key, or SchemaNone.
func findDigest(p, key []byte) Schema {
	for _, s := range []Schema{Schema1, Schema0} {
		off := digestOffset(p, s)
		if hmac.Equal(digest(p, off, key), p[off:off+digestLen]) {
			return s
		}
	}
	return SchemaNone
}

// signature computes the C2/S2 signature: the last 32 bytes of the packet,
// an HMAC-SHA256 of the first 1504 bytes keyed with HMAC-SHA256(fullKey,
// peerDigest).
func signature(p, fullKey, peerDigest []byte) []byte {
	k := hmac.New(sha256.New, fullKey)
	k.Write(peerDigest)
	h := hmac.New(sha256.New, k.Sum(nil))
	h.Write(p[:PacketSize-digestLen])
	return h.Sum(nil)
}

// Info describes a completed server-side handshake.
type Info struct {
	// Digest is true when the client sent a valid C1 digest and was answered
	// with the digest handshake.
	Digest bool
	// Schema is the digest schema used (SchemaNone for plain).
	Schema Schema
	// RequestedVersion is C0's version byte.
	RequestedVersion byte
	// ClientTime is C1's time field.
	ClientTime uint32
	// ClientVersion is C1's version field: zero for plain clients, the
	// Flash Player version (e.g. 9.0.124.2) for digest clients.
	ClientVersion [4]byte
}

// Server performs the server side of the handshake: it reads C0 and C1,
// writes S0, S1 and S2 in one write, and reads C2. r should be the buffered
// reader that will later read chunks, since clients may send their first
// command right behind C2.
//
// A C1 with a non-zero version and a valid digest at either schema's
// position gets the digest answer; anything else gets the plain answer (S2
// echoes C1).
func Server(r io.Reader, w io.Writer) (Info, error) {
	var info Info
	in := make([]byte, 1+PacketSize)
	if _, err := io.ReadFull(r, in[:1]); err != nil {
		return info, fmt.Errorf("handshake: reading C0: %w", err)
	}
	info.RequestedVersion = in[0]
	switch v := in[0]; {
	case v == Version:
	case v == 6 || v == 8 || v == 9:
		return info, fmt.Errorf("%w: %d (RTMPE is not supported)", ErrUnsupportedVersion, v)
	case v >= 32:
		// RTMP spec 5.2.2: "Values 32-255 are not allowed (to allow
		// distinguishing RTMP from text-based protocols, which always start
		// with a printable character)."
		return info, fmt.Errorf("%w: %d (not RTMP)", ErrUnsupportedVersion, v)
	default:
		// RTMP spec 5.2.2: "A server that does not recognize the client's
		// requested version SHOULD respond with 3."
	}
	c1 := in[1:]
	if _, err := io.ReadFull(r, c1); err != nil {
		return info, fmt.Errorf("handshake: reading C1: %w", unexpected(err))
	}
	info.ClientTime = binary.BigEndian.Uint32(c1[0:4])
	copy(info.ClientVersion[:], c1[4:8])

	if info.ClientVersion != [4]byte{} {
		info.Schema = findDigest(c1, playerKey[:playerKeyTextLen])
		info.Digest = info.Schema != SchemaNone
	}

	out := make([]byte, 1+2*PacketSize)
	out[0] = Version
	s1, s2 := out[1:1+PacketSize], out[1+PacketSize:]
	// RTMP spec 5.2.3: S1 is time (4 bytes, "may be 0"), zero (4 bytes) and
	// 1528 random bytes.
	if _, err := rand.Read(s1[8:]); err != nil {
		return info, fmt.Errorf("handshake: random: %w", err)
	}
	if info.Digest {
		copy(s1[4:8], serverVersion[:])
		off := digestOffset(s1, info.Schema)
		copy(s1[off:], digest(s1, off, serverKey[:serverKeyTextLen]))

		coff := digestOffset(c1, info.Schema)
		if _, err := rand.Read(s2[:PacketSize-digestLen]); err != nil {
			return info, fmt.Errorf("handshake: random: %w", err)
		}
		copy(s2[PacketSize-digestLen:], signature(s2, serverKey, c1[coff:coff+digestLen]))
	} else {
		// RTMP spec 5.2.4: S2 echoes C1's time and random data. We echo C1
		// whole, time2 included, because librtmp compares all 1536 bytes.
		copy(s2, c1)
	}
	if _, err := w.Write(out); err != nil {
		return info, fmt.Errorf("handshake: writing S0S1S2: %w", err)
	}
	// C2 is not verified: clients differ too much in what they put there.
	if _, err := io.ReadFull(r, in[:PacketSize]); err != nil {
		return info, fmt.Errorf("handshake: reading C2: %w", unexpected(err))
	}
	return info, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
