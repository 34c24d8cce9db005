package httpserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
)

const (
	ctPlaylist = "application/vnd.apple.mpegurl"
	ccMedia    = "public, max-age=86400, immutable"
)

// absent marks a header that must not be in the response.
const absent = "\x00absent"

func TestHLSResponses(t *testing.T) {
	origin := newFakeOrigin()
	_, base := startServer(t, origin)
	client := rawClient()

	// Headers every response must carry (notes A0/A2).
	common := map[string]string{
		"Access-Control-Allow-Origin":   "*",
		"Access-Control-Expose-Headers": "Age, Content-Length, Content-Range, Date, ETag, Last-Modified",
	}

	cases := []struct {
		name     string
		method   string
		path     string // raw, sent as is
		header   map[string]string
		status   int
		want     map[string]string // exact values; absent = must be missing
		body     []byte            // nil: not checked
		noOrigin bool              // the origin must not be asked
	}{
		{
			name: "multivariant", path: "/live/cam/index.m3u8", status: 200,
			want: map[string]string{
				"Content-Type": ctPlaylist, "Cache-Control": "public, max-age=3", "Vary": "Accept-Encoding",
				"Etag": `"mv-1"`, "Last-Modified": "Mon, 23 Nov 2026 12:00:00 GMT", "Expires": absent,
				"Content-Encoding": absent,
			},
			body: testMultivariant,
		},
		{
			name: "media playlist TD/2", path: "/live/cam/main.m3u8", status: 200,
			want: map[string]string{"Content-Type": ctPlaylist, "Cache-Control": "public, max-age=3", "Vary": "Accept-Encoding"},
			body: testMediaPlaylist,
		},
		{
			name: "blocking playlist short", path: "/live/cam/ll.m3u8?_HLS_msn=109&_HLS_part=2", status: 200,
			want: map[string]string{"Content-Type": ctPlaylist, "Cache-Control": "public, max-age=1"},
		},
		{
			name: "ended playlist longer", path: "/live/cam/ended.m3u8", status: 200,
			want: map[string]string{"Content-Type": ctPlaylist, "Cache-Control": "public, max-age=12"},
		},
		{
			name: "ts segment", path: "/live/cam/ab12cd_109.ts", status: 200,
			want: map[string]string{
				"Content-Type": "video/mp2t", "Cache-Control": ccMedia, "Expires": "Mon, 23 Nov 2026 12:01:00 GMT",
				"Etag": `"ab12cd-109"`, "Accept-Ranges": "bytes", "Content-Length": "12032", "Vary": absent,
			},
			body: testSegment,
		},
		{
			name: "segment without expiry", path: "/live/cam/ab12cd_109.noexp.ts", status: 200,
			want: map[string]string{"Content-Type": "video/mp2t", "Cache-Control": ccMedia, "Expires": absent},
		},
		{
			name: "segment never gzipped", path: "/live/cam/ab12cd_109.ts", header: map[string]string{"Accept-Encoding": "gzip"},
			status: 200, want: map[string]string{"Content-Encoding": absent, "Vary": absent}, body: testSegment,
		},
		{
			name: "part", path: "/live/cam/ab12cd_110.2.m4s", status: 200,
			want: map[string]string{"Content-Type": "video/iso.segment", "Cache-Control": ccMedia, "Expires": "Mon, 23 Nov 2026 12:01:00 GMT"},
		},
		{
			name: "init", path: "/live/cam/ab12cd_init.mp4", status: 200,
			want: map[string]string{"Content-Type": "video/mp4", "Cache-Control": ccMedia},
		},
		{
			name: "range", path: "/live/cam/ab12cd_109.ts", header: map[string]string{"Range": "bytes=188-375"},
			status: 206, want: map[string]string{"Content-Range": "bytes 188-375/12032", "Content-Length": "188", "Content-Type": "video/mp2t"},
			body: testSegment[188:376],
		},
		{
			name: "range on playlist is identity even with gzip", path: "/live/cam/main.m3u8",
			header: map[string]string{"Range": "bytes=0-6", "Accept-Encoding": "gzip"},
			status: 206, want: map[string]string{"Content-Encoding": absent, "Content-Range": "bytes 0-6/" + itoa(len(testMediaPlaylist))},
			body: []byte("#EXTM3U"),
		},
		{
			name: "etag 304", path: "/live/cam/ab12cd_109.ts", header: map[string]string{"If-None-Match": `"ab12cd-109"`},
			status: 304, want: map[string]string{"Etag": `"ab12cd-109"`, "Cache-Control": ccMedia, "Content-Type": absent},
			body: []byte{},
		},
		{
			name: "playlist etag 304", path: "/live/cam/main.m3u8", header: map[string]string{"If-None-Match": `"pl-109"`},
			status: 304, want: map[string]string{"Vary": "Accept-Encoding", "Cache-Control": "public, max-age=3"},
		},
		{
			name: "gzip playlist etag 304", path: "/live/cam/main.m3u8",
			header: map[string]string{"If-None-Match": `"pl-109-gzip"`, "Accept-Encoding": "gzip"},
			status: 304, want: map[string]string{"Etag": `"pl-109-gzip"`},
		},
		{
			name: "stale etag 200", path: "/live/cam/main.m3u8", header: map[string]string{"If-None-Match": `"pl-108"`},
			status: 200, body: testMediaPlaylist,
		},
		{
			name: "if-modified-since 304", path: "/live/cam/ab12cd_109.ts",
			header: map[string]string{"If-Modified-Since": "Mon, 23 Nov 2026 12:00:00 GMT"}, status: 304,
		},
		{
			name: "head segment", method: "HEAD", path: "/live/cam/ab12cd_109.ts", status: 200,
			want: map[string]string{"Content-Length": "12032", "Content-Type": "video/mp2t", "Cache-Control": ccMedia},
			body: []byte{},
		},
		{
			name: "head playlist", method: "HEAD", path: "/live/cam/main.m3u8", status: 200,
			want: map[string]string{"Content-Type": ctPlaylist, "Content-Length": itoa(len(testMediaPlaylist))},
			body: []byte{},
		},
		{
			name: "head never waits", method: "HEAD", path: "/live/cam/block.m3u8?_HLS_msn=200", status: 404,
			want: map[string]string{"Cache-Control": "no-store"}, body: []byte{},
		},
		{
			name: "unknown stream 404", path: "/live/nope/index.m3u8", status: 404,
			want: map[string]string{"Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8", "Etag": absent},
		},
		{
			name: "bad directive 400", path: "/live/cam/bad.m3u8?_HLS_part=1", status: 400,
			want: map[string]string{"Cache-Control": "no-store"},
		},
		{
			name: "blocking timeout 503", path: "/live/cam/timeout.m3u8?_HLS_msn=500", status: 503,
			want: map[string]string{"Cache-Control": "no-store"},
		},
		{
			name: "unexpected error 500", path: "/live/cam/broken.m3u8", status: 500,
			want: map[string]string{"Cache-Control": "no-store"},
		},
		{
			name: "origin's own cancellation 500", path: "/live/cam/canceled.m3u8", status: 500,
			want: map[string]string{"Cache-Control": "no-store"},
		},
		{
			name: "panic 500", path: "/live/cam/panic.m3u8", status: 500,
			want: map[string]string{"Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8"},
		},
		{name: "unknown extension", path: "/live/cam/index.txt", status: 404, noOrigin: true, want: map[string]string{"Cache-Control": "no-store"}},
		{name: "no extension", path: "/live/cam/index", status: 404, noOrigin: true},
		{name: "dot file", path: "/live/cam/.m3u8", status: 404, noOrigin: true},
		{name: "dotdot app", path: "/../cam/index.m3u8", status: 404, noOrigin: true},
		{name: "encoded slash traversal", path: "/live/..%2f..%2fetc/passwd.ts", status: 404, noOrigin: true},
		{name: "encoded traversal in file", path: "/live/cam/..%2findex.m3u8", status: 404, noOrigin: true},
		{name: "encoded dotdot stream", path: "/live/%2e%2e/index.m3u8", status: 404, noOrigin: true},
		{name: "backslash", path: "/live/cam/..%5cindex.m3u8", status: 404, noOrigin: true},
		{name: "space in name", path: "/live/ca%20m/index.m3u8", status: 404, noOrigin: true},
		{name: "too deep", path: "/live/cam/x/index.m3u8", status: 404, noOrigin: true},
		{name: "long name", path: "/live/" + strings.Repeat("a", 200) + "/index.m3u8", status: 404, noOrigin: true},
		{
			name: "method not allowed", method: "POST", path: "/live/cam/index.m3u8", status: 405, noOrigin: true,
			want: map[string]string{"Allow": "GET, HEAD, OPTIONS", "Cache-Control": "no-store"},
		},
		{
			name: "preflight", method: "OPTIONS", path: "/live/cam/index.m3u8", status: 204, noOrigin: true,
			header: map[string]string{"Origin": "https://player.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range"},
			want: map[string]string{
				"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
				"Access-Control-Allow-Headers": "Range, If-Range, If-None-Match, If-Modified-Since, Cache-Control, Pragma",
				"Access-Control-Max-Age":       "7200",
			},
			body: []byte{},
		},
		{name: "preflight anywhere", method: "OPTIONS", path: "/whatever/path/at/all", status: 204, noOrigin: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			before := origin.calls.Load()
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %q)", res.StatusCode, tc.status, body)
			}
			for k, v := range common {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for k, v := range tc.want {
				got, ok := res.Header[http.CanonicalHeaderKey(k)]
				if v == absent {
					if ok {
						t.Errorf("%s = %q, want absent", k, got)
					}
					continue
				}
				if !ok || len(got) != 1 || got[0] != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body %d bytes %q..., want %d bytes", len(body), trunc(body), len(tc.body))
			}
			if tc.noOrigin && origin.calls.Load() != before {
				t.Errorf("origin was asked for a rejected URL")
			}
		})
	}
}

