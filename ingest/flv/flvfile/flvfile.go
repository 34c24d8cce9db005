// Package flvfile reads .flv files (Adobe FLV specification v10.1 annex E):
// the file header and the sequence of audio, video and script data tags.
//
// It exists for tests and tools that replay a recorded publication through
// the ingest pipeline (a tag body is exactly an RTMP media message body),
// so it favours simplicity over speed; it still treats the file as
// untrusted and bounds what it reads.
package flvfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// TagType is an FLV tag type (FLV spec E.4.1).
type TagType uint8

// Tag types. They equal the RTMP message type ids of the same payloads.
const (
	TagAudio  TagType = 8
	TagVideo  TagType = 9
	TagScript TagType = 18
)

func (t TagType) String() string {
	switch t {
	case TagAudio:
		return "audio"
	case TagVideo:
		return "video"
	case TagScript:
		return "script"
	}
	return fmt.Sprintf("tag(%d)", uint8(t))
}

// Header is the FLV file header (FLV spec E.2).
type Header struct {
	Version  uint8
	HasAudio bool
	HasVideo bool
}

// Tag is one FLV tag.
type Tag struct {
	Type TagType
	// Timestamp is the tag time in milliseconds: the 24-bit Timestamp
	// extended by the TimestampExtended byte as its upper 8 bits.
	Timestamp uint32
	// Data is the tag body (an RTMP message body for audio and video).
	Data []byte
}

// Errors of the reader.
var (
	// ErrNotFLV: the file does not start with an FLV header.
	ErrNotFLV = errors.New("flvfile: not an FLV file")
	// ErrEncrypted: the tag has the Filter bit set (encrypted content).
	ErrEncrypted = errors.New("flvfile: encrypted tag")
)

const (
	fileHeaderSize = 9
	tagHeaderSize  = 11
	// maxDataOffset bounds the header's DataOffset (normally 9).
	maxDataOffset = 1 << 16
)

// Reader reads the tags of an FLV file in order.
type Reader struct {
	r      io.Reader
	header Header
	hdr    [tagHeaderSize]byte
	buf    []byte
}

// NewReader reads the FLV header and the first PreviousTagSize from r.
func NewReader(r io.Reader) (*Reader, error) {
	var h [fileHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrNotFLV, err)
	}
	if h[0] != 'F' || h[1] != 'L' || h[2] != 'V' {
		return nil, fmt.Errorf("%w: signature %q", ErrNotFLV, h[:3])
	}
	off := binary.BigEndian.Uint32(h[5:])
	if off < fileHeaderSize || off > maxDataOffset {
		return nil, fmt.Errorf("%w: DataOffset %d", ErrNotFLV, off)
	}
	// Skip any header extension, then PreviousTagSize0.
	if _, err := io.CopyN(io.Discard, r, int64(off-fileHeaderSize)+4); err != nil {
		return nil, fmt.Errorf("flvfile: header: %w", err)
	}
	return &Reader{r: r, header: Header{
		Version:  h[3],
		HasAudio: h[4]&0x04 != 0,
		HasVideo: h[4]&0x01 != 0,
	}}, nil
}

// Header returns the file header.
func (r *Reader) Header() Header { return r.header }

// Next returns the next tag. Its Data is valid until the following call.
// At the end of the file it returns io.EOF; a file cut inside a tag gives
// io.ErrUnexpectedEOF.
func (r *Reader) Next() (Tag, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Tag{}, io.EOF
		}
		return Tag{}, fmt.Errorf("flvfile: tag header: %w", err)
	}
	h := r.hdr[:]
	if h[0]&0x20 != 0 {
		return Tag{}, ErrEncrypted
	}
	t := Tag{
		Type:      TagType(h[0] & 0x1f),
		Timestamp: uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6]) | uint32(h[7])<<24,
	}
	size := int(h[1])<<16 | int(h[2])<<8 | int(h[3]) // UI24: at most 16 MiB
	if cap(r.buf) < size+4 {
		r.buf = make([]byte, size+4)
	}
	b := r.buf[:size+4]
	if _, err := io.ReadFull(r.r, b); err != nil {
		// The last PreviousTagSize may be missing in a truncated file.
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Tag{}, fmt.Errorf("flvfile: %v tag body: %w", t.Type, io.ErrUnexpectedEOF)
		}
		return Tag{}, fmt.Errorf("flvfile: %v tag body: %w", t.Type, err)
	}
	t.Data = b[:size:size]
	return t, nil
}

// ReadAll reads every remaining tag of r, copying their data.
func ReadAll(r io.Reader) (Header, []Tag, error) {
	fr, err := NewReader(r)
	if err != nil {
		return Header{}, nil, err
	}
	var tags []Tag
	for {
		t, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return fr.Header(), tags, nil
		}
		if err != nil {
			return fr.Header(), tags, err
		}
		t.Data = append([]byte(nil), t.Data...)
		tags = append(tags, t)
	}
}
