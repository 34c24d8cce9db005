package chunk

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Reader defaults.
const (
	// DefaultMaxMessageSize bounds the length of one message (8 MiB, enough
	// for any sane key frame).
	DefaultMaxMessageSize = 8 << 20
	// DefaultMaxChunkStreams bounds the number of chunk streams a peer may
	// use on one connection. Encoders use a handful (2 for control, 3-8 for
	// commands and media).
	DefaultMaxChunkStreams = 64
	// DefaultReadBufferSize is the size of the Reader's bufio.Reader.
	DefaultReadBufferSize = 64 << 10
)

// lowChunkStreams is the number of chunk stream ids kept in an array
// instead of a map: all ids of the 1-byte basic header form.
const lowChunkStreams = 64

// minGrow is the smallest reassembly buffer allocated for a message.
const minGrow = 4096

// ReaderConfig configures a Reader. Zero fields take their defaults.
type ReaderConfig struct {
	// MaxMessageSize is the largest message length accepted, checked against
	// the chunk header before anything is allocated. Default
	// DefaultMaxMessageSize; at most 0xFFFFFF, the largest length a header
	// can carry.
	MaxMessageSize int
	// MaxChunkStreams is the number of distinct chunk stream ids the peer
	// may use. Default DefaultMaxChunkStreams.
	MaxChunkStreams int
	// MaxBufferedBytes bounds the reassembly buffers of all chunk streams
	// together. When growing a buffer would pass it, the buffers of idle
	// chunk streams are released first. Default 2 × MaxMessageSize; never
	// less than MaxMessageSize.
	MaxBufferedBytes int
	// BufferSize is the size of the bufio.Reader wrapped around the source.
	// Default DefaultReadBufferSize.
	BufferSize int
}

// inStream is the state of one incoming chunk stream.
type inStream struct {
	id uint32
	// Header fields of the current (or last) message.
	typ       MessageType
	streamID  uint32
	length    uint32
	timestamp uint32
	// delta is what a type 3 chunk starting a new message adds to timestamp.
	delta uint32
	// extended is true when the last type 0/1/2 header used an Extended
	// Timestamp; extField is that field's value.
	extended bool
	extField uint32
	// buf holds the message being reassembled; len(buf) == cap(buf).
	buf    []byte
	filled uint32
}

// extRepeat says whether the peer repeats the Extended Timestamp field on
// type 3 chunks. It is detected on the first type 3 chunk that needs it.
type extRepeat uint8

const (
	extUnknown extRepeat = iota
	extRepeated
	extOmitted
)

// Reader reassembles RTMP messages from a chunk stream. It is not safe for
// concurrent use. After ReadMessage returns an error, the Reader is unusable
// and returns that error again.
type Reader struct {
	br        *bufio.Reader
	chunkSize uint32
	maxMsg    uint32
	maxStr    int
	maxBuf    int

	low   [lowChunkStreams]*inStream
	high  map[uint32]*inStream
	count int

	buffered int    // sum of cap(buf) over chunk streams
	bytes    uint64 // bytes consumed from the chunk stream
	ext      extRepeat
	err      error
}

// NewReader returns a Reader reading chunks from r. If r is a *bufio.Reader
// of at least cfg.BufferSize bytes it is used as is, so bytes buffered while
// reading the handshake are not lost.
func NewReader(r io.Reader, cfg ReaderConfig) *Reader {
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	cfg.MaxMessageSize = min(cfg.MaxMessageSize, maxLength)
	if cfg.MaxChunkStreams <= 0 {
		cfg.MaxChunkStreams = DefaultMaxChunkStreams
	}
	if cfg.MaxBufferedBytes <= 0 {
		cfg.MaxBufferedBytes = 2 * cfg.MaxMessageSize
	}
	cfg.MaxBufferedBytes = max(cfg.MaxBufferedBytes, cfg.MaxMessageSize)
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultReadBufferSize
	}
	return &Reader{
		br:        bufio.NewReaderSize(r, cfg.BufferSize),
		chunkSize: DefaultChunkSize,
		maxMsg:    uint32(cfg.MaxMessageSize),
		maxStr:    cfg.MaxChunkStreams,
		maxBuf:    cfg.MaxBufferedBytes,
	}
}

// ChunkSize returns the peer's current chunk size.
func (r *Reader) ChunkSize() uint32 { return r.chunkSize }

// BytesRead returns the number of bytes consumed from the chunk stream so
// far: the count that Acknowledgement messages report (RTMP spec 5.4.3).
func (r *Reader) BytesRead() uint64 { return r.bytes }