func TestOriginReceivesParams(t *testing.T) {
	origin := newFakeOrigin()
	_, base := startServer(t, origin)
	res, err := rawClient().Get(base + "/live/cam/ll.m3u8?_HLS_msn=109&_HLS_part=2&_HLS_skip=YES")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	origin.mu.Lock()
	defer origin.mu.Unlock()
	if origin.lastParams != [3]string{"live", "cam", "ll.m3u8"} {
		t.Errorf("params %q", origin.lastParams)
	}
	if origin.lastQuery.Get("_HLS_msn") != "109" || origin.lastQuery.Get("_HLS_part") != "2" || origin.lastQuery.Get("_HLS_skip") != "YES" {
		t.Errorf("query %v", origin.lastQuery)
	}
}

func TestGzipPlaylist(t *testing.T) {
	origin := newFakeOrigin()
	s, base := startServer(t, origin)
	client := rawClient()

	get := func(path, acceptEncoding string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}

	for i := range 3 {
		res, body := get("/live/cam/main.m3u8", "br;q=1.0, gzip;q=0.8")
		if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("round %d: headers %v", i, res.Header)
		}
		if got := res.Header.Get("Etag"); got != `"pl-109-gzip"` {
			t.Errorf("gzip ETag %q", got)
		}
		if res.Header.Get("Content-Length") != itoa(len(body)) || len(body) >= len(testMediaPlaylist) {
			t.Errorf("Content-Length %q, body %d bytes, identity %d", res.Header.Get("Content-Length"), len(body), len(testMediaPlaylist))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, testMediaPlaylist) {
			t.Fatalf("gunzipped body differs")
		}
	}
	if n := s.gzip.len(); n != 1 {
		t.Errorf("gzip cache holds %d entries after 3 requests of one version, want 1", n)
	}

	// gzip;q=0 refuses gzip; a tiny playlist is not worth compressing.
	for _, c := range []struct{ path, ae string }{
		{"/live/cam/main.m3u8", "gzip;q=0"},
		{"/live/cam/main.m3u8", "identity"},
		{"/live/cam/main.m3u8", ""},
		{"/live/cam/tiny.m3u8", "gzip"},
	} {
		res, body := get(c.path, c.ae)
		if res.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s with %q: Content-Encoding %q", c.path, c.ae, res.Header.Get("Content-Encoding"))
		}
		if res.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s with %q: no Vary", c.path, c.ae)
		}
		if c.path == "/live/cam/main.m3u8" && !bytes.Equal(body, testMediaPlaylist) {
			t.Errorf("%s with %q: body differs", c.path, c.ae)
		}
	}
}

