// Package handshake performs the RTMP handshake (RTMP spec 5.2): the plain
// C0/C1/C2 ↔ S0/S1/S2 exchange, and the digest variant that Flash Player 9+
// and its descendants (librtmp as used by OBS and GStreamer, FFmpeg) send,
// where C1, S1 and S2 carry HMAC-SHA256 digests keyed with the well-known
// "Genuine Adobe Flash Player/Media Server 001" keys.
//
// The package reads and writes bytes only; the caller bounds the whole
// exchange with connection deadlines.
package handshake
