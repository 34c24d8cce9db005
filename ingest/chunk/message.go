package chunk

import "strconv"

// MessageType is the RTMP message type id carried in chunk headers.
type MessageType uint8

// Message types (RTMP spec 5.4 protocol control messages, 6.2 user control,
// 7.1 RTMP messages).
const (
	TypeSetChunkSize     MessageType = 1  // 5.4.1
	TypeAbort            MessageType = 2  // 5.4.2
	TypeAck              MessageType = 3  // 5.4.3
	TypeUserControl      MessageType = 4  // 6.2, 7.1.7
	TypeWindowAckSize    MessageType = 5  // 5.4.4
	TypeSetPeerBandwidth MessageType = 6  // 5.4.5
	TypeAudio            MessageType = 8  // 7.1.4
	TypeVideo            MessageType = 9  // 7.1.5
	TypeDataAMF3         MessageType = 15 // 7.1.2
	TypeSharedObjectAMF3 MessageType = 16 // 7.1.3
	TypeCommandAMF3      MessageType = 17 // 7.1.1
	TypeDataAMF0         MessageType = 18 // 7.1.2
	TypeSharedObjectAMF0 MessageType = 19 // 7.1.3
	TypeCommandAMF0      MessageType = 20 // 7.1.1
	TypeAggregate        MessageType = 22 // 7.1.6
)

var typeNames = map[MessageType]string{
	TypeSetChunkSize:     "SetChunkSize",
	TypeAbort:            "Abort",
	TypeAck:              "Acknowledgement",
	TypeUserControl:      "UserControl",
	TypeWindowAckSize:    "WindowAckSize",
	TypeSetPeerBandwidth: "SetPeerBandwidth",
	TypeAudio:            "Audio",
	TypeVideo:            "Video",
	TypeDataAMF3:         "DataAMF3",
	TypeSharedObjectAMF3: "SharedObjectAMF3",
	TypeCommandAMF3:      "CommandAMF3",
	TypeDataAMF0:         "DataAMF0",
	TypeSharedObjectAMF0: "SharedObjectAMF0",
	TypeCommandAMF0:      "CommandAMF0",
	TypeAggregate:        "Aggregate",
}

func (t MessageType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Chunk stream ids.
const (
	// MinChunkStreamID and MaxChunkStreamID bound chunk stream ids: RTMP spec
	// 5.3.1.1: "Chunk stream IDs 2-63 can be encoded in the 1-byte version
	// [...] IDs in the range of 64-65599 can be encoded in the 3-byte version".
	// 0 and 1 are the escape values of the 1-byte form.
	MinChunkStreamID = 2
	MaxChunkStreamID = 65599
	// ControlChunkStreamID carries protocol control messages: RTMP spec 5.4:
	// "These protocol control messages MUST have message stream ID 0 (known as
	// the control stream) and be sent in chunk stream ID 2."
	ControlChunkStreamID = 2
)

// Chunk size limits.
const (
	// DefaultChunkSize is the chunk size both sides assume until a Set Chunk
	// Size arrives. RTMP spec 5.4.1: "The maximum chunk size defaults to 128
	// bytes".
	DefaultChunkSize = 128
	// MaxChunkSize is the largest valid chunk size. RTMP spec 5.4.1: "chunk
	// size (31 bits) [...] The first bit MUST be zero" and "Valid sizes are 1
	// to 2147483647 (0x7FFFFFFF) bytes".
	MaxChunkSize = 0x7FFFFFFF
	// maxLength is the largest message length a chunk header can express
	// (3-byte field, RTMP spec 5.3.1.2.1).
	maxLength = 0xFFFFFF
	// extendedTimestamp is the 3-byte timestamp value that announces an
	// Extended Timestamp field (RTMP spec 5.3.1.3).
	extendedTimestamp = 0xFFFFFF
)

// Message is one RTMP message.
type Message struct {
	// ChunkStreamID is the chunk stream the message travelled on.
	ChunkStreamID uint32
	// Type is the message type id.
	Type MessageType
	// StreamID is the message stream id.
	StreamID uint32
	// Timestamp is the message timestamp in milliseconds. On input it is
	// accumulated from the chunk headers with uint32 wrapping arithmetic.
	Timestamp uint32
	// Payload is the message body. Messages returned by Reader.ReadMessage
	// borrow it: it is valid only until the next ReadMessage call.
	Payload []byte
}