func TestBlockingRequestEndsWhenClientGoes(t *testing.T) {
	checkGoroutines(t)
	origin := newFakeOrigin()
	_, base := startServer(t, origin)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/live/cam/block.m3u8?_HLS_msn=200", nil)
	client := rawClient()
	defer client.CloseIdleConnections()
	errc := make(chan error, 1)
	go func() {
		res, err := client.Do(req)
		if err == nil {
			_ = res.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, origin.blockEntered, "blocking request to reach the origin")
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client error %v, want context.Canceled", err)
	}
	select {
	case err := <-origin.blockDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("origin ctx error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("origin Get still blocked 5 s after the client went away")
	}
}

func TestShutdownEndsBlockingRequests(t *testing.T) {
	checkGoroutines(t)
	origin := newFakeOrigin()
	s, base := startServer(t, origin, func(s *Server) { s.DrainDelay = 300 * time.Millisecond })
	client := rawClient()
	defer client.CloseIdleConnections()

	type result struct {
		status int
		cc     string
		err    error
	}
	resc := make(chan result, 1)
	go func() {
		res, err := client.Get(base + "/live/cam/block.m3u8?_HLS_msn=200")
		if err != nil {
			resc <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		resc <- result{status: res.StatusCode, cc: res.Header.Get("Cache-Control")}
	}()
	waitFor(t, origin.blockEntered, "blocking request to reach the origin")

	shutdownErr := make(chan error, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdownErr <- s.Shutdown(ctx)
	}()

	// During the drain delay: not ready, but still serving.
	deadline := time.Now().Add(2 * time.Second)
	for {
		res, err := client.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("readyz during drain: %v", err)
		}
		_ = res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz never turned 503")
		}
		time.Sleep(10 * time.Millisecond)
	}
	res, err := client.Get(base + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz during drain: %v %v", res, err)
	}
	_ = res.Body.Close()

	r := <-resc
	if r.err != nil || r.status != http.StatusServiceUnavailable || r.cc != "no-store" {
		t.Errorf("blocked request got %+v, want 503 no-store", r)
	}
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 4*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if err := <-origin.blockDone; !errors.Is(err, context.Canceled) {
		t.Errorf("origin ctx error %v", err)
	}
	// Stopped: no new connections.
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepting after Shutdown")
	}
}

