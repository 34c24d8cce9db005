package chunk

import (
	"errors"
	"fmt"
	"io"
)

// Errors returned by the Reader and Writer. They are wrapped with details;
// match them with errors.Is.
var (
	// ErrMessageTooLarge is returned when a chunk header announces a message
	// longer than ReaderConfig.MaxMessageSize. It is detected before any
	// buffer is allocated.
	ErrMessageTooLarge = errors.New("chunk: message length exceeds the limit")
	// ErrTooManyChunkStreams is returned when the peer opens more chunk
	// streams than ReaderConfig.MaxChunkStreams.
	ErrTooManyChunkStreams = errors.New("chunk: too many chunk streams")
	// ErrInvalidChunkSize is returned for a Set Chunk Size of 0 or with the
	// most significant bit set (above 0x7FFFFFFF).
	ErrInvalidChunkSize = errors.New("chunk: invalid chunk size")
	// ErrNoPreviousHeader is returned for a type 2 or 3 chunk on a chunk
	// stream that never carried a type 0 or 1 header, whose message length is
	// therefore unknown.
	ErrNoPreviousHeader = errors.New("chunk: compressed chunk header without a previous full header")
	// ErrInterruptedMessage is returned when a type 0, 1 or 2 chunk arrives on
	// a chunk stream whose previous message is still incomplete.
	ErrInterruptedMessage = errors.New("chunk: new message header before the previous message was complete")
	// ErrBufferLimit is returned when the reassembly buffers of all chunk
	// streams together would exceed ReaderConfig.MaxBufferedBytes.
	ErrBufferLimit = errors.New("chunk: reassembly buffers exceed the limit")
	// ErrShortControlMessage is returned for a Set Chunk Size or Abort
	// message shorter than its 4-byte payload.
	ErrShortControlMessage = errors.New("chunk: protocol control message too short")
	// ErrInvalidChunkStreamID is returned by the Writer for a chunk stream id
	// outside 2..65599.
	ErrInvalidChunkStreamID = errors.New("chunk: invalid chunk stream id")
	// ErrInvalidMessage is returned by the Writer for a message whose payload
	// does not fit the 24-bit length field.
	ErrInvalidMessage = errors.New("chunk: invalid message")
)

// unexpectedEOF turns an io.EOF met in the middle of a chunk into
// io.ErrUnexpectedEOF; other errors pass through.
func unexpectedEOF(err error, what string) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("chunk: reading %s: %w", what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("chunk: reading %s: %w", what, err)
}
