package hls

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
)

// Object names, relative to the stream's directory (the httpserver serves
// them under /{app}/{stream}/):
//
//	index.m3u8                   multivariant playlist
//	stream.m3u8                  media playlist
//	<prefix>_init<N>.mp4         fMP4 init section N (a new one after every discontinuity)
//	<prefix>_<msn>.ts            MPEG-TS segment with media sequence number msn
//	<prefix>_<msn>.m4s           fMP4 segment msn
//	<prefix>_<msn>.<part>.m4s    LL-HLS part <part> (0-based) of segment msn
//
// A ladder (ladder.go) serves v<id>.m3u8 and a<id>.m3u8 instead of
// stream.m3u8, each rendition with its own <prefix>.
//
// <prefix> is 16 lowercase hex digits from crypto/rand, chosen when the
// stream state is created. It survives publisher reconnects (numbering
// continues) but not a gateway restart or the stream being freed, so a URL
// always names the same bytes and CDNs may cache media for a long time.
const (
	// MultivariantName is the multivariant playlist's object name.
	MultivariantName = "index.m3u8"
	// MediaPlaylistName is the media playlist's object name.
	MediaPlaylistName = "stream.m3u8"

	prefixLen = 16
	extTS     = ".ts"
	extM4S    = ".m4s"
	extMP4    = ".mp4"
	initTag   = "init"
)

// newPrefix returns a fresh random object-name prefix.
func newPrefix() string {
	var b [prefixLen / 2]byte
	// crypto/rand.Read never returns an error (Go 1.24+); it panics instead.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func appendSegmentName(dst []byte, prefix string, msn int64, ext string) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, '_')
	dst = strconv.AppendInt(dst, msn, 10)
	return append(dst, ext...)
}

func appendPartName(dst []byte, prefix string, msn int64, part int) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, '_')
	dst = strconv.AppendInt(dst, msn, 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(part), 10)
	return append(dst, extM4S...)
}

func appendInitName(dst []byte, prefix string, n int) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, '_')
	dst = append(dst, initTag...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, extMP4...)
}

// objectRef is a parsed media object name.
type objectRef struct {
	kind ObjectKind // KindInit, KindSegment or KindPart
	msn  int64      // segment or part
	part int        // part index
	init int        // init number
	ext  string     // extTS or extM4S for segments
}

// parseObjectName parses a media object name of the stream whose prefix is
// prefix; ok is false for anything else.
func parseObjectName(file, prefix string) (ref objectRef, ok bool) {
	if len(file) <= prefixLen+1 || file[:prefixLen] != prefix || file[prefixLen] != '_' {
		return ref, false
	}
	rest := file[prefixLen+1:]
	switch {
	case strings.HasPrefix(rest, initTag) && strings.HasSuffix(rest, extMP4):
		n, ok := parseUint(rest[len(initTag) : len(rest)-len(extMP4)])
		if !ok || n > 1<<31 {
			return ref, false
		}
		return objectRef{kind: KindInit, init: int(n)}, true
	case strings.HasSuffix(rest, extTS):
		n, ok := parseUint(rest[:len(rest)-len(extTS)])
		return objectRef{kind: KindSegment, msn: n, ext: extTS}, ok
	case strings.HasSuffix(rest, extM4S):
		body := rest[:len(rest)-len(extM4S)]
		dot := strings.IndexByte(body, '.')
		if dot < 0 {
			n, ok := parseUint(body)
			return objectRef{kind: KindSegment, msn: n, ext: extM4S}, ok
		}
		n, ok1 := parseUint(body[:dot])
		p, ok2 := parseUint(body[dot+1:])
		if !ok1 || !ok2 || p > 1<<31 {
			return ref, false
		}
		return objectRef{kind: KindPart, msn: n, part: int(p)}, true
	}
	return ref, false
}

// parseUint parses a canonical non-negative decimal (no sign, no leading zeros).
func parseUint(s string) (int64, bool) {
	if s == "" || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
