package flv

import (
	"encoding/binary"
	"fmt"
)

// E-RTMP v2 VideoPacketType (ExVideoTagHeader, the low nibble of the
// first byte when IsExHeader is set).
const (
	videoPacketSequenceStart        = 0
	videoPacketCodedFrames          = 1
	videoPacketSequenceEnd          = 2
	videoPacketCodedFramesX         = 3 // "CompositionTime Offset is implicitly set to zero"
	videoPacketMetadata             = 4
	videoPacketMPEG2TSSequenceStart = 5
	videoPacketMultitrack           = 6
	videoPacketModEx                = 7
)

// E-RTMP v2 AudioPacketType (ExAudioTagHeader).
const (
	audioPacketSequenceStart      = 0
	audioPacketCodedFrames        = 1
	audioPacketSequenceEnd        = 2
	audioPacketMultichannelConfig = 4
	audioPacketMultitrack         = 5
	audioPacketModEx              = 7
)

// E-RTMP v2 AvMultitrackType.
const (
	multitrackOneTrack             = 0
	multitrackManyTracks           = 1
	multitrackManyTracksManyCodecs = 2
)

// E-RTMP v2 VideoPacketModExType / AudioPacketModExType.
const modExTimestampOffsetNano = 0

// FourCC is an E-RTMP codec FourCC: "a FOURCC value is big-endian relative
// to the underlying ASCII character sequence (e.g., "av01" == 0x61763031)".
type FourCC uint32

// MakeFourCC returns the FourCC of a four-character code.
func MakeFourCC(s string) FourCC {
	if len(s) != 4 {
		return 0
	}
	return FourCC(binary.BigEndian.Uint32([]byte(s)))
}

func (f FourCC) String() string {
	b := [4]byte{byte(f >> 24), byte(f >> 16), byte(f >> 8), byte(f)}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%#08x", uint32(f))
		}
	}
	return string(b[:])
}

// E-RTMP v2 VideoFourCc and AudioFourCc values.
var (
	FourCCAVC  = MakeFourCC("avc1")
	FourCCHEVC = MakeFourCC("hvc1")
	FourCCAV1  = MakeFourCC("av01")
	FourCCVP9  = MakeFourCC("vp09")
	FourCCVP8  = MakeFourCC("vp08")
	FourCCAAC  = MakeFourCC("mp4a")
	FourCCOpus = MakeFourCC("Opus")
	FourCCFLAC = MakeFourCC("fLaC")
	FourCCAC3  = MakeFourCC("ac-3")
	FourCCEAC3 = MakeFourCC("ec-3")
	FourCCMP3  = MakeFourCC(".mp3")
)

// exHeader is the parsed ExVideoTagHeader or ExAudioTagHeader of one
// message, before the track loop of its body.
type exHeader struct {
	// frameType is the VideoFrameType (video only).
	frameType byte
	// packetType is the packet type of every track of the message (after
	// the ModEx prefixes and the multitrack indirection).
	packetType byte
	// nano is the TimestampOffsetNano of the message, 0 without one.
	nano uint32
	// command is set for a video command frame: videoCommand is its UI8
	// and there is no body.
	command      bool
	videoCommand byte
	// multitrack and multitrackType describe the track loop.
	multitrack     bool
	multitrackType byte
	// fourCC is the codec of every track (all but ManyTracksManyCodecs).
	fourCC FourCC
	// unknownModEx counts ModEx prefixes of types this parser does not
	// know (skipped).
	unknownModEx int
	// body is the rest of the message: the track loop.
	body []byte
}

// parseExVideoHeader parses an ExVideoTagHeader (E-RTMP v2 "Enhanced
// Video"): isExVideoHeader UB[1], videoFrameType UB[3], videoPacketType
// UB[4], the ModEx prefixes, then a command byte, or the multitrack type
// and packet type, and the FourCC.
func parseExVideoHeader(b []byte) (exHeader, error) {
	var h exHeader
	if len(b) == 0 {
		return h, fmt.Errorf("%w: empty video message", ErrTruncated)
	}
	h.frameType = (b[0] >> 4) & 0x07
	h.packetType = b[0] & 0x0f
	p, err := h.modEx(b, 1, videoPacketModEx)
	if err != nil {
		return h, err
	}
	// E-RTMP v2: "if (videoPacketType != VideoPacketType.Metadata &&
	// videoFrameType == VideoFrameType.Command) { videoCommand = UI8 ...
	// ExVideoTagBody has no payload if we got here."
	if h.packetType != videoPacketMetadata && h.frameType == frameTypeCommand {
		if p >= len(b) {
			return h, fmt.Errorf("%w: video command frame without command", ErrTruncated)
		}
		h.command, h.videoCommand = true, b[p]
		return h, nil
	}
	return h, h.tracks(b, p, videoPacketMultitrack, videoPacketModEx)
}

// parseExAudioHeader parses an ExAudioTagHeader (E-RTMP v2 "Enhanced
// Audio"): soundFormat UB[4] (9), audioPacketType UB[4], the ModEx
// prefixes, then the multitrack type and packet type, and the FourCC.
func parseExAudioHeader(b []byte) (exHeader, error) {
	var h exHeader
	if len(b) == 0 {
		return h, fmt.Errorf("%w: empty audio message", ErrTruncated)
	}
	h.packetType = b[0] & 0x0f
	p, err := h.modEx(b, 1, audioPacketModEx)
	if err != nil {
		return h, err
	}
	return h, h.tracks(b, p, audioPacketMultitrack, audioPacketModEx)
}

