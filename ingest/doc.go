// Package ingest is the RTMP publish server: it accepts RTMP and RTMPS
// connections from encoders (OBS, FFmpeg, GStreamer), performs the handshake,
// answers the NetConnection/NetStream command flow up to publish, and hands
// each admitted publication's audio, video and metadata messages to a
// Session supplied by the gateway through Server.OnPublish.
//
// It speaks RTMP and nothing else: it knows nothing about FLV codecs, tracks
// or HLS. The wire formats live in subpackages: handshake (C0-C2/S0-S2),
// chunk (the chunk stream), amf (AMF0 values); rtmptest is a test client.
//
// Each connection is served by one goroutine that owns all of its I/O, plus
// one small watchdog goroutine that interrupts the blocking read when the
// server closes or the gateway ends the session. Every read phase has a
// deadline: the handshake, the time from connect to publish, and the gap
// between media bytes.
//
// Policy for doubtful input: protocol violations (invalid chunk size,
// oversized messages, too many chunk streams, malformed commands) close the
// offending connection with a specific logged error; audio, video and
// metadata outside a publication are dropped and logged
// (ErrMediaNotPublishing) and the connection goes on; unknown commands get
// an _error reply when they carry a transaction id.
package ingest
