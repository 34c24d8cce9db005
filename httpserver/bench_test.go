package httpserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/livegate/gateway/hls"
)

// benchOrigin answers from fixed objects without building keys, so that the
// benchmarks measure the HTTP layer only.
type benchOrigin struct {
	playlist, segment *hls.Object
}

func newBenchOrigin() *benchOrigin {
	return &benchOrigin{
		playlist: &hls.Object{
			Kind: hls.KindMediaPlaylist, Body: testMediaPlaylist, ContentType: "application/vnd.apple.mpegurl",
			ModTime: testModTime, ETag: `"pl-109"`, TargetDuration: 6 * time.Second,
		},
		segment: &hls.Object{
			Kind: hls.KindSegment, Body: testSegment, ContentType: "video/mp2t",
			ModTime: testModTime, ETag: `"ab12cd-109"`, TargetDuration: 6 * time.Second, Expires: testExpires,
		},
	}
}

func (o *benchOrigin) Get(_ context.Context, _, _, file string, _ url.Values) (*hls.Object, error) {
	if file == "main.m3u8" {
		return o.playlist, nil
	}
	return o.segment, nil
}

func (o *benchOrigin) Streams() []hls.StreamInfo { return nil }

// discardWriter is a minimal ResponseWriter: the benchmarks through the
// handler measure routing, middleware, headers and ServeContent, not a
// recorder's bookkeeping.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

// SetWriteDeadline is what http.ResponseController calls on a real
// connection; answering it keeps the error path out of the numbers.
func (d *discardWriter) SetWriteDeadline(time.Time) error { return nil }

func (d *discardWriter) Write(p []byte) (int, error) {
	d.n += len(p)
	return len(p), nil
}

func benchHandler(b *testing.B, path string, header map[string]string, wantStatus int) {
	s := &Server{Origin: newBenchOrigin()}
	h := s.Handler()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := &discardWriter{h: make(http.Header, 16)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, req)
	}
	b.StopTimer()
	if w.status != wantStatus {
		b.Fatalf("status %d, want %d", w.status, wantStatus)
	}
	b.SetBytes(int64(w.n))
}

func BenchmarkHandlerPlaylist(b *testing.B) {
	benchHandler(b, "/live/cam/main.m3u8", nil, http.StatusOK)
}

func BenchmarkHandlerPlaylistGzip(b *testing.B) {
	benchHandler(b, "/live/cam/main.m3u8", map[string]string{"Accept-Encoding": "gzip, deflate, br"}, http.StatusOK)
}

func BenchmarkHandlerPlaylistNotModified(b *testing.B) {
	benchHandler(b, "/live/cam/main.m3u8", map[string]string{"If-None-Match": `"pl-109"`}, http.StatusNotModified)
}

func BenchmarkHandlerBlockingQuery(b *testing.B) {
	benchHandler(b, "/live/cam/main.m3u8?_HLS_msn=110&_HLS_part=1", nil, http.StatusOK)
}

func BenchmarkHandlerSegment(b *testing.B) {
	benchHandler(b, "/live/cam/ab12cd_109.ts", nil, http.StatusOK)
}

func BenchmarkHandlerSegmentRange(b *testing.B) {
	benchHandler(b, "/live/cam/ab12cd_109.ts", map[string]string{"Range": "bytes=0-187"}, http.StatusPartialContent)
}

func BenchmarkHandlerNotFound(b *testing.B) {
	benchHandler(b, "/live/cam/index.txt", nil, http.StatusNotFound)
}

// BenchmarkLoopback measures whole requests over TCP on 127.0.0.1 with
// keep-alive, client included, from GOMAXPROCS parallel clients.
func BenchmarkLoopback(b *testing.B) {
	for _, c := range []struct {
		name, path, ae string
	}{
		{"playlist", "/live/cam/main.m3u8", ""},
		{"playlist-gzip", "/live/cam/main.m3u8", "gzip"},
		{"segment", "/live/cam/ab12cd_109.ts", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			_, base := startServer(b, newBenchOrigin())
			tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
				if c.ae != "" {
					req.Header.Set("Accept-Encoding", c.ae)
				}
				for pb.Next() {
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					_ = res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}