// ReadMessage reads chunks until a message is complete and returns it. Set
// Chunk Size and Abort messages are applied and not returned. The returned
// Payload is borrowed: it is valid until the next call to ReadMessage.
//
// io.EOF is returned only when the source ends cleanly between messages;
// an end inside a message gives io.ErrUnexpectedEOF.
func (r *Reader) ReadMessage() (Message, error) {
	if r.err != nil {
		return Message{}, r.err
	}
	for {
		s, err := r.readChunk()
		if err != nil {
			r.err = err
			return Message{}, err
		}
		if s == nil {
			continue // message not complete yet
		}
		m := Message{
			ChunkStreamID: s.id,
			Type:          s.typ,
			StreamID:      s.streamID,
			Timestamp:     s.timestamp,
			Payload:       s.buf[:s.length:s.length],
		}
		s.filled = 0
		switch m.Type {
		case TypeSetChunkSize:
			if err := r.setChunkSize(m.Payload); err != nil {
				r.err = err
				return Message{}, err
			}
			continue
		case TypeAbort:
			if err := r.abort(m.Payload); err != nil {
				r.err = err
				return Message{}, err
			}
			continue
		}
		return m, nil
	}
}

// setChunkSize applies a Set Chunk Size message.
func (r *Reader) setChunkSize(p []byte) error {
	if len(p) < 4 {
		return fmt.Errorf("%w: Set Chunk Size of %d bytes", ErrShortControlMessage, len(p))
	}
	n := binary.BigEndian.Uint32(p)
	// RTMP spec 5.4.1: "The first bit MUST be zero" and "Valid sizes are 1 to
	// 2147483647 (0x7FFFFFFF) bytes".
	if n == 0 || n > MaxChunkSize {
		return fmt.Errorf("%w: %d (valid: 1..%d)", ErrInvalidChunkSize, n, MaxChunkSize)
	}
	r.chunkSize = n
	return nil
}

// abort applies an Abort message. RTMP spec 5.4.2: "The receiver discards the
// partially received message over a chunk stream".
func (r *Reader) abort(p []byte) error {
	if len(p) < 4 {
		return fmt.Errorf("%w: Abort of %d bytes", ErrShortControlMessage, len(p))
	}
	if s := r.stream(binary.BigEndian.Uint32(p)); s != nil {
		s.filled = 0
	}
	return nil
}

// stream returns the state of chunk stream id, or nil.
func (r *Reader) stream(id uint32) *inStream {
	if id < lowChunkStreams {
		return r.low[id]
	}
	return r.high[id]
}

// newStream creates the state of chunk stream id.
func (r *Reader) newStream(id uint32) (*inStream, error) {
	if r.count >= r.maxStr {
		return nil, fmt.Errorf("%w: chunk stream %d would be number %d (limit %d)",
			ErrTooManyChunkStreams, id, r.count+1, r.maxStr)
	}
	s := &inStream{id: id}
	if id < lowChunkStreams {
		r.low[id] = s
	} else {
		if r.high == nil {
			r.high = make(map[uint32]*inStream)
		}
		r.high[id] = s
	}
	r.count++
	return s, nil
}

// header lengths of the message header per chunk type (RTMP spec 5.3.1.2).
var headerLen = [4]int{11, 7, 3, 0}

