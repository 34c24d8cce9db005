package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
)

var (
	testModTime = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	testExpires = time.Date(2026, 11, 23, 12, 1, 0, 0, time.UTC)

	// A playlist long enough for gzip to pay off.
	testMediaPlaylist = func() []byte {
		var b strings.Builder
		b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:100\n")
		for i := 100; i < 110; i++ {
			fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:2026-11-23T12:00:%02d.000Z\n#EXTINF:6.000,\nab12cd_%d.ts\n", (i-100)*6%60, i)
		}
		return []byte(b.String())
	}()
	testMultivariant = []byte("#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2000000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=30.000\n" +
		"main.m3u8\n")
	testTinyPlaylist = []byte("#EXTM3U\n")
	testSegment      = func() []byte {
		b := make([]byte, 188*64)
		for i := range b {
			b[i] = byte(i * 7)
		}
		for i := 0; i < len(b); i += 188 {
			b[i] = 0x47
		}
		return b
	}()
)

// fakeOrigin serves a fixed set of objects and errors, keyed by
// "app/stream/file". The file "block.m3u8" blocks like an LL-HLS blocking
// reload until ctx is done, "slow.m3u8" answers after 300 ms, and
// "panic.m3u8" panics.
type fakeOrigin struct {
	objects map[string]*hls.Object
	errs    map[string]error
	streams []hls.StreamInfo

	calls        atomic.Int64
	blockEntered chan struct{}
	blockDone    chan error

	mu         sync.Mutex
	lastQuery  url.Values
	lastParams [3]string
}

func newFakeOrigin() *fakeOrigin {
	return &fakeOrigin{
		objects: map[string]*hls.Object{
			"live/cam/index.m3u8": {
				Kind: hls.KindMultivariant, Body: testMultivariant, ContentType: "application/vnd.apple.mpegurl",
				ModTime: testModTime, ETag: `"mv-1"`, TargetDuration: 6 * time.Second,
			},
			"live/cam/main.m3u8": {
				Kind: hls.KindMediaPlaylist, Body: testMediaPlaylist, ContentType: "application/vnd.apple.mpegurl",
				ModTime: testModTime, ETag: `"pl-109"`, TargetDuration: 6 * time.Second,
			},
			"live/cam/ll.m3u8": {
				Kind: hls.KindMediaPlaylist, Body: testMediaPlaylist, ContentType: "application/vnd.apple.mpegurl",
				ModTime: testModTime, ETag: `"ll-109-2"`, TargetDuration: 4 * time.Second, Blocking: true,
			},
			"live/cam/ended.m3u8": {
				Kind: hls.KindMediaPlaylist, Body: testMediaPlaylist, ContentType: "application/vnd.apple.mpegurl",
				ModTime: testModTime, ETag: `"end-109"`, TargetDuration: 6 * time.Second, Ended: true,
			},
			"live/cam/tiny.m3u8": {
				Kind: hls.KindMediaPlaylist, Body: testTinyPlaylist, ContentType: "application/vnd.apple.mpegurl",
				ModTime: testModTime, ETag: `"tiny"`, TargetDuration: 2 * time.Second,
			},
			"live/cam/ab12cd_109.ts": {
				Kind: hls.KindSegment, Body: testSegment, ContentType: "video/mp2t",
				ModTime: testModTime, ETag: `"ab12cd-109"`, TargetDuration: 6 * time.Second, Expires: testExpires,
			},
			"live/cam/ab12cd_109.noexp.ts": {
				Kind: hls.KindSegment, Body: testSegment, ContentType: "video/mp2t",
				ModTime: testModTime, ETag: `"ab12cd-109x"`, TargetDuration: 6 * time.Second,
			},
			"live/cam/ab12cd_110.2.m4s": {
				Kind: hls.KindPart, Body: testSegment[:1000], ContentType: "video/iso.segment",
				ModTime: testModTime, ETag: `"ab12cd-110-2"`, TargetDuration: 6 * time.Second, Expires: testExpires,
			},
			"live/cam/ab12cd_init.mp4": {
				Kind: hls.KindInit, Body: testSegment[:600], ContentType: "video/mp4",
				ModTime: testModTime, ETag: `"ab12cd-init"`, TargetDuration: 6 * time.Second,
			},
		},
		errs: map[string]error{
			"live/cam/bad.m3u8":     fmt.Errorf("hls: _HLS_part without _HLS_msn: %w", hls.ErrBadRequest),
			"live/cam/timeout.m3u8": fmt.Errorf("hls: blocking reload timed out: %w", hls.ErrUnavailable),
			"live/cam/broken.m3u8":  errors.New("disk on fire"),
		},
		streams: []hls.StreamInfo{
			{
				App: "live", Name: "cam", Live: true, StartedAt: testModTime, Segments: 10, Bandwidth: 2500000,
				Tracks: []hls.TrackInfo{
					{Kind: "video", Codec: "avc1.64001f", Width: 1280, Height: 720, FrameRate: 30},
					{Kind: "audio", Codec: "mp4a.40.2", SampleRate: 48000, Channels: 2},
				},
			},
			{App: "live", Name: "old", Ended: true},
		},
		blockEntered: make(chan struct{}, 8),
		blockDone:    make(chan error, 8),
	}
}

func (f *fakeOrigin) Get(ctx context.Context, app, stream, file string, query url.Values) (*hls.Object, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.lastQuery = query
	f.lastParams = [3]string{app, stream, file}
	f.mu.Unlock()
	switch file {
	case "panic.m3u8":
		panic("fake origin exploded")
	case "slow.m3u8":
		// A blocking reload that is satisfied after a while.
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return f.objects["live/cam/main.m3u8"], nil
	case "canceled.m3u8":
		// An origin bug: a cancellation the client did not cause.
		return nil, fmt.Errorf("internal wait: %w", context.Canceled)
	case "block.m3u8":
		f.blockEntered <- struct{}{}
		<-ctx.Done()
		f.blockDone <- ctx.Err()
		return nil, ctx.Err()
	}
	key := app + "/" + stream + "/" + file
	if err, ok := f.errs[key]; ok {
		return nil, err
	}
	if o, ok := f.objects[key]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("hls: %s: %w", key, hls.ErrNotFound)
}

func (f *fakeOrigin) Streams() []hls.StreamInfo { return f.streams }

// startServer starts a Server on 127.0.0.1:0 and returns it with its base
// URL; the server is closed at the end of the test.
func startServer(t testing.TB, origin Origin, configure ...func(*Server)) (*Server, string) {
	t.Helper()
	s := &Server{
		Listen: "127.0.0.1:0",
		Origin: origin,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel),
	}
	for _, c := range configure {
		c(s)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	return s, "http://" + s.Addr().String()
}

// rawClient does not add Accept-Encoding nor decompress, so the tests see
// exactly what the server sent.
func rawClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableCompression: true,
			Proxy:              nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// checkGoroutines fails the test if goroutines started during it are still
// running shortly after it ends.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines leaked: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
