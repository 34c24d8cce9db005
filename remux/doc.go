// Package remux is the gateway's internal track model and owns time.
//
// Ingest turns RTMP/FLV messages into calls on a Remuxer; the Remuxer turns
// them into Tracks and Samples with continuous, unwrapped, rebased DTS/PTS in
// each track's clock rate and hands them to a Sink (the HLS segmenter).
//
// The package is sans-IO: it imports no net or net/http and knows nothing of
// RTMP chunking or of HLS.
package remux