// readChunk reads one chunk. It returns the chunk stream when the chunk
// completed a message, nil otherwise.
func (r *Reader) readChunk() (*inStream, error) {
	// RTMP spec 5.3.1.1 Chunk Basic Header.
	b0, err := r.br.ReadByte()
	if err != nil {
		if err == io.EOF && !r.partial() {
			return nil, io.EOF
		}
		return nil, unexpectedEOF(err, "basic header")
	}
	format := b0 >> 6
	id := uint32(b0 & 0x3f)
	n := 1
	switch id {
	case 0: // 2-byte form: ID = second byte + 64
		b1, err := r.br.ReadByte()
		if err != nil {
			return nil, unexpectedEOF(err, "basic header")
		}
		id = 64 + uint32(b1)
		n = 2
	case 1: // 3-byte form: ID = third byte * 256 + second byte + 64
		p, err := r.br.Peek(2)
		if err != nil {
			return nil, unexpectedEOF(err, "basic header")
		}
		id = 64 + uint32(p[0]) + uint32(p[1])<<8
		_, _ = r.br.Discard(2)
		n = 3
	}

	s := r.stream(id)
	if s == nil {
		// RTMP spec 5.3.1.2.1: type 0 "MUST be used at the start of a chunk
		// stream". Like librtmp and FFmpeg we also accept type 1 (it carries
		// length and type) with a zero message stream id and timestamp base;
		// types 2 and 3 leave the length unknown.
		if format >= 2 {
			return nil, fmt.Errorf("%w: type %d chunk on new chunk stream %d", ErrNoPreviousHeader, format, id)
		}
		if s, err = r.newStream(id); err != nil {
			return nil, err
		}
	}

	if format <= 2 {
		if s.filled > 0 {
			return nil, fmt.Errorf("%w: type %d chunk on chunk stream %d after %d of %d bytes",
				ErrInterruptedMessage, format, id, s.filled, s.length)
		}
		hl := headerLen[format]
		p, err := r.br.Peek(hl)
		if err != nil {
			return nil, unexpectedEOF(err, "message header")
		}
		field := uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
		var length uint32
		if format <= 1 {
			length = uint32(p[3])<<16 | uint32(p[4])<<8 | uint32(p[5])
			s.typ = MessageType(p[6])
		}
		if format == 0 {
			// RTMP spec 5.3.1.2.1: the message stream id is little-endian.
			s.streamID = binary.LittleEndian.Uint32(p[7:11])
		}
		_, _ = r.br.Discard(hl)
		n += hl
		// RTMP spec 5.3.1.3: "This field is present in Type 0, 1, or 2
		// chunks when the encoded timestamp or timestamp delta field in the
		// Type 0, 1, or 2 chunk, respectively, would exceed 16777215", and
		// the 3-byte field is then 16777215.
		s.extended = field == extendedTimestamp
		if s.extended {
			p, err := r.br.Peek(4)
			if err != nil {
				return nil, unexpectedEOF(err, "extended timestamp")
			}
			field = binary.BigEndian.Uint32(p)
			_, _ = r.br.Discard(4)
			n += 4
			s.extField = field
		}
		if format == 0 {
			// RTMP spec 5.3.1.2.1: "the absolute timestamp of the message".
			s.timestamp = field
			// RTMP spec 5.3.1.2.4: "If a Type 3 chunk follows a Type 0
			// chunk, then the timestamp delta for this Type 3 chunk is the
			// same as the timestamp of Type 0 chunk."
			s.delta = field
		} else {
			// RTMP spec 5.3.1.2.2: "The message stream ID is not included;
			// this chunk has the same stream ID as the preceding chunk."
			// Deltas accumulate with uint32 wrapping arithmetic.
			s.delta = field
			s.timestamp += field
		}
		if format <= 1 {
			if length > r.maxMsg {
				return nil, fmt.Errorf("%w: %d bytes on chunk stream %d (limit %d)",
					ErrMessageTooLarge, length, id, r.maxMsg)
			}
			s.length = length
		}
	} else {
		// Type 3: no message header. RTMP spec 5.3.1.3 (Extended Timestamp):
		// type 3 chunks carry the Extended Timestamp field again when the
		// preceding type 0/1/2 chunk of the stream had one. Some encoders do
		// not repeat it; the first such chunk decides for the connection by
		// comparing the next 4 bytes with the value announced.
		if s.extended && r.ext != extOmitted {
			p, err := r.br.Peek(4)
			if err != nil {
				return nil, unexpectedEOF(err, "extended timestamp")
			}
			if r.ext == extUnknown {
				if binary.BigEndian.Uint32(p) == s.extField {
					r.ext = extRepeated
				} else {
					r.ext = extOmitted
				}
			}
			if r.ext == extRepeated {
				_, _ = r.br.Discard(4)
				n += 4
			}
		}
		if s.filled == 0 {
			// A type 3 chunk starting a new message repeats the previous
			// delta (RTMP spec 5.3.1.2.4).
			s.timestamp += s.delta
		}
	}

	// Chunk Data: at most one chunk size of the remaining message.
	size := min(s.length-s.filled, r.chunkSize)
	if size > 0 {
		end := s.filled + size
		if uint32(len(s.buf)) < end {
			if err := r.grow(s, end); err != nil {
				return nil, err
			}
		}
		if _, err := io.ReadFull(r.br, s.buf[s.filled:end]); err != nil {
			return nil, unexpectedEOF(err, "chunk data")
		}
		s.filled = end
	}
	r.bytes += uint64(n) + uint64(size)
	if s.filled < s.length {
		return nil, nil
	}
	return s, nil
}

// grow makes s.buf at least need bytes long, doubling from what has been
// received so that a peer announcing a large message and sending little
// cannot make us allocate more than twice what it sent.
func (r *Reader) grow(s *inStream, need uint32) error {
	newCap := max(uint64(need), 2*uint64(len(s.buf)), minGrow)
	newCap = min(newCap, uint64(s.length))
	add := int(newCap) - len(s.buf)
	if r.buffered+add > r.maxBuf {
		r.releaseIdle(s)
		if r.buffered+add > r.maxBuf {
			return fmt.Errorf("%w: %d bytes buffered, %d more needed on chunk stream %d (limit %d)",
				ErrBufferLimit, r.buffered, add, s.id, r.maxBuf)
		}
	}
	nb := make([]byte, newCap)
	copy(nb, s.buf[:s.filled])
	r.buffered += add
	s.buf = nb
	return nil
}

// releaseIdle drops the reassembly buffers of every chunk stream other than
// keep that holds no partial message.
func (r *Reader) releaseIdle(keep *inStream) {
	release := func(s *inStream) {
		if s != nil && s != keep && s.filled == 0 && s.buf != nil {
			r.buffered -= len(s.buf)
			s.buf = nil
		}
	}
	for _, s := range r.low {
		release(s)
	}
	for _, s := range r.high {
		release(s)
	}
}

// partial reports whether a chunk stream holds part of a message.
func (r *Reader) partial() bool {
	for _, s := range r.low {
		if s != nil && s.filled > 0 {
			return true
		}
	}
	for _, s := range r.high {
		if s.filled > 0 {
			return true
		}
	}
	return false
}
