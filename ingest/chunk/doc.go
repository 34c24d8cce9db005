// Package chunk reads and writes the RTMP chunk stream (RTMP spec section 5.3):
// it splits messages into chunks on output and reassembles them on input,
// keeping per-chunk-stream header state, timestamps and the chunk size.
//
// It knows nothing about commands, AMF or media: it hands out whole messages
// with their type, message stream id and accumulated timestamp. The protocol
// control messages that change the chunk layer itself (Set Chunk Size, Abort)
// are applied by the Reader; everything else is returned to the caller.
//
// The Reader is built for throughput: one large bufio.Reader, a reassembly
// buffer per chunk stream that is reused, and messages delivered as borrowed
// slices, so steady-state reading does not allocate.
package chunk
