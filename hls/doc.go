// Package hls is the gateway's segmenter and HLS origin core.
//
// It takes remux samples, cuts them into MPEG-TS or fMP4 segments (and LL-HLS
// parts), keeps playlists with continuous media and discontinuity sequences
// for the life of a stream name, and answers requests for playlists,
// segments, parts and init sections as prepared bytes. It does no HTTP: the
// httpserver package maps requests onto Manager.Get and maps the errors
// (ErrNotFound 404, ErrBadRequest 400, ErrUnavailable 503) and the Object
// fields (Kind, TargetDuration, Blocking, Ended, Expires) onto status codes
// and cache headers.
//
// # Streams and publications
//
// A stream is one app/name. Manager.Publish returns a Publication (a
// remux.Sink) fed from the publisher's goroutine. The stream outlives it:
//
//   - End(true) (unpublished): the segment in progress is closed and the
//     playlist gets EXT-X-ENDLIST at once; everything stays served for
//     Config.Retention, then the stream is freed (ErrNotFound).
//   - End(false) (connection lost): the playlist stays live for
//     Config.ReconnectWindow. A Publish on the same name in that window
//     continues the playlist: media sequence going up, EXT-X-DISCONTINUITY,
//     a new init section (fMP4), decode times continuing after the last
//     ones. Otherwise the playlist ends as above.
//   - A Publish on a live name takes over (the old publication's Done
//     closes, its writes fail with ErrTakenOver), or, with
//     Config.Takeover = TakeoverReject, fails with ErrStreamBusy; one on an
//     ended but still retained name continues the same way (EXT-X-ENDLIST
//     goes away).
//   - Manager.Kick ends a live publication as an unpublish would: Done
//     closes, EXT-X-ENDLIST at once, retention as above.
//   - Config.MaxStreams bounds the streams that are live or waiting for a
//     reconnect; a Publish beyond it fails with ErrTooManyStreams.
//   - A configuration change (SetTracks) takes effect at the next key frame
//     of the timing track: the segment is cut there, with a discontinuity
//     and a new init section.
//
// # Segments
//
// The timing track (video if there is one, else audio) drives the cuts.
// Segments start on its key frames and last at least
// Config.SegmentDuration (audio-only: they are cut on duration).
// EXT-X-TARGETDURATION is fixed when the first segment closes (LL-HLS: at
// the first part, from the configuration) and never changes; a segment that
// would round above it is cut without a key frame, logged, and not claimed
// independent. fMP4 segments are made of fragments of about
// Config.PartDuration; LL-HLS publishes them as parts, each at most
// PART-TARGET long. Timestamps are the publisher's real DTS/PTS, shifted
// onto one output timeline per stream.
//
// # Object names
//
// See names.go: index.m3u8, stream.m3u8, and media objects named
// <prefix>_init<N>.mp4, <prefix>_<msn>.ts|.m4s and <prefix>_<msn>.<part>.m4s,
// where the prefix is random per stream state, so a URL always names the
// same bytes, even across gateway restarts.
//
// # Adaptive ladders
//
// With Config.Ladder, a publication with several video tracks (Enhanced
// RTMP multitrack) is served by the fMP4 variants as a ladder: index.m3u8
// lists a variant per video track (media playlist v<track id>.m3u8,
// video-only) sharing one audio rendition group (a<track id>.m3u8,
// audio-only), and the renditions are cut at the same times (the first
// video track leads), with the same media sequence numbers, target
// duration, discontinuities and PROGRAM-DATE-TIME mapping; LL-HLS playlists
// carry EXT-X-RENDITION-REPORT. See ladder.go. Single-video publications,
// and MPEG-TS, keep the single media playlist.
//
// # Concurrency
//
// One goroutine writes each publication. Every change of a stream builds a
// new immutable snapshot and swaps it in with an atomic pointer, then closes
// the old snapshot's channel, which wakes every blocked request at once;
// readers never take a lock the writer needs. Playlists are rendered lazily,
// once per snapshot and form. The Manager starts no goroutines; its timers
// (reconnect window, retention) are stopped by Close.
package hls