func TestShutdownFinishesInFlightResponses(t *testing.T) {
	checkGoroutines(t)
	origin := newFakeOrigin()
	big := make([]byte, 8<<20)
	origin.objects["live/cam/big.ts"] = &hls.Object{Kind: hls.KindSegment, Body: big, ContentType: "video/mp2t", ETag: `"big"`}
	s, base := startServer(t, origin)
	client := rawClient()
	defer client.CloseIdleConnections()

	res, err := client.Get(base + "/live/cam/big.ts")
	if err != nil {
		t.Fatal(err)
	}
	// Headers are in, the body is still to be read: shut down now.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	n, err := io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if err != nil || n != int64(len(big)) {
		t.Errorf("read %d of %d bytes: %v", n, len(big), err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestWriteTimeout checks the per-response write deadline: a client that
// stops reading is cut off after WriteTimeout, while a blocking wait longer
// than WriteTimeout does not count against the response.
func TestWriteTimeout(t *testing.T) {
	checkGoroutines(t)
	origin := newFakeOrigin()
	origin.objects["live/cam/huge.ts"] = &hls.Object{Kind: hls.KindSegment, Body: make([]byte, 64<<20), ContentType: "video/mp2t", ETag: `"huge"`}
	s, base := startServer(t, origin, func(s *Server) { s.WriteTimeout = 100 * time.Millisecond })
	client := rawClient()
	defer client.CloseIdleConnections()

	res, err := client.Get(base + "/live/cam/slow.m3u8?_HLS_msn=110")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil || res.StatusCode != 200 || !bytes.Equal(body, testMediaPlaylist) {
		t.Fatalf("slow blocking request: %d, %d bytes, %v", res.StatusCode, len(body), err)
	}

	// A client that asks for 64 MiB and reads nothing.
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /live/cam/huge.ts HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	// The stuck response has ended, so Shutdown finds no active connection.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown with a stalled reader: %v", err)
	}
}

func TestPanicDoesNotStopServer(t *testing.T) {
	origin := newFakeOrigin()
	_, base := startServer(t, origin)
	client := rawClient()
	for range 3 {
		res, err := client.Get(base + "/live/cam/panic.m3u8")
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != 500 || res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("panic answered %d %v", res.StatusCode, res.Header)
		}
		res, err = client.Get(base + "/live/cam/main.m3u8")
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("after panic: %d", res.StatusCode)
		}
	}
}

