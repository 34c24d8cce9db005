package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/livegate/gateway/hls"
)

func TestStatusFor(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{hls.ErrNotFound, 404},
		{fmt.Errorf("stream x: %w", hls.ErrNotFound), 404},
		{fmt.Errorf("msn too far: %w", hls.ErrBadRequest), 400},
		{fmt.Errorf("blocked 3×TD: %w", hls.ErrUnavailable), 503},
		{errServerClosed, 503},
		{context.Canceled, 0},
		{fmt.Errorf("wait: %w", context.Canceled), 0},
		{context.DeadlineExceeded, 503},
		{errors.New("boom"), 500},
	}
	for _, c := range cases {
		if got := statusFor(c.err); got != c.want {
			t.Errorf("statusFor(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestValidNames(t *testing.T) {
	cases := []struct {
		name      string
		asName    bool
		asFile    bool
		reasonWhy string
	}{
		{"index.m3u8", true, true, ""},
		{"main_720p.m3u8", true, true, ""},
		{"ab12cd_109.ts", true, true, ""},
		{"ab12cd_110.2.m4s", true, true, ""},
		{"init-ab12.mp4", true, true, ""},
		{"cam", true, false, "no extension"},
		{"cam-1.front", true, false, "unknown extension"},
		{"index.M3U8", true, false, "extensions are case-sensitive"},
		{"index.m3u8x", true, false, ""},
		{"", false, false, "empty"},
		{".", false, false, "dot"},
		{"..", false, false, "dotdot"},
		{".m3u8", false, false, "hidden"},
		{"..%2f.ts", false, false, "escaped slash"},
		{"a/b.ts", false, false, "slash"},
		{`a\b.ts`, false, false, "backslash"},
		{"a b.ts", false, false, "space"},
		{"ä.ts", false, false, "non-ASCII"},
		{"a\x00.ts", false, false, "NUL"},
		{string(make([]byte, 129)), false, false, "too long"},
	}
	for _, c := range cases {
		if got := validName(c.name); got != c.asName {
			t.Errorf("validName(%q) = %v, want %v %s", c.name, got, c.asName, c.reasonWhy)
		}
		if got := validFile(c.name); got != c.asFile {
			t.Errorf("validFile(%q) = %v, want %v %s", c.name, got, c.asFile, c.reasonWhy)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	cases := []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"gzip, deflate, br, zstd"}, true},
		{[]string{"br;q=1.0, gzip;q=0.8, *;q=0.1"}, true},
		{[]string{"deflate", "gzip"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"gzip;q=1"}, true},
		{[]string{"identity"}, false},
		{[]string{"br, deflate"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"gzipx"}, false},
	}
	for _, c := range cases {
		if got := acceptsGzip(c.header); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

func TestGzipETag(t *testing.T) {
	for in, want := range map[string]string{
		`"abc"`:   `"abc-gzip"`,
		`W/"abc"`: `W/"abc-gzip"`,
		`abc`:     `"abc-gzip"`,
	} {
		if got := gzipETag(in); got != want {
			t.Errorf("gzipETag(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestGzipCacheIsBounded(t *testing.T) {
	c := newGzipCache(8)
	body := testMediaPlaylist
	for i := range 100 {
		k := gzipKey{app: "live", stream: "cam", file: "main.m3u8", etag: fmt.Sprintf(`"v%d"`, i), size: len(body)}
		if e := c.get(k, body); e == nil {
			t.Fatal("playlist did not compress")
		}
		if n := c.len(); n > 8 {
			t.Fatalf("cache holds %d entries, bound 8", n)
		}
	}
	// A recent entry survives, promoted from the previous generation.
	k := gzipKey{app: "live", stream: "cam", file: "main.m3u8", etag: `"v96"`, size: len(body)}
	c.mu.Lock()
	_, inCur := c.cur[k]
	_, inPrev := c.prev[k]
	c.mu.Unlock()
	if !inCur && !inPrev {
		t.Error("recent entry evicted")
	}
}

func TestCachePolicy(t *testing.T) {
	p := newCachePolicy(24 * time.Hour)
	cases := []struct {
		name string
		obj  hls.Object
		want string
	}{
		{"segment", hls.Object{Kind: hls.KindSegment}, "public, max-age=86400, immutable"},
		{"part", hls.Object{Kind: hls.KindPart}, "public, max-age=86400, immutable"},
		{"init", hls.Object{Kind: hls.KindInit}, "public, max-age=86400, immutable"},
		{"multivariant no TD", hls.Object{Kind: hls.KindMultivariant}, "public, max-age=1"},
		{"playlist TD 1", hls.Object{Kind: hls.KindMediaPlaylist, TargetDuration: time.Second}, "public, max-age=1"},
		{"playlist TD 2", hls.Object{Kind: hls.KindMediaPlaylist, TargetDuration: 2 * time.Second}, "public, max-age=1"},
		{"playlist TD 6", hls.Object{Kind: hls.KindMediaPlaylist, TargetDuration: 6 * time.Second}, "public, max-age=3"},
		{"playlist TD 10", hls.Object{Kind: hls.KindMediaPlaylist, TargetDuration: 10 * time.Second}, "public, max-age=5"},
		{"blocking", hls.Object{Kind: hls.KindMediaPlaylist, TargetDuration: 6 * time.Second, Blocking: true}, "public, max-age=1"},
		{"ended", hls.Object{Kind: hls.KindMediaPlaylist, TargetDuration: 6 * time.Second, Ended: true, Blocking: true}, "public, max-age=12"},
		{"ended huge TD", hls.Object{Kind: hls.KindMediaPlaylist, TargetDuration: 100 * time.Second, Ended: true}, "public, max-age=200"},
	}
	for _, c := range cases {
		got := p.cacheControl(&c.obj)
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestPreparedHeadersAreNotShared checks that a handler adding to a header
// we assigned from a shared slice cannot corrupt the next response.
func TestPreparedHeadersAreNotShared(t *testing.T) {
	h := http.Header{}
	h["Vary"] = hdrVaryAcceptEncoding
	h.Add("Vary", "Origin")
	if len(hdrVaryAcceptEncoding) != 1 || hdrVaryAcceptEncoding[0] != "Accept-Encoding" || cap(hdrVaryAcceptEncoding) != 1 {
		t.Fatalf("shared header slice modified: %q", hdrVaryAcceptEncoding)
	}
}
