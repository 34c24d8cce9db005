// Package hls is the gateway's segmenter and HLS origin core.
//
// It takes remux samples, cuts them into MPEG-TS or fMP4 segments (and LL-HLS
// parts), keeps playlists with continuous media and discontinuity sequences
// for the life of a stream name, and answers requests for playlists,
// segments, parts and init sections as prepared bytes. It does no HTTP: the
// httpserver package maps requests onto Manager.Get.
package hls