// modEx consumes the ModEx prefixes starting at p. E-RTMP v2: "while
// (videoPacketType == VideoPacketType.ModEx) { modExDataSize = UI8 + 1;
// if (modExDataSize == 256) { modExDataSize = UI16 + 1 }; modExData =
// UI8[modExDataSize]; videoPacketModExType = UB[4]; videoPacketType =
// UB[4] }".
func (h *exHeader) modEx(b []byte, p int, modExType byte) (int, error) {
	for h.packetType == modExType {
		if p >= len(b) {
			return p, fmt.Errorf("%w: ModEx without size", ErrTruncated)
		}
		size := int(b[p]) + 1
		p++
		if size == 256 {
			if len(b)-p < 2 {
				return p, fmt.Errorf("%w: ModEx without 16-bit size", ErrTruncated)
			}
			size = int(binary.BigEndian.Uint16(b[p:])) + 1
			p += 2
		}
		// The data, then the byte of ModEx type and next packet type.
		if len(b)-p < size+1 {
			return p, fmt.Errorf("%w: ModEx of %d bytes, %d left", ErrTruncated, size, len(b)-p)
		}
		data := b[p : p+size]
		p += size
		typ := b[p] >> 4
		h.packetType = b[p] & 0x0f
		p++
		switch typ {
		case modExTimestampOffsetNano:
			// E-RTMP v2: "audioTimestampNanoOffset = bytesToUI24(modExData)
			// ... modExData must be at least 3 bytes".
			if len(data) < 3 {
				return p, fmt.Errorf("%w: TimestampOffsetNano of %d bytes", ErrModEx, len(data))
			}
			h.nano = uint32(data[0])<<16 | uint32(data[1])<<8 | uint32(data[2])
		default:
			// E-RTMP v2: unrecognised values "fail gracefully": the
			// prefix is self-delimited, so it is skipped.
			h.unknownModEx++
		}
	}
	return p, nil
}

// tracks reads what follows the ModEx prefixes: the multitrack type and
// inner packet type when the packet type is Multitrack, and the FourCC
// unless every track names its own.
func (h *exHeader) tracks(b []byte, p int, multitrackType, modExType byte) error {
	if h.packetType == multitrackType {
		if p >= len(b) {
			return fmt.Errorf("%w: multitrack without type", ErrTruncated)
		}
		h.multitrack = true
		h.multitrackType, h.packetType = b[p]>>4, b[p]&0x0f
		p++
		// E-RTMP v2: "This fetch MUST not result in a ...Multitrack".
		if h.packetType == multitrackType || h.packetType == modExType {
			return fmt.Errorf("%w: packet type %d inside a multitrack message", ErrPacketType, h.packetType)
		}
		if h.multitrackType > multitrackManyTracksManyCodecs {
			return fmt.Errorf("%w: reserved AvMultitrackType %d", ErrPacketType, h.multitrackType)
		}
		if h.multitrackType == multitrackManyTracksManyCodecs {
			h.body = b[p:]
			return nil
		}
	}
	if len(b)-p < 4 {
		return fmt.Errorf("%w: FourCC of %d bytes", ErrTruncated, len(b)-p)
	}
	h.fourCC = FourCC(binary.BigEndian.Uint32(b[p:]))
	h.body = b[p+4:]
	return nil
}

// trackBody is one track's share of a message.
type trackBody struct {
	fourCC FourCC
	id     int
	body   []byte
}

// nextTrack returns the next track of a multitrack message body (rest,
// initially h.body, not empty) and what remains after it.
//
// E-RTMP v2: "if (isVideoMultitrack) { if (... ManyTracksManyCodecs)
// videoFourCc = FOURCC; videoTrackId = UI8; if (... != OneTrack)
// sizeOfVideoTrack = UI24 }"; "the bitstream MUST be processed completely".
func (h *exHeader) nextTrack(rest []byte) (trackBody, []byte, error) {
	t := trackBody{fourCC: h.fourCC}
	p := 0
	if h.multitrackType == multitrackManyTracksManyCodecs {
		if len(rest) < 4 {
			return t, nil, fmt.Errorf("%w: track FourCC of %d bytes", ErrTruncated, len(rest))
		}
		t.fourCC = FourCC(binary.BigEndian.Uint32(rest))
		p = 4
	}
	if p >= len(rest) {
		return t, nil, fmt.Errorf("%w: track without id", ErrTruncated)
	}
	t.id = int(rest[p])
	p++
	if h.multitrackType == multitrackOneTrack {
		t.body = rest[p:]
		return t, nil, nil
	}
	if len(rest)-p < 3 {
		return t, nil, fmt.Errorf("%w: track %d without size", ErrTruncated, t.id)
	}
	size := int(rest[p])<<16 | int(rest[p+1])<<8 | int(rest[p+2])
	p += 3
	if size > len(rest)-p {
		return t, nil, fmt.Errorf("%w: track %d of %d bytes, %d left", ErrTruncated, t.id, size, len(rest)-p)
	}
	return trackBody{fourCC: t.fourCC, id: t.id, body: rest[p : p+size : p+size]}, rest[p+size:], nil
}
