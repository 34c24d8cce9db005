package chunk

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultWriteBufferSize is the size of the Writer's bufio.Writer.
const DefaultWriteBufferSize = 16 << 10

// WriterConfig configures a Writer. Zero fields take their defaults.
type WriterConfig struct {
	// BufferSize is the size of the bufio.Writer wrapped around the
	// destination. Default DefaultWriteBufferSize.
	BufferSize int
	// OmitContinuationExtendedTimestamp leaves the Extended Timestamp field
	// out of type 3 chunks, as some encoders do. Only for tests of readers;
	// RTMP spec 5.3.1.3 wants it repeated.
	OmitContinuationExtendedTimestamp bool
}

// outStream is the header state of one outgoing chunk stream.
type outStream struct {
	typ       MessageType
	streamID  uint32
	length    uint32
	timestamp uint32
	delta     uint32
	lastFmt   uint8
	used      bool
}

// Writer splits messages into chunks. It compresses headers the way the spec
// intends: type 0 for the first message of a chunk stream, a new message
// stream or a timestamp that goes back; then type 1, 2 or 3 when the length,
// type and delta allow it. Output is buffered: call Flush. A Writer is not
// safe for concurrent use.
type Writer struct {
	bw        *bufio.Writer
	chunkSize uint32
	omitExt   bool
	low       [lowChunkStreams]*outStream
	high      map[uint32]*outStream
	hdr       [3 + 11 + 4]byte
	ctl       [10]byte
}

// NewWriter returns a Writer writing chunks to w, starting at the default
// chunk size of 128 bytes.
func NewWriter(w io.Writer, cfg WriterConfig) *Writer {
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultWriteBufferSize
	}
	return &Writer{
		bw:        bufio.NewWriterSize(w, cfg.BufferSize),
		chunkSize: DefaultChunkSize,
		omitExt:   cfg.OmitContinuationExtendedTimestamp,
	}
}

// ChunkSize returns the chunk size used for output.
func (w *Writer) ChunkSize() uint32 { return w.chunkSize }

// SetChunkSize changes the output chunk size without telling the peer. Use
// WriteSetChunkSize to announce it.
func (w *Writer) SetChunkSize(n uint32) error {
	if n == 0 || n > MaxChunkSize {
		return fmt.Errorf("%w: %d (valid: 1..%d)", ErrInvalidChunkSize, n, MaxChunkSize)
	}
	w.chunkSize = n
	return nil
}

// Flush writes buffered chunks to the destination.
func (w *Writer) Flush() error { return w.bw.Flush() }

// Buffered returns the number of bytes waiting for Flush.
func (w *Writer) Buffered() int { return w.bw.Buffered() }

func (w *Writer) stream(id uint32) *outStream {
	var s *outStream
	if id < lowChunkStreams {
		s = w.low[id]
		if s == nil {
			s = &outStream{}
			w.low[id] = s
		}
		return s
	}
	if s = w.high[id]; s == nil {
		if w.high == nil {
			w.high = make(map[uint32]*outStream)
		}
		s = &outStream{}
		w.high[id] = s
	}
	return s
}