func TestPagesAndEndpoints(t *testing.T) {
	origin := newFakeOrigin()
	_, base := startServer(t, origin)
	client := rawClient()

	cases := []struct {
		path     string
		status   int
		ctype    string
		cc       string
		contains string
		location string
	}{
		{path: "/healthz", status: 200, ctype: "text/plain; charset=utf-8", cc: "no-store", contains: "ok"},
		{path: "/readyz", status: 200, ctype: "text/plain; charset=utf-8", cc: "no-store", contains: "ok"},
		{path: "/", status: 200, ctype: "text/html; charset=utf-8", cc: "no-cache", contains: "Live streams"},
		{path: "/live/cam/", status: 200, ctype: "text/html; charset=utf-8", cc: "no-cache", contains: `data-src="index.m3u8"`},
		{path: "/live/cam/?embed=1", status: 200, ctype: "text/html; charset=utf-8", contains: `class="page-player embed"`},
		{path: "/live/cam", status: 301, location: "cam/"},
		{path: "/live/cam?embed=1", status: 301, location: "cam/?embed=1"},
		{path: "/live/%3Cscript%3E/", status: 404},
		{path: "/static/player.js", status: 200, ctype: "text/javascript; charset=utf-8", cc: "no-cache", contains: "__player"},
		{path: "/static/style.css", status: 200, ctype: "text/css; charset=utf-8"},
		{path: "/static/favicon.svg", status: 200, ctype: "image/svg+xml"},
		{path: "/static/missing.js", status: 404, cc: "no-store"},
		{path: "/static/../web.go", status: 404},
		{path: "/api/v1/streams", status: 200, ctype: "application/json", cc: "no-store", contains: `"playlist_url": "/live/cam/index.m3u8"`},
		{path: "/api/v1/streams/live/cam", status: 200, ctype: "application/json", contains: `"codec": "avc1.64001f"`},
		{path: "/api/v1/streams/live/nope", status: 404, ctype: "application/json", cc: "no-store", contains: `"error": "stream not found"`},
		{path: "/api/v2/unknown", status: 404, ctype: "application/json"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res, err := client.Get(base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if res.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("no CORS header")
			}
			if tc.ctype != "" && res.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.cc != "" && res.Header.Get("Cache-Control") != tc.cc {
				t.Errorf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), tc.cc)
			}
			if tc.contains != "" && !bytes.Contains(body, []byte(tc.contains)) {
				t.Errorf("body lacks %q:\n%s", tc.contains, trunc(body))
			}
			if tc.location != "" && res.Header.Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", res.Header.Get("Location"), tc.location)
			}
		})
	}
}

func TestStaticVersionedURLIsImmutable(t *testing.T) {
	_, base := startServer(t, newFakeOrigin())
	client := rawClient()
	res, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	i := bytes.Index(page, []byte("/static/style.css?v="))
	if i < 0 {
		t.Fatalf("page does not link a versioned style sheet:\n%s", page)
	}
	href := string(page[i:])
	href = href[:strings.IndexByte(href, '"')]
	req, _ := http.NewRequest(http.MethodGet, base+href, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("versioned asset Cache-Control %q", got)
	}
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("style sheet not gzipped")
	}
}

func TestAPIStreamsJSON(t *testing.T) {
	_, base := startServer(t, newFakeOrigin())
	res, err := rawClient().Get(base + "/api/v1/streams")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list apiStreamList
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Streams) != 2 || list.Streams[0].Name != "cam" || list.Streams[1].Name != "old" {
		t.Fatalf("streams %+v", list.Streams)
	}
	cam := list.Streams[0]
	if !cam.Live || cam.PlayerURL != "/live/cam/" || cam.Bandwidth != 2500000 || len(cam.Tracks) != 2 ||
		cam.Tracks[0].Width != 1280 || cam.StartedAt == nil || !cam.StartedAt.Equal(testModTime) {
		t.Errorf("cam %+v", cam)
	}
	if old := list.Streams[1]; old.StartedAt != nil || !old.Ended || old.Tracks == nil {
		t.Errorf("old %+v", old)
	}
}

func TestAllowOriginConfig(t *testing.T) {
	_, base := startServer(t, newFakeOrigin(), func(s *Server) { s.AllowOrigin = "https://example.org" })
	res, err := rawClient().Get(base + "/live/nope/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "https://example.org" {
		t.Errorf("Allow-Origin %q", got)
	}
}

func TestStartErrors(t *testing.T) {
	if err := (&Server{Listen: "127.0.0.1:0"}).Start(); err == nil {
		t.Error("Start without Origin succeeded")
	}
	s, _ := startServer(t, newFakeOrigin())
	if err := s.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	other := &Server{Listen: s.Addr().String(), Origin: newFakeOrigin()}
	if err := other.Start(); err == nil {
		other.Close()
		t.Error("Start on a busy address succeeded")
	}
	// Shutdown and Close of a server never started return at once.
	idle := &Server{Origin: newFakeOrigin()}
	if err := idle.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	idle.Close()
	// Close after Shutdown does not hang.
	if err := s.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	s.Close()
}

func TestDebugRequestLog(t *testing.T) {
	var buf syncBuffer
	s := &Server{Origin: newFakeOrigin(), Logger: zerolog.New(&buf).Level(zerolog.DebugLevel)}
	h := s.Handler()
	for _, p := range []string{"/live/cam/main.m3u8", "/live/nope/index.m3u8"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+p, nil))
	}
	out := buf.String()
	for _, want := range []string{`"level":"debug"`, `"status":200`, `"status":404`, `"duration"`, `"path":"/live/cam/main.m3u8"`} {
		if !strings.Contains(out, want) {
			t.Errorf("request log lacks %s:\n%s", want, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func waitFor(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func trunc(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}