// WriteMessage writes m as chunks on m.ChunkStreamID.
func (w *Writer) WriteMessage(m *Message) error {
	if m.ChunkStreamID < MinChunkStreamID || m.ChunkStreamID > MaxChunkStreamID {
		return fmt.Errorf("%w: %d", ErrInvalidChunkStreamID, m.ChunkStreamID)
	}
	if len(m.Payload) > maxLength {
		return fmt.Errorf("%w: payload of %d bytes exceeds the 24-bit length", ErrInvalidMessage, len(m.Payload))
	}
	length := uint32(len(m.Payload))
	s := w.stream(m.ChunkStreamID)
	delta := m.Timestamp - s.timestamp
	var format uint8
	switch {
	case !s.used,
		m.StreamID != s.streamID,
		delta >= 1<<31: // timestamp went back (serial number arithmetic)
		format = 0
	case length != s.length || m.Type != s.typ:
		format = 1
	case delta != s.delta || s.lastFmt == 0:
		// After a type 0 header receivers disagree on what a type 3 new
		// message adds (RTMP spec 5.3.1.2.4 vs common practice); avoid it.
		format = 2
	default:
		format = 3
	}
	field := delta
	if format == 0 {
		field = m.Timestamp
	}
	ext := field >= extendedTimestamp
	s.typ, s.streamID, s.length, s.timestamp = m.Type, m.StreamID, length, m.Timestamp
	if format != 3 {
		s.delta = field
	}
	s.lastFmt = format
	s.used = true

	h := w.basicHeader(format, m.ChunkStreamID)
	if format <= 2 {
		f := min(field, extendedTimestamp)
		h = append(h, byte(f>>16), byte(f>>8), byte(f))
		if format <= 1 {
			h = append(h, byte(length>>16), byte(length>>8), byte(length), byte(m.Type))
		}
		if format == 0 {
			h = binary.LittleEndian.AppendUint32(h, m.StreamID)
		}
	}
	if ext && (format <= 2 || !w.omitExt) {
		h = binary.BigEndian.AppendUint32(h, field)
	}
	if _, err := w.bw.Write(h); err != nil {
		return fmt.Errorf("chunk: writing header: %w", err)
	}
	p := m.Payload
	for {
		n := min(uint32(len(p)), w.chunkSize)
		if _, err := w.bw.Write(p[:n]); err != nil {
			return fmt.Errorf("chunk: writing data: %w", err)
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
		// Continuation chunk: type 3, repeating the Extended Timestamp.
		h = w.basicHeader(3, m.ChunkStreamID)
		if ext && !w.omitExt {
			h = binary.BigEndian.AppendUint32(h, field)
		}
		if _, err := w.bw.Write(h); err != nil {
			return fmt.Errorf("chunk: writing header: %w", err)
		}
	}
}

// basicHeader encodes a chunk basic header (RTMP spec 5.3.1.1) into w.hdr.
func (w *Writer) basicHeader(format uint8, id uint32) []byte {
	h := w.hdr[:0]
	switch {
	case id < 64:
		return append(h, format<<6|byte(id))
	case id < 64+256:
		return append(h, format<<6, byte(id-64))
	default:
		return append(h, format<<6|1, byte(id-64), byte((id-64)>>8))
	}
}

// writeControl writes a protocol control message on chunk stream 2, message
// stream 0.
func (w *Writer) writeControl(t MessageType, payload []byte) error {
	return w.WriteMessage(&Message{ChunkStreamID: ControlChunkStreamID, Type: t, Payload: payload})
}

// WriteSetChunkSize sends Set Chunk Size (RTMP spec 5.4.1) and uses n for the
// messages that follow.
func (w *Writer) WriteSetChunkSize(n uint32) error {
	if n == 0 || n > MaxChunkSize {
		return fmt.Errorf("%w: %d (valid: 1..%d)", ErrInvalidChunkSize, n, MaxChunkSize)
	}
	if err := w.writeControl(TypeSetChunkSize, binary.BigEndian.AppendUint32(w.ctl[:0], n)); err != nil {
		return err
	}
	w.chunkSize = n
	return nil
}

// WriteAbort sends Abort Message (RTMP spec 5.4.2) for chunk stream id.
func (w *Writer) WriteAbort(id uint32) error {
	return w.writeControl(TypeAbort, binary.BigEndian.AppendUint32(w.ctl[:0], id))
}

// WriteAck sends Acknowledgement (RTMP spec 5.4.3) with the number of bytes
// received so far.
func (w *Writer) WriteAck(seq uint32) error {
	return w.writeControl(TypeAck, binary.BigEndian.AppendUint32(w.ctl[:0], seq))
}

// WriteWindowAckSize sends Window Acknowledgement Size (RTMP spec 5.4.4).
func (w *Writer) WriteWindowAckSize(n uint32) error {
	return w.writeControl(TypeWindowAckSize, binary.BigEndian.AppendUint32(w.ctl[:0], n))
}

// Peer bandwidth limit types (RTMP spec 5.4.5).
const (
	LimitHard    = 0
	LimitSoft    = 1
	LimitDynamic = 2
)

// WriteSetPeerBandwidth sends Set Peer Bandwidth (RTMP spec 5.4.5).
func (w *Writer) WriteSetPeerBandwidth(n uint32, limit uint8) error {
	p := binary.BigEndian.AppendUint32(w.ctl[:0], n)
	return w.writeControl(TypeSetPeerBandwidth, append(p, limit))
}

// User Control event types (RTMP spec 7.1.7).
const (
	EventStreamBegin      = 0
	EventStreamEOF        = 1
	EventStreamDry        = 2
	EventSetBufferLength  = 3
	EventStreamIsRecorded = 4
	EventPingRequest      = 6
	EventPingResponse     = 7
)

// WriteUserControl sends a User Control message (RTMP spec 6.2, 7.1.7):
// the 16-bit event type followed by its 32-bit arguments (one for most
// events, two for SetBufferLength).
func (w *Writer) WriteUserControl(event uint16, args ...uint32) error {
	if len(args) > 2 {
		return fmt.Errorf("%w: user control event with %d arguments", ErrInvalidMessage, len(args))
	}
	p := binary.BigEndian.AppendUint16(w.ctl[:0], event)
	for _, a := range args {
		p = binary.BigEndian.AppendUint32(p, a)
	}
	return w.writeControl(TypeUserControl, p)
}
